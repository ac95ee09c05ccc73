#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The host-side tests of the module's pure logic (host/: the same gsb/
# and emul/ sources as the module), with the machine's own cargo:
#   host-tests.sh test                 cargo test
#   host-tests.sh bench                cargo bench: encode and parse timings
#   host-tests.sh fuzz [TARGET [RUNS]] the cargo-fuzz target TARGET for
#                                      RUNS runs (its own count without
#                                      RUNS), or every target in turn
#   host-tests.sh fuzz-list            every target and its runs, a line
#                                      each: "TARGET RUNS"
# Fuzzing installs cargo-fuzz when missing; libFuzzer needs the nightly
# -Z flags, which RUSTC_BOOTSTRAP=1 allows on a stable toolchain.
# RPN_FUZZ_RUNS, when set, is the runs of every target.

source "$(dirname "$0")/lib.sh"
cd "$RPN_TOP/host"

command -v cargo >/dev/null || rpn_die "no cargo on this machine (rustup's stable is enough)"

# The runs of each target: all of them take under a minute on two cores,
# builds aside. A target of fuzz/Cargo.toml not named here runs
# $default_runs times.
declare -A fuzz_runs=(
	[parse]=1000000  # the Guest State Buffer parser, ~8 s
	[decode]=1000000 # the load/store decoder: 2^32 words, ~7 s
	[walk]=3000000   # the radix walk over memory images, ~23 s
)
default_runs=1000000

fuzz_setup() {
	command -v cargo-fuzz >/dev/null || cargo install --quiet --locked cargo-fuzz
}

# fuzz_targets: the targets of fuzz/Cargo.toml, one a line.
fuzz_targets() {
	cargo fuzz list
}

# fuzz_one TARGET RUNS: one bounded run; fails unless libFuzzer's last
# line says all RUNS were done.
fuzz_one() {
	local target=$1 runs=$2 log done_line start=$SECONDS
	log=$(mktemp)
	if RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- -runs="$runs" > "$log" 2>&1; then
		done_line=$(grep '^Done' "$log" | tail -1)
		echo "[rpn] fuzz $target: ${done_line:-no Done line} ($((SECONDS - start)) s with the build)"
		rm -f "$log"
		grep -q "^Done $runs runs" <<< "$done_line"
	else
		tail -40 "$log"
		echo "[rpn] fuzz $target: FAILED (log: $log)"
		return 1
	fi
}

runs_of() {
	echo "${RPN_FUZZ_RUNS:-${fuzz_runs[$1]:-$default_runs}}"
}

case ${1:-test} in
test)
	cargo test --quiet 2>&1
	;;
bench)
	cargo bench --quiet 2>&1 | grep '^bench:'
	;;
fuzz)
	fuzz_setup
	if [ -n "${2:-}" ]; then
		targets=$(fuzz_targets)
		grep -qx -- "$2" <<< "$targets" || rpn_die "no fuzz target $2 (have: $(xargs <<< "$targets"))"
		fuzz_one "$2" "${3:-$(runs_of "$2")}"
	else
		rc=0
		for t in $(fuzz_targets); do
			fuzz_one "$t" "$(runs_of "$t")" || rc=1
		done
		exit $rc
	fi
	;;
fuzz-list)
	fuzz_setup >&2
	for t in $(fuzz_targets); do
		echo "$t $(runs_of "$t")"
	done
	;;
*)
	rpn_die "usage: host-tests.sh test|bench|fuzz [target [runs]]|fuzz-list"
	;;
esac
