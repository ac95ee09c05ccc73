#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: every test of the project, then one closing line
# "N passed, N failed" (", N skipped" where KUnit skipped any). Exits
# non-zero on any failure. Expects 'make setup' to have run.
#
#   - KUnit: our suites through kunit.py on the nested-PAPR QEMU L0, each
#     test case counted; plus the check that Rust's warn_on! logged its
#     file and line
#   - host: the cargo tests of the codec and of the MMIO emulation (each
#     counted), a bounded run of each fuzz target (each counted) and the
#     encode/parse benchmark (printed, not asserted)
#   - rustfmt and clippy (scripts/lint.sh)
#   - the out-of-tree module build against the L1 kernel
#   - the userspace tools' build, and the main job's two boots: with the
#     nested API (insmod, mode, rmmod, and the userspace suite of
#     /dev/papr-nested, each KTAP case counted; Debian's QEMU booting an
#     L2 Linux on /dev/papr-nested and on kvm-hv, each boot counted; the
#     workloads' boots, 1- to 4-CPU L2s with a virtio disk and rng, each counted
#     with its checks) and without it (-ENODEV)

source "$(dirname "$0")/lib.sh"
cd "$RPN_TOP"

passed=0
failed=0
skipped=0
logdir=$RPN_CACHE/logs
mkdir -p "$logdir"

# step NAME CMD...: one test that passes when CMD exits 0.
step() {
	local name=$1
	shift
	local start=$SECONDS
	if "$@"; then
		passed=$((passed + 1))
		rpn_log "PASS $name ($((SECONDS - start)) s)"
	else
		failed=$((failed + 1))
		rpn_log "FAIL $name ($((SECONDS - start)) s)"
	fi
}

# Host tests: cargo's "test result" lines give the per-test counts.
if [ -d host ]; then
	start=$SECONDS
	rc=0
	bash scripts/host-tests.sh test > "$logdir/host-tests.out" 2>&1 || rc=$?
	cat "$logdir/host-tests.out"
	hp=$(sed -n 's/^test result: .* \([0-9]*\) passed; \([0-9]*\) failed.*/\1/p' "$logdir/host-tests.out" | awk '{s += $1} END {print s + 0}')
	hf=$(sed -n 's/^test result: .* \([0-9]*\) passed; \([0-9]*\) failed.*/\2/p' "$logdir/host-tests.out" | awk '{s += $1} END {print s + 0}')
	passed=$((passed + ${hp:-0}))
	failed=$((failed + ${hf:-0}))
	if [ $rc != 0 ] && [ "${hf:-0}" = 0 ]; then
		failed=$((failed + 1))
		rpn_log "FAIL host tests: cargo test exited $rc"
	fi
	rpn_log "host tests took $((SECONDS - start)) s"
	# One step per fuzz target, with its own runs (RPN_FUZZ_RUNS for all).
	if mapfile -t fuzz_list < <(bash scripts/host-tests.sh fuzz-list) && [ ${#fuzz_list[@]} -gt 0 ]; then
		for line in "${fuzz_list[@]}"; do
			read -r target runs <<< "$line"
			step "fuzz $target ($runs runs)" bash scripts/host-tests.sh fuzz "$target" "$runs"
		done
	else
		failed=$((failed + 1))
		rpn_log "FAIL fuzz: no target listed"
	fi
	bash scripts/host-tests.sh bench || rpn_log "benchmark did not run"
fi

# KUnit: kunit.py's summary gives the per-case counts.
start=$SECONDS
rc=0
bash scripts/kunit.sh 2>&1 | tee "$logdir/kunit.out" || rc=$?
summary=$(sed -n 's/.*Testing complete\. Ran \([0-9]*\) tests*: \(.*\)$/\1 \2/p' "$logdir/kunit.out" | tail -1)
if [ -n "$summary" ]; then
	kp=$(echo "$summary" | sed -n 's/.*passed: \([0-9]*\).*/\1/p')
	kf=$(echo "$summary" | sed -n 's/.*failed: \([0-9]*\).*/\1/p')
	kc=$(echo "$summary" | sed -n 's/.*crashed: \([0-9]*\).*/\1/p')
	ks=$(echo "$summary" | sed -n 's/.*skipped: \([0-9]*\).*/\1/p')
	passed=$((passed + ${kp:-0}))
	failed=$((failed + ${kf:-0} + ${kc:-0}))
	skipped=$((skipped + ${ks:-0}))
	[ "${kp:-0}" -gt 0 ] || { failed=$((failed + 1)); rpn_log "FAIL kunit: no test passed"; }
else
	failed=$((failed + 1))
	rpn_log "FAIL kunit: kunit.py gave no summary"
fi
# The warn_on! location check is kunit.sh's own verdict beyond kunit.py's.
if grep -q '^\[rpn\] ok warn_on location' "$logdir/kunit.out"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi
[ $rc = 0 ] || rpn_log "kunit.sh exited $rc"
rpn_log "KUnit took $((SECONDS - start)) s"

step "rustfmt and clippy" bash scripts/lint.sh
step "module build (out of tree, against the L1 kernel)" bash scripts/build-module.sh
step "userspace tools (static ppc64le)" bash scripts/build-tools.sh
step "L1 boot with cap-nested-papr=on: insmod, mode, rmmod" bash scripts/run-l1.sh nested
# The userspace suite ran in that boot: each KTAP case counts.
console=$RPN_ROOT$RPN_BUILD/logs/run-nested${RPN_TAG:+-$RPN_TAG}.log.txt
up=$(grep -c '^RPN-KTAP ok ' "$console" 2>/dev/null || true)
uf=$(grep -c '^RPN-KTAP not ok ' "$console" 2>/dev/null || true)
passed=$((passed + ${up:-0}))
failed=$((failed + ${uf:-0}))
[ "${up:-0}" -gt 0 ] || { failed=$((failed + 1)); rpn_log "FAIL userspace suite: no case passed"; }
rpn_log "userspace suite of /dev/papr-nested: ${up:-0} passed, ${uf:-0} failed"
# lines WHAT ALL GOOD: each console line matching the regex ALL is one
# test, passed when it also matches GOOD; sets n_ok.
lines() {
	local what=$1 all=$2 good=$3 bad
	n_ok=$(grep -E "$all" "$console" 2>/dev/null | grep -Ec "$good" || true)
	bad=$(grep -E "$all" "$console" 2>/dev/null | grep -Evc "$good" || true)
	passed=$((passed + ${n_ok:-0}))
	failed=$((failed + ${bad:-0}))
	rpn_log "$what: ${n_ok:-0} passed, ${bad:-0} failed"
}
# So did the QEMU boots of an L2 Linux, on kvm-hv and on ours: each boot
# that reached the L2's /init with QEMU exiting 0 counts as passed.
lines "QEMU boots of the L2 in the L1 (SLOF, VOF; ours, kvm-hv)" '^RPN-QEMU round=' ' status=0 marker=yes '
# And the workloads' boots: 1, 2 and 4 CPUs online (4 also as 2 cores of
# 2 threads, KVM_CAP_PPC_SMT 2), the virtio disk's checksum, virtio-rng,
# the written half read back in the L1. Ours' are the tests, and each of
# the four rows must have passed at least once; kvm-hv's are the
# comparison (its L2s with these devices stall on QEMU's L0), printed by
# scripts/qemu-boots.py.
lines "QEMU boots of L2s with virtio on ours (1, 2, 4 CPUs; 2 cores x 2 threads)" '^RPN-QEMU work .* dev=ours ' ' status=0 marker=yes .* checks=ok$'
for smp in 1 2 4 4t2; do
	grep -Eq "^RPN-QEMU work round=[0-9]+ smp=$smp fw=vof dev=ours status=0 marker=yes .* checks=ok\$" "$console" ||
		{ failed=$((failed + 1)); rpn_log "FAIL workloads: no boot with -smp $smp passed on ours"; }
done
# With a real VMM: rmmod refused while QEMU runs, SIGKILL mid-I/O leaves
# nothing, two QEMUs at once.
lines "robustness with QEMU on ours" '^RPN-QEMU robust ' ' result=ok '
[ "${n_ok:-0}" = 4 ] || { failed=$((failed + 1)); rpn_log "FAIL robustness with QEMU: ${n_ok:-0} of 4 ran and passed"; }
step "L1 boot with cap-nested-papr=off: -ENODEV" bash scripts/run-l1.sh no-nested

if [ $skipped -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ $failed = 0 ]
