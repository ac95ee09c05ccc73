#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The host-side tests of the Guest State Buffer codec (host/, the same
# gsb/ sources as the module), with the machine's own cargo:
#   host-tests.sh test    cargo test
#   host-tests.sh bench   cargo bench: encode and parse timings
#   host-tests.sh fuzz N  the cargo-fuzz target for N runs (installs
#                         cargo-fuzz when missing; libFuzzer needs the
#                         nightly -Z flags, which RUSTC_BOOTSTRAP=1
#                         allows on a stable toolchain)

source "$(dirname "$0")/lib.sh"
cd "$RPN_TOP/host"

command -v cargo >/dev/null || rpn_die "no cargo on this machine (rustup's stable is enough)"

case ${1:-test} in
test)
	cargo test --quiet 2>&1
	;;
bench)
	cargo bench --quiet 2>&1 | grep '^bench:'
	;;
fuzz)
	runs=${2:-1000000}
	command -v cargo-fuzz >/dev/null || cargo install --quiet --locked cargo-fuzz
	log=$(mktemp)
	start=$SECONDS
	if RUSTC_BOOTSTRAP=1 cargo fuzz run parse -- -runs="$runs" > "$log" 2>&1; then
		done_line=$(grep '^Done' "$log" | tail -1)
		echo "[rpn] fuzz parse: ${done_line:-no Done line} ($((SECONDS - start)) s with the build)"
		rm -f "$log"
		grep -q "^Done $runs runs" <<< "$done_line"
	else
		tail -40 "$log"
		echo "[rpn] fuzz parse: FAILED (log: $log)"
		exit 1
	fi
	;;
*)
	rpn_die "usage: host-tests.sh test|bench|fuzz [runs]"
	;;
esac
