#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rustfmt and clippy over all our Rust, as the kernel would run them:
#   - rustfmt --check with the kernel's .rustfmt.toml
#   - clippy (CLIPPY=1) on the out-of-tree module against the L1 kernel
#   - clippy on the in-tree build of kunit.py's kernel, where the KUnit
#     suites are compiled in (scripts/kunit.sh must have built it once):
#     the saved rustc command of our object, run with clippy-driver over
#     the current sources
#   - cargo clippy on the host crate
# Fails on any diff or warning in our files.

source "$(dirname "$0")/lib.sh"

if [ "${1:-}" != --in-root ]; then
	exec bash -c 'source scripts/lib.sh; rpn_in_root bash scripts/lint.sh --in-root'
fi

rc=0
# Noise of Linux 7.3 on powerpc, printed for every Rust object: rustc
# warns about the target features the arch Makefile passes (from 1.98 on,
# about hard-float too), and counts those warnings.
noise='unstable feature specified for `-Ctarget-feature`|target feature `hard-float` (cannot be disabled|must be enabled)|^\s*\||= note|= help|^$|^warning: [0-9]+ warnings emitted$'

echo "[rpn] rustfmt --check" >&2
files=(rust_papr_nested.rs)
[ -d host ] && files+=(host/lib.rs host/tests/*.rs)
files+=(tools/*/src/main.rs)
rustfmt --check --edition 2021 --config-path /build/linux/.rustfmt.toml "${files[@]}" || rc=1

echo "[rpn] clippy: out-of-tree module" >&2
out=$("${RPN_KMAKE[@]}" -C /build/l1 M="$RPN_TOP" CLIPPY=1 -s modules 2>&1 | grep -Ev "$noise" || true)
if [ -n "$out" ]; then echo "$out"; rc=1; fi

echo "[rpn] clippy: in-tree build with the KUnit suites" >&2
cmdfile=/build/kunit/drivers/virt/rust_papr_nested/.rust_papr_nested.o.cmd
if [ -f "$cmdfile" ]; then
	rpn_place_in_tree
	cmd=$(sed -n 's/^savedcmd_[^ ]* := //p' "$cmdfile" | sed 's/ rustc / clippy-driver /')
	out=$(cd /build/kunit && export RUSTC_BOOTSTRAP=1 && eval "$cmd" 2>&1 | grep -Ev "$noise" || true)
	if [ -n "$out" ]; then echo "$out"; rc=1; fi
else
	echo "[rpn] no KUnit build to lint; run scripts/kunit.sh first" >&2
	rc=1
fi

if [ -d host ]; then
	echo "[rpn] cargo clippy: host crate" >&2
	(cd host && cargo clippy --quiet --offline --all-targets -- -D warnings) || rc=1
fi
exit $rc
