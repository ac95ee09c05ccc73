#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch Debian's linux-source package into the build root, unpack it and
# apply our patches from patches/. Prefers 7.3 (a newer 7.3.y is fine);
# where the archive has dropped 7.3, takes the newest 7.x and says so.
# Idempotent: a stamp of the source version and the patches' contents
# decides whether the tree must be unpacked anew.

source "$(dirname "$0")/lib.sh"

pick=$(rpn_in_root /bin/bash -c '
	apt-cache pkgnames linux-source-7. | grep -E "^linux-source-7\.[0-9]+$" |
		sort -t. -k2,2n' | tr '\n' ' ')
[ -n "$pick" ] || rpn_die "no linux-source-7.x package in the archive"
if [[ " $pick " == *" linux-source-7.3 "* ]]; then
	pkg=linux-source-7.3
else
	pkg=$(echo "$pick" | tr ' ' '\n' | grep . | tail -1)
	rpn_log "NOTE: linux-source-7.3 is gone from the archive; using $pkg"
fi
ver=${pkg#linux-source-}

rpn_in_root /bin/bash -euc '
	dpkg -s "$1" >/dev/null 2>&1 && exit 0
	echo "[rpn] installing $1" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-t '"$RPN_SUITE"'-backports "$1" >/dev/null
' x "$pkg"
pkgver=$(rpn_in_root dpkg-query -W -f '${Version}' "$pkg")

src=$RPN_ROOT$RPN_BUILD/linux
stamp=$src/.rpn-src-stamp
want="$pkg $pkgver $(find "$RPN_TOP/patches" -name '*.patch' -exec cat {} + | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	rpn_log "kernel source up to date ($pkg $pkgver)"
	exit 0
fi

rpn_log "unpacking $pkg $pkgver"
rm -rf "$src"
mkdir -p "$src"
tar -C "$src" --strip-components=1 -xf "$RPN_ROOT/usr/src/linux-source-$ver.tar.xz"

for p in "$RPN_TOP"/patches/*.patch; do
	[ -e "$p" ] || continue
	if patch -d "$src" -p1 -s -f --dry-run < "$p" >/dev/null; then
		patch -d "$src" -p1 -s -f < "$p"
		rpn_log "applied $(basename "$p")"
	elif patch -d "$src" -p1 -s -f -R --dry-run < "$p" >/dev/null; then
		rpn_log "skipped $(basename "$p"): already in $pkg $pkgver"
	else
		rpn_die "$(basename "$p") does not apply to $pkg $pkgver"
	fi
done
echo "$want" > "$stamp"
