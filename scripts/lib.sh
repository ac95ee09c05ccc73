# SPDX-License-Identifier: GPL-2.0
# Common settings for the rust-papr-nested scripts. Sourced, never run.
#
# Everything built lives in one cache directory outside the clone, so that
# later runs on the same machine reuse it:
#
#   $RPN_CACHE/root          Debian trixie build root (chroot)
#   $RPN_CACHE/root/build/   kernel sources and build trees, seen as /build
#                            from inside the build root

set -euo pipefail

RPN_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RPN_CACHE=${RPN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-papr-nested}
RPN_ROOT=$RPN_CACHE/root
RPN_SUITE=trixie
RPN_MIRROR=${RPN_MIRROR:-http://deb.debian.org/debian}
# Inside the build root.
RPN_BUILD=/build
RPN_JOBS=${RPN_JOBS:-$(nproc)}
# A tag of the logs of one work tree's boots, so that two work trees of
# the same machine can boot at once (empty: the plain names).
RPN_TAG=${RPN_TAG:-}

# The kernel make invocation for an L1 ppc64le kernel built with LLVM.
RPN_KMAKE=(make ARCH=powerpc LLVM=1 CROSS_COMPILE=powerpc64le-linux-gnu-)

rpn_log() {
	printf '[rpn] %s\n' "$*" >&2
}

rpn_die() {
	printf '[rpn] error: %s\n' "$*" >&2
	exit 1
}

# rpn_in_root CMD...: run CMD inside the build root, in the clone's
# directory (mounted at the same path). The mounts live in a private mount
# namespace and vanish with it, so nothing is left mounted on the host even
# when CMD fails or is killed.
rpn_in_root() {
	[ -x "$RPN_ROOT/usr/bin/env" ] || rpn_die "no build root at $RPN_ROOT; run 'make setup'"
	unshare --mount --propagation private -- /bin/bash -euc '
		root=$1 top=$2; shift 2
		mount --rbind /dev "$root/dev"
		mount -t proc proc "$root/proc"
		mkdir -p "$root$top"
		mount --bind "$top" "$root$top"
		# The host'"'"'s CA bundle, which has the certificates this machine
		# needs to reach the package registries over TLS (cargo, for the
		# VMM'"'"'s std); the root'"'"'s own stays underneath.
		ca=/etc/ssl/certs/ca-certificates.crt
		if [ -f "$ca" ] && [ -f "$root$ca" ]; then
			mount --bind -o ro "$ca" "$root$ca"
		fi
		exec chroot "$root" /usr/bin/env -i \
			HOME=/root LANG=C.UTF-8 TERM=dumb \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			CI="${CI:-}" RPN_JOBS="$RPN_JOBS" RPN_CACHE="$RPN_CACHE" RPN_TAG="$RPN_TAG" \
			/bin/bash -euc "cd \"\$0\" && \"\$@\"" "$top" "$@"
	' rpn "$RPN_ROOT" "$RPN_TOP" "$@"
}
export RPN_JOBS RPN_CACHE RPN_TAG

# rpn_place_in_tree: inside the build root, copy the module's sources into
# the kernel tree as drivers/virt/rust_papr_nested and hook it into
# drivers/virt/Kconfig and Makefile, as kunit.py needs (it builds in-tree
# tests only). A copy, not a link, so that objects of an out-of-tree build
# in the clone cannot leak into the in-tree build.
rpn_place_in_tree() {
	local src=$RPN_BUILD/linux
	local dst=$src/drivers/virt/rust_papr_nested
	rm -rf "$dst"
	mkdir -p "$dst"
	(
		cd "$RPN_TOP"
		cp Kbuild Kconfig ./*.rs "$dst/"
		for d in emul gsb hcall vcpu demo kvm kunit; do
			[ -d "$d" ] || continue
			find "$d" -name '*.rs' -print0 | cpio -0pdm --quiet "$dst"
		done
	)
	grep -q rust_papr_nested "$src/drivers/virt/Kconfig" ||
		echo 'source "drivers/virt/rust_papr_nested/Kconfig"' >> "$src/drivers/virt/Kconfig"
	grep -q rust_papr_nested "$src/drivers/virt/Makefile" ||
		echo 'obj-y				+= rust_papr_nested/' >> "$src/drivers/virt/Makefile"
}
