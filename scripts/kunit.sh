#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run our KUnit suites with kunit.py on the nested-PAPR QEMU L0.
#
# kunit.py builds in-tree tests only, so the module's sources are placed in
# the kernel tree as drivers/virt/rust_papr_nested (a copy, so that objects
# of an out-of-tree build in the clone cannot leak in) and hooked into
# drivers/virt/Kconfig and Makefile. The build lives in /build/kunit.
# Prints kunit.py's report, then checks that the deliberate Rust warn_on!
# logged a WARNING naming its file and line.

source "$(dirname "$0")/lib.sh"

if [ "${1:-}" != --in-root ]; then
	exec bash -c 'source scripts/lib.sh; rpn_in_root bash scripts/kunit.sh --in-root'
fi

src=$RPN_BUILD/linux
out=$RPN_BUILD/kunit

rpn_place_in_tree

# A log from an earlier run must not answer for this one.
rm -f "$out/test.log"

cd "$src"
rc=0
python3 tools/testing/kunit/kunit.py run \
	--build_dir="$out" \
	--kunitconfig="$RPN_TOP/.kunitconfig" \
	--qemu_config="$RPN_TOP/testing/qemu_configs/powerpcle_nested.py" \
	--cross_compile=powerpc64le-linux-gnu- \
	--make_options=LLVM=1 \
	--jobs="$RPN_JOBS" \
	--timeout=600 || rc=$?

# The warn_on! test printed where its warning must point.
log=$out/test.log
# (sed alone, no head: under pipefail an early-exiting reader can fail it)
expect=$(sed -n '/rust_papr_nested: expect WARNING: /{s/.*expect WARNING: \([^ ]*\).*/\1/p;q}' "$log" 2>/dev/null || true)
if [ -z "$expect" ]; then
	echo "[rpn] FAIL warn_on location: the warn test did not run" >&2
	rc=1
elif grep -q "WARNING: $expect at " "$log"; then
	echo "[rpn] ok warn_on location: the log has 'WARNING: $expect at ...'" >&2
else
	echo "[rpn] FAIL warn_on location: no 'WARNING: $expect' in $log" >&2
	grep -n 'WARNING' "$log" >&2 || true
	rc=1
fi
exit $rc
