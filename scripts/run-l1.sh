#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job: boot the L1 kernel in QEMU (pseries, POWER10, TCG, 4 CPUs,
# 2 GiB; 4 GiB for the nested variant's QEMU boots) with a busybox
# initramfs that insmods rust_papr_nested, shows what it logged, rmmods it
# and powers off.
#
#   run-l1.sh nested      cap-nested-papr=on: the module negotiates a mode;
#                         then RPN_CYCLES (20) loads and unloads in a row,
#                         each with a self-check of 2 guests of 2 vCPUs,
#                         each finding the L0 with no guest left over,
#                         and kmemleak finding nothing after them; in the
#                         first two loads the L2 payloads run through
#                         debugfs, and in the first the exit benchmark
#                         (RPN_BENCH iterations, 10000); and Debian's
#                         QEMU boots an L2 Linux on /dev/papr-nested and
#                         on kvm-hv's /dev/kvm, SLOF and VOF,
#                         RPN_QEMU_ROUNDS rounds (3; 0: none), then
#                         a boot under strace with the firmware in
#                         RPN_QEMU_TRACE (vof; "slof,vof" for both),
#                         then RPN_WORK_ROUNDS (2) rounds of the
#                         workloads: 2- and 4-CPU L2s with a virtio disk
#                         and rng, and the L2's measurements
#   run-l1.sh no-nested   cap-nested-papr=off: insmod fails with -ENODEV
#
# Exits 0 when the boot did what that variant expects. The full console
# log is kept in $RPN_CACHE/logs/.

source "$(dirname "$0")/lib.sh"

variant=${1:-nested}
case $variant in
nested) cap=on cycles=${RPN_CYCLES:-20} ;;
no-nested) cap=off cycles=1 ;;
*) rpn_die "usage: run-l1.sh nested|no-nested" ;;
esac

if [ "${2:-}" != --in-root ]; then
	# rpn_in_root starts from an empty environment: env passes these on.
	exec bash -c 'source scripts/lib.sh; rpn_in_root env RPN_CYCLES=$2 RPN_BENCH=$3 RPN_QEMU_ROUNDS=$4 RPN_QEMU_TRACE=$5 RPN_WORK_ROUNDS=$6 bash scripts/run-l1.sh "$1" --in-root' \
		x "$variant" "$cycles" "${RPN_BENCH:-10000}" "${RPN_QEMU_ROUNDS:-3}" "${RPN_QEMU_TRACE:-vof}" "${RPN_WORK_ROUNDS:-2}"
fi

kernel=$RPN_BUILD/l1/vmlinux
ko=$RPN_TOP/rust_papr_nested.ko
[ -f "$kernel" ] || rpn_die "no L1 kernel at $kernel; run 'make setup'"
[ -f "$ko" ] || rpn_die "no $ko; run 'make'"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root"/{bin,proc,sys,tmp,dev}
cp /usr/bin/busybox "$work/root/bin/busybox"
cp testing/initramfs-init "$work/root/init"
cp "$ko" "$work/root/rust_papr_nested.ko"
tests=$RPN_TOP/tools/target/powerpc64le-unknown-linux-gnu/release/kvm-api-tests
[ "$variant" = no-nested ] || [ -f "$tests" ] || rpn_die "no $tests; run scripts/build-tools.sh"
[ ! -f "$tests" ] || cp "$tests" "$work/root/kvm-api-tests"
# kvm-hv and kvm, where the L1 kernel built them: /dev/kvm beside ours.
for m in kvm kvm-hv; do
	[ ! -f "$RPN_BUILD/l1/arch/powerpc/kvm/$m.ko" ] || cp "$RPN_BUILD/l1/arch/powerpc/kvm/$m.ko" "$work/root/"
done
vmm=$RPN_TOP/tools/target/powerpc64le-unknown-linux-gnu/release/papr-vmm
if [ -f "$vmm" ]; then
	cp "$vmm" "$work/root/papr-vmm"
	mkdir -p "$work/root/l2"
	cp "$RPN_TOP"/tools/target/l2/*.bin "$RPN_TOP"/tools/target/l2/*.elf "$work/root/l2/"
fi
# The QEMU boots (nested only): QEMU, its libraries and firmware from
# scripts/setup-qemu-l1.sh under /qemu, its program interpreter at the
# path it names; the L2's kernel and initramfs under /qemu/l2.
qemu_rounds=${RPN_QEMU_ROUNDS:-3}
[ "$variant" = nested ] || qemu_rounds=0
qemu_l1=$RPN_BUILD/qemu-l1/l1
if [ "$qemu_rounds" != 0 ]; then
	[ -x "$qemu_l1/bin/qemu-system-ppc64" ] || rpn_die "no QEMU for the L1 in $qemu_l1; run 'make setup'"
	mkdir -p "$work/root/qemu/l2" "$work/root/lib64"
	cp -a "$qemu_l1/bin" "$qemu_l1/lib" "$qemu_l1/share" "$work/root/qemu/"
	cp "$qemu_l1/ld64.so.2" "$work/root/lib64/ld64.so.2"
	# The L2 kernel is the L1's own vmlinux: one kernel build for both, and
	# a pseries kernel needs no virtio device, its console being hvc0
	# (H_PUT_TERM_CHAR to QEMU) and its root the initramfs. Without its
	# debug information, which the L2 has no use for.
	llvm-objcopy --strip-debug "$kernel" "$work/root/qemu/l2/vmlinux"
	mkdir -p "$work/l2/bin" "$work/l2/proc"
	cp /usr/bin/busybox "$work/l2/bin/busybox"
	cp testing/l2-init "$work/l2/init"
	mkdir -p "$work/l2/sys" "$work/l2/dev"
	cp "$RPN_TOP/tools/target/l2/rpn-l2-bench" "$work/l2/bin/"
	cp "$RPN_TOP/tools/target/l2/rpn-l2-bench" "$work/root/bin/"
	chmod +x "$work/l2/init"
	(cd "$work/l2" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/root/qemu/l2/initrd.gz"
fi
chmod +x "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initramfs.cpio.gz"
[ "$qemu_rounds" = 0 ] ||
	echo "[rpn] the L1's initramfs with QEMU: $(du -sm "$work/root" | cut -f1) MB, $(du -m "$work/initramfs.cpio.gz" | cut -f1) MB gzipped"

logdir=$RPN_BUILD/logs
mkdir -p "$logdir"
log=$logdir/run-$variant${RPN_TAG:+-$RPN_TAG}.log
mem=2G
[ "$qemu_rounds" = 0 ] || mem=4G
# The boot's bound: 450 s for the L1's own work (288 s measured on a
# loaded 2-core host), and 1200 s for the QEMU boots: testing/initramfs-
# init starts none after 900 s of them, and one (a traced one) takes at
# most 300 s.
limit=$((450 + (qemu_rounds > 0) * 1200))
echo "[rpn] booting the L1: -M pseries,cap-nested-papr=$cap -cpu power10 -smp 4 -m $mem (TCG), at most $limit s"
start=$SECONDS
timeout $limit qemu-system-ppc64 \
	-M pseries,cap-nested-papr=$cap -cpu power10 -smp 4 -m $mem \
	-nographic -nodefaults -serial stdio -no-reboot \
	-kernel "$kernel" -initrd "$work/initramfs.cpio.gz" \
	-append "console=hvc0 loglevel=4 debug_pagealloc=on rpn.cycles=$cycles rpn.bench=${RPN_BENCH:-10000} rpn.qemu_rounds=$qemu_rounds rpn.qemu_trace=${RPN_QEMU_TRACE:-vof} rpn.work_rounds=${RPN_WORK_ROUNDS:-2} rpn.params=selfcheck_guests=2,selfcheck_vcpus=2" \
	</dev/null > "$log" 2>&1 || true
tr -d '\r' < "$log" | grep -o -e 'rpn: .*' -e 'WARNING:.*' -e 'BUG:.*' || true
echo "[rpn] L1 boot to power-off: $((SECONDS - start)) s (console log: $RPN_CACHE/root$log)"

# A copy without the console's carriage returns. (Not a pipe into grep -q:
# with pipefail, grep quitting early makes the writer's SIGPIPE fail it.)
clean=$log.txt
tr -d '\r' < "$log" > "$clean"
result() { grep -q "^RPN-RESULT $1\$" "$clean"; }
fail() { echo "[rpn] FAIL $variant: $*"; exit 1; }

# qemu_boots: the QEMU boots of the L2 Linux in the L1 (testing/initramfs-
# init's qemu_boots): the tables, then, for kvm-hv and for ours, every
# boot of every round with SLOF and with VOF reached the L2's /init and
# QEMU exited 0; a QEMU killed mid-boot on ours left no guest and no
# pinned page behind.
qemu_boots() {
	python3 scripts/qemu-boots.py "$clean" || fail "the QEMU boots did not run"
	local dev fw r line bad name said
	for dev in kvm ours; do
		bad=
		for fw in slof vof; do
			for r in $(seq 1 "$qemu_rounds"); do
				line=$(grep "^RPN-QEMU round=$r fw=$fw dev=$dev " "$clean" || true)
				[[ "$line" == *" status=0 marker=yes "* ]] || bad="$bad
[rpn]   $fw round $r: ${line:-no result}"
			done
		done
		[ "$dev" = kvm ] && name="/dev/kvm (kvm-hv)" || name=/dev/papr-nested
		if [ "$dev" = ours ]; then
			# Nothing left behind by a QEMU killed mid-boot, even one
			# that had stopped by itself before.
			line=$(grep '^RPN-QEMU sigkill dev=ours ' "$clean" || true)
			[[ "$line" =~ guests=([0-9]+)/([0-9]+)\ pinned=([0-9]+)/([0-9]+) ]] &&
				[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] &&
				[ "${BASH_REMATCH[3]}" = "${BASH_REMATCH[4]}" ] ||
				fail "QEMU killed mid-boot on ours left something behind: ${line:-no result}"
		fi
		# The last line QEMU wrote in its first failed boot there.
		said=$(awk -v dev="$dev" '
			on && /^rpn:     / { last = substr($0, 10); next }
			on { exit }
			index($0, "rpn:   QEMU (" dev " ") == 1 { on = 1 }
			END { print last }' "$clean")
		[ -z "$bad" ] || fail "QEMU on $name did not boot the L2 to its /init and exit 0 (its output's end is above${said:+; it said last: $said}):$bad"
		echo "[rpn] QEMU on $name: the L2 reached its /init and QEMU exited 0 in every boot, SLOF and VOF, $qemu_rounds rounds"
	done
	[[ "$line" == *" alive=yes "* ]] ||
		fail "QEMU on ours was no longer running when it was to be killed 2 s into its boot: $line"
	echo "[rpn] QEMU killed with SIGKILL mid-boot on /dev/papr-nested: its guest deleted, its memory unpinned"
}
result done || fail "the L1 did not reach the end of its init"
! result kernel-warnings=yes || fail "the kernel logged a warning or oops"
! result left-loaded=yes || fail "the module stayed loaded"
! result delete-failed=yes || fail "H_GUEST_DELETE failed"
! grep -q '^RPN-RESULT bench-bad-input' "$clean" || fail "debugfs bench took bad input: $(grep '^RPN-RESULT bench-bad-input' "$clean")"
if [ "$variant" = nested ]; then
	grep -qE 'rust_papr_nested: L0 offers capabilities 0x[0-9a-f]+ .*; .*POWER(9|10|11) mode' "$log" ||
		fail "no line naming the negotiated mode"
	grep -q 'rust_papr_nested: unloaded' "$log" || fail "no unload line"
	# Every load made its self-check guests starting from id 1: the L0 had
	# no guest, so the unload before deleted all of them.
	for i in $(seq 1 "$cycles"); do
		result "cycle=$i insmod=ok first-guest=1 rmmod=ok" ||
			fail "cycle $i: $(grep "^RPN-RESULT cycle=$i " "$clean")"
	done
	echo "[rpn] $cycles insmod/rmmod cycles, each self-check starting from guest id 1"
	# The payloads ran in loads 1 and 2, next to the self-check's guests
	# 1 and 2: each got id 3, so the payload, benchmark and self-check
	# guests before it had all been deleted at the L0.
	for i in 1 2; do
		result "cycle=$i payloads=5/5 passed guests=3" ||
			fail "payloads in load $i: $(grep "^RPN-RESULT cycle=$i payloads" "$clean")"
	done
	echo "[rpn] L2 payloads: 5/5 passed in loads 1 and 2, every payload guest was id 3"
	result "bench hcalls_per_exit=1.00" ||
		fail "benchmark: $(grep '^RPN-RESULT bench' "$clean")"
	echo "[rpn] benchmark: 1.00 hcall per exit"
	result "concurrent payloads=3/3 bench=ok hcalls_per_exit=1.00" ||
		fail "concurrent runs: $(grep '^RPN-RESULT concurrent' "$clean")"
	echo "[rpn] three payload writers and the benchmark at once: all passed, 1.00 hcall per exit"
	line=$(sed -n 's/^RPN-RESULT sigkill-ms=//p' "$clean")
	ms=${line%% *}
	case $ms in ''|*[!0-9]*) fail "SIGKILL of a running benchmark: ${line:-no result}" ;; esac
	[ "$ms" -lt 1000 ] || fail "the benchmark's writer lived $ms ms after SIGKILL"
	[ "${line#* }" = "next-guests=3" ] || fail "after SIGKILL: $line"
	echo "[rpn] SIGKILL of a 1000000-iteration benchmark: gone in $ms ms, its guest deleted (next guest id 3)"
	line=$(grep '^RPN-RESULT inject ' "$clean" || true)
	echo "$line" | grep -qE '^RPN-RESULT inject points=[1-9][0-9]* failed-runs=[0-9]+ then=5/5-passed guests=3$' ||
		fail "fault injection: ${line:-no result}"
	echo "[rpn] fault injection: ${line#RPN-RESULT inject }"
	result "rmmod-while-open=refused" ||
		fail "debugfs file held open across rmmod: $(grep '^RPN-RESULT rmmod-while-open' "$clean")"
	echo "[rpn] rmmod refused while a debugfs file was open; closing it after rmmod touched nothing freed"
	# papr-vmm: hello on the L1's console, the compute loop's checksum as
	# computed here, the access outside every slot reported, not hung.
	grep -q '^rpn:   Hello from L2$' "$clean" || fail "papr-vmm hello: no 'Hello from L2'"
	result "vmm hello status=0" || fail "papr-vmm hello: $(grep '^RPN-RESULT vmm hello' "$clean")"
	want=$(python3 -c 'x = 0
for i in range(100000): x = (x * 31 + i) % 2**64
print(hex(x))')
	result "vmm compute status=0" || fail "papr-vmm compute: $(grep '^RPN-RESULT vmm compute status' "$clean")"
	result "vmm compute checksum=$want" ||
		fail "papr-vmm compute: checksum $(sed -n 's/^RPN-RESULT vmm compute checksum=//p' "$clean"), want $want"
	grep -q '^rpn:   papr-vmm: MMIO read of 8 bytes at 0x40000000: the VMM has no device there' "$clean" ||
		fail "papr-vmm outside: the access outside every slot was not reported"
	result "vmm outside status=131" || fail "papr-vmm outside: $(grep '^RPN-RESULT vmm outside' "$clean")"
	result "vmm echo status=0 echoed=yes" ||
		fail "papr-vmm echo (stdin through H_GET_TERM_CHAR): $(grep '^RPN-RESULT vmm echo' "$clean")"
	result "vmm hello-elf status=0 hellos=1" ||
		fail "papr-vmm hello.elf: $(grep '^RPN-RESULT vmm hello-elf' "$clean")"
	echo "[rpn] papr-vmm: a line on its stdin echoed by the L2 (H_GET_TERM_CHAR, H_PUT_TERM_CHAR); hello loaded from an ELF"
	result "vmm hello4 status=0 hellos=4" ||
		fail "papr-vmm --vcpus 4 hello: $(grep '^RPN-RESULT vmm hello4' "$clean")"
	echo "[rpn] papr-vmm on /dev/papr-nested: hello printed (and by 4 vCPUs on 4 threads), compute checksum $want, the access outside every slot reported"
	sed -n 's/^rpn:   \(papr-vmm: [0-9]* vCPUs, .* exits.*\)/[rpn]   \1/p' "$clean"
	# H_GUEST_* calls per exit the VMM saw, as the kernel counted them
	# (CONFIG_HCALL_STATS), not the module: RUN_VCPU is one per exit, plus
	# one per exit handled inside (HDEC, an interrupt for the L1).
	line=$(sed -n 's/^RPN-RESULT vmm compute hcall_inst //p' "$clean")
	run=$(echo "$line" | sed -n 's/.*run=\([0-9]*\).*/\1/p')
	other=$(echo "$line" | sed -n 's/.*other=\([0-9]*\).*/\1/p')
	exits=$(echo "$line" | sed -n 's/.*exits=\([0-9]*\).*/\1/p')
	[ -n "$run" ] && [ -n "$exits" ] && [ "$exits" -gt 0 ] && [ "$run" -ge "$exits" ] ||
		fail "hcall_inst around the compute loop: ${line:-no result}"
	echo "[rpn] hcall_inst (the kernel's count) for the compute loop: $run H_GUEST_RUN_VCPU + $other other H_GUEST_* for $exits exits: $(awk "BEGIN { printf \"%.4f\", ($run + $other) / $exits }") H_GUEST_* calls per exit"
	# The same VMM binary on /dev/kvm: kvm-hv (built by testing/l1.config)
	# loads before our module and runs it too. Comparing the two is issue
	# 12's; here both must work.
	result "kvm-hv=loaded" || fail "kvm-hv did not load (testing/l1.config builds it)"
	result "vmm-kvm hello status=0" && result "vmm-kvm compute checksum=$want" ||
		fail "papr-vmm --kvm: $(grep '^RPN-RESULT vmm-kvm' "$clean" | tr '\n' ' ')"
	echo "[rpn] the same papr-vmm on /dev/kvm (kvm-hv): hello printed, compute checksum $want"
	awk '/^rpn: \/papr-vmm --kvm \/l2\/compute.bin/ { on = 1 }
	     on && /^rpn:   papr-vmm: [0-9]* vCPUs/ { sub(/^rpn:   /, "[rpn]   kvm-hv: "); print; exit }' "$clean"
	# A vCPU saved mid-run and resumed in a new VM of a new process ends
	# as the straight run does: checksums and final registers.
	for spec in 1:1000 1:60001 2:30000; do
		result "snapshot vcpus=${spec%%:*} at=${spec#*:} save=0 resume=0 same=yes" ||
			fail "snapshot and restore: $(grep "^RPN-RESULT snapshot vcpus=${spec%%:*} at=${spec#*:}" "$clean")"
	done
	echo "[rpn] compute saved after 1000 and 60001 exits (1 vCPU) and 30000 (2 vCPUs), restored in a new process: the same checksums and final registers as straight through"
	sed -n 's/^rpn:   \(papr-vmm: \(saved\|restored\) .*\)/[rpn]   \1/p' "$clean"
	# The codec against the kernel's C library: printed, not asserted.
	line=$(sed -n 's/^RPN-RESULT codec //p' "$clean")
	case $line in
	encode=[0-9]*\ parse=[0-9]*) ;;
	*) fail "codec benchmark: ${line:-no result}" ;;
	esac
	echo "[rpn] codec, ours / the kernel's C library, same boot: encode the full vCPU state ${line%% *}%, parse a hypervisor-call exit ${line##* }%" | sed 's/encode=//; s/parse=//'
	sed -n 's/^rpn:   \(\(encode\|parse\)_\(rust\|c\)_ticks .*\)/[rpn]   \1/p' "$clean"
	# The head-to-head with kvm-hv: printed, not asserted (issue 12).
	python3 scripts/compare.py "$clean" || fail "the comparison with /dev/kvm did not run"
	ktap_ok=$(grep -c '^RPN-KTAP ok ' "$clean" || true)
	ktap_bad=$(grep -c '^RPN-KTAP not ok ' "$clean" || true)
	grep '^RPN-KTAP' "$clean" | sed 's/^RPN-KTAP /[rpn]   /'
	[ "$ktap_bad" = 0 ] && [ "$ktap_ok" -gt 0 ] ||
		fail "userspace suite of /dev/papr-nested: $ktap_ok passed, $ktap_bad failed"
	echo "[rpn] userspace suite of /dev/papr-nested: $ktap_ok passed"
	result "kmemleak=0" || fail "kmemleak: $(sed -n 's/^RPN-RESULT kmemleak=//p' "$clean")"
	[ "$qemu_rounds" = 0 ] || qemu_boots
else
	result "cycle=1 insmod=failed first-guest=none rmmod=none" || fail "insmod succeeded without the nested API"
	grep -q "No such device" "$log" || fail "insmod did not fail with -ENODEV"
	grep -q 'rust_papr_nested: the L0 does not implement the PAPR nested-guest API' "$log" ||
		fail "no line saying why"
fi
echo "[rpn] ok $variant"
