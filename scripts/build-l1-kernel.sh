#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Configure and build the L1 kernel that the main job boots and that the
# out-of-tree module is built against (/build/l1 in the build root).
# The configuration is testing/l1-arch.config plus testing/l1.config on
# top of the Kconfig defaults; every option asked for is checked to have
# survived olddefconfig, as kunit.py does. make decides what to rebuild.

source "$(dirname "$0")/lib.sh"

if [ "${1:-}" != --in-root ]; then
	exec bash -c 'source scripts/lib.sh; rpn_in_root bash scripts/build-l1-kernel.sh --in-root'
fi

src=$RPN_BUILD/linux
out=$RPN_BUILD/l1
mkdir -p "$out"
frag=$out/.rpn-fragment
cat testing/l1-arch.config testing/l1.config | grep '^CONFIG_' > "$frag.new"
if ! cmp -s "$frag.new" "$frag" || ! [ -f "$out/.config" ]; then
	echo "[rpn] configuring the L1 kernel in $out" >&2
	cp "$frag.new" "$out/.config"
fi
# Always: the tree's Kconfig may have grown since (scripts/kunit.sh hooks
# our module into it), and new symbols take their defaults silently.
"${RPN_KMAKE[@]}" -C "$src" O="$out" -s olddefconfig >/dev/null
missing=$(grep -vxFf "$out/.config" "$frag.new" || true)
[ -z "$missing" ] || rpn_die "options lost by olddefconfig (dependencies missing?):
$missing"
mv "$frag.new" "$frag"
echo "[rpn] building the L1 kernel ($(make -s -C "$src" kernelversion), -j$RPN_JOBS)" >&2
start=$SECONDS
"${RPN_KMAKE[@]}" -C "$src" O="$out" -j"$RPN_JOBS" -s vmlinux modules
echo "[rpn] L1 kernel ready in $((SECONDS - start)) s: $out/vmlinux" >&2
