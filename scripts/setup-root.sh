#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Create or update the Debian trixie build root. Idempotent: a stamp holding
# the package list decides whether anything needs doing.

source "$(dirname "$0")/lib.sh"

# Build-root packages. The Rust toolchain, QEMU and the kernel source come
# from trixie-backports; busybox-static from the ppc64el architecture; the
# cross gcc and glibc (for the static userspace tools) from trixie main,
# where they are packages of the host architecture.
PACKAGES_BACKPORTS=(rustc rust-src rustfmt rust-clippy cargo qemu-system-ppc)
PACKAGES=(bindgen clang lld llvm libclang-dev binutils-powerpc64le-linux-gnu
	  make flex bison bc libelf-dev libssl-dev cpio kmod python3 perl
	  xz-utils patch git ca-certificates busybox-static:ppc64el
	  gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross)

stamp=$RPN_ROOT/.rpn-root-stamp
want=$(printf '%s\n' "${PACKAGES_BACKPORTS[@]}" "${PACKAGES[@]}" | sort | sha256sum | cut -c1-16)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	rpn_log "build root up to date ($RPN_ROOT)"
	exit 0
fi

if ! [ -x "$RPN_ROOT/usr/bin/apt-get" ]; then
	command -v debootstrap >/dev/null || {
		rpn_log "installing debootstrap on the host"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
	}
	rpn_log "creating $RPN_SUITE build root in $RPN_ROOT (debootstrap)"
	rm -rf "$RPN_ROOT.tmp"
	mkdir -p "$RPN_CACHE"
	# A private mount namespace: debootstrap's own /proc mount cannot leak.
	unshare --mount --propagation private -- \
		debootstrap --variant=minbase "$RPN_SUITE" "$RPN_ROOT.tmp" "$RPN_MIRROR" \
		> "$RPN_CACHE/debootstrap.log" 2>&1 ||
		{ tail -20 "$RPN_CACHE/debootstrap.log"; rpn_die "debootstrap failed"; }
	mv "$RPN_ROOT.tmp" "$RPN_ROOT"
fi

# Only busybox-static is taken for ppc64el, and only from a release
# itself: the other suites are fetched for the host architecture alone.
# That release is trixie; should the mirror serve a ppc64el index of
# trixie that does not match its signed Release file (seen: a mirror
# caught mid-sync, for longer than the retries below wait), bookworm's is
# taken instead. apt checks every index against its signed Release either
# way; nothing unverified is installed.
host_arch=$(dpkg --print-architecture)
cp /etc/resolv.conf "$RPN_ROOT/etc/resolv.conf" 2>/dev/null || true
rm -f "$RPN_ROOT/etc/apt/sources.list.d/debian.sources"

rpn_log "installing build-root packages"
for ppc_suite in "$RPN_SUITE" bookworm; do
	{
		echo "deb [arch=$host_arch] $RPN_MIRROR $RPN_SUITE main"
		echo "deb [arch=$host_arch] $RPN_MIRROR $RPN_SUITE-updates main"
		echo "deb [arch=$host_arch] $RPN_MIRROR $RPN_SUITE-backports main"
		echo "deb [arch=ppc64el] $RPN_MIRROR $ppc_suite main"
	} > "$RPN_ROOT/etc/apt/sources.list"
	if rpn_in_root /bin/bash -euc '
		dpkg --add-architecture ppc64el
		# A mirror caught mid-sync answers with short index files: try again.
		for try in 1 2 3; do
			apt-get update -qq -o APT::Update::Error-Mode=any && exit 0
			[ $try = 3 ] && exit 1
			sleep 20
		done
	'; then
		break
	fi
	[ "$ppc_suite" = bookworm ] && rpn_die "no consistent package index (see above)"
	rpn_log "the mirror's ppc64el index of $ppc_suite is inconsistent; trying bookworm's for busybox-static"
done
rpn_in_root /bin/bash -euc '
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "$@" >/dev/null
' pkgs "${PACKAGES[@]}"
rpn_in_root /bin/bash -euc '
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends -t '"$RPN_SUITE"'-backports "$@" >/dev/null
' pkgs "${PACKAGES_BACKPORTS[@]}"
rpn_in_root /bin/bash -c 'rustc --version; bindgen --version; clang --version | head -1; qemu-system-ppc64 --version | head -1' |
	sed 's/^/[rpn]   /' >&2
echo "$want" > "$stamp"
