#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# QEMU for the L1: Debian's ppc64el qemu-system-ppc, the VMM that the main
# job runs inside the L1 on kvm-hv's /dev/kvm and on our /dev/papr-nested;
# qemu-system-data for its firmware (slof.bin, vof.bin); strace; and every
# package they depend on. Unpacked with dpkg-deb -x into
# $RPN_BUILD/qemu-l1/root in the build root, from which
# $RPN_BUILD/qemu-l1/l1 takes what the L1 needs (the two programs, the
# shared libraries their ELF headers name, the two firmware files).
#
# The suites are tried in order: trixie-backports (with trixie under it),
# trixie, bookworm; the first whose whole closure downloads is used, and
# logged. (On 2026-12-02 the ppc64el indexes of trixie and its backports
# resolved but their pool answered 404 for QEMU and libc6; bookworm's
# worked.) apt resolves the closure against a private state: a dpkg
# status with nothing installed and APT::Architecture ppc64el, so that
# every dependency down to libc6 is fetched for ppc64el; it checks every
# .deb against the suite's indexes, which it checks against the signed
# Release files (debian-archive-keyring). Idempotent: a stamp of the
# package list, the suites and this script decides whether anything needs
# doing.

source "$(dirname "$0")/lib.sh"

if [ "${1:-}" != --in-root ]; then
	exec bash -c 'source scripts/lib.sh; rpn_in_root bash scripts/setup-qemu-l1.sh --in-root'
fi

PACKAGES=(qemu-system-ppc qemu-system-data strace)
SUITES=("$RPN_SUITE-backports" "$RPN_SUITE" bookworm)

dir=$RPN_BUILD/qemu-l1
stamp=$dir/.rpn-qemu-l1-stamp
want=$( { printf '%s\n' "${PACKAGES[@]}" "${SUITES[@]}" "$RPN_MIRROR"; cat "$0"; } | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$dir/l1/bin/qemu-system-ppc64" ]; then
	echo "[rpn] QEMU for the L1 up to date ($(cat "$dir/suite"): $dir/l1)" >&2
	exit 0
fi

start=$SECONDS
rm -rf "$dir"
apt=$dir/apt
mkdir -p "$apt"/etc/apt.conf.d "$apt"/etc/preferences.d "$apt"/etc/sources.list.d \
	"$apt"/state/lists/partial "$apt"/cache/archives/partial
: > "$apt/state/status"
cat > "$apt/apt.conf" <<EOF
APT::Architecture "ppc64el";
APT::Architectures { "ppc64el"; };
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Dir::State "$apt/state";
Dir::State::status "$apt/state/status";
Dir::Cache "$apt/cache";
Dir::Etc::SourceList "$apt/etc/sources.list";
Dir::Etc::SourceParts "$apt/etc/sources.list.d";
Dir::Etc::Parts "$apt/etc/apt.conf.d";
Dir::Etc::Preferences "$apt/etc/preferences";
Dir::Etc::PreferencesParts "$apt/etc/preferences.d";
EOF
export APT_CONFIG=$apt/apt.conf DEBIAN_FRONTEND=noninteractive
debs=$apt/cache/archives
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

used=
for suite in "${SUITES[@]}"; do
	{
		echo "deb [arch=ppc64el signed-by=$keyring] $RPN_MIRROR ${suite%-backports} main"
		[ "$suite" = "${suite%-backports}" ] ||
			echo "deb [arch=ppc64el signed-by=$keyring] $RPN_MIRROR $suite main"
	} > "$apt/etc/sources.list"
	rm -f "$debs"/*.deb
	target=()
	[ "$suite" = "${suite%-backports}" ] || target=(-t "$suite")
	echo "[rpn] QEMU for the L1: trying $suite (ppc64el)" >&2
	if apt-get update -qq -o APT::Update::Error-Mode=any > "$dir/apt-$suite.log" 2>&1 &&
		apt-get install -y -qq --download-only "${target[@]}" "${PACKAGES[@]}" \
			>> "$dir/apt-$suite.log" 2>&1; then
		used=$suite
		break
	fi
	grep -E '^(E|W):' "$dir/apt-$suite.log" | head -3 | sed 's/^/[rpn]   /' >&2
done
[ -n "$used" ] || rpn_die "no suite of $RPN_MIRROR gave ${PACKAGES[*]} for ppc64el (logs: $dir/apt-*.log)"
n=$(ls "$debs"/*.deb | wc -l)
size=$(du -sm "$debs" | cut -f1)
echo "[rpn] QEMU for the L1 from $used: $n packages, $size MB of .debs: $(cd "$debs" && ls qemu-system-ppc_*.deb strace_*.deb | tr '\n' ' ')" >&2

rm -rf "$dir/root"
mkdir -p "$dir/root"
for d in "$debs"/*.deb; do
	dpkg-deb -x "$d" "$dir/root"
done

# What the L1 needs of it, under /qemu in the L1's initramfs: bin/ the two
# programs, lib/ every shared library in the closure of their DT_NEEDED
# (QEMU runs with LD_LIBRARY_PATH=/qemu/lib; its loadable modules, for
# displays, audio and block drivers, are not needed with -nographic
# -nodefaults), share/qemu/ the firmware (-L), and the program
# interpreter they name, ld64.so.2, which goes at that path in the L1.
r=$dir/root
out=$dir/l1
mkdir -p "$out/bin" "$out/lib" "$out/share/qemu"
cp -L "$r/usr/bin/qemu-system-ppc64" "$r/usr/bin/strace" "$out/bin/"
cp -L "$r/usr/share/qemu/slof.bin" "$r/usr/share/qemu/vof.bin" "$out/share/qemu/"
libdirs=("$r/lib/powerpc64le-linux-gnu" "$r/usr/lib/powerpc64le-linux-gnu" "$r/lib64" "$r/usr/lib64" "$r/lib" "$r/usr/lib")
todo=("$out/bin/qemu-system-ppc64" "$out/bin/strace")
while [ ${#todo[@]} -gt 0 ]; do
	elf=${todo[0]}
	todo=("${todo[@]:1}")
	for lib in $(powerpc64le-linux-gnu-readelf -dW "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
		[ -f "$out/lib/$lib" ] && continue
		found=
		for d in "${libdirs[@]}"; do
			if [ -e "$d/$lib" ]; then
				found=$d/$lib
				break
			fi
		done
		[ -n "$found" ] || rpn_die "$lib (needed by ${elf##*/}) is in no package of the closure"
		cp -L "$found" "$out/lib/$lib"
		todo+=("$out/lib/$lib")
	done
done
interp=$(powerpc64le-linux-gnu-readelf -lW "$out/bin/qemu-system-ppc64" | sed -n 's/.*Requesting program interpreter: \(.*\)\]$/\1/p')
[ "$interp" = /lib64/ld64.so.2 ] || rpn_die "QEMU asks for the program interpreter '$interp', not /lib64/ld64.so.2"
for d in "${libdirs[@]}"; do
	if [ -e "$d/ld64.so.2" ]; then
		cp -L "$d/ld64.so.2" "$out/ld64.so.2"
		break
	fi
done
[ -f "$out/ld64.so.2" ] || rpn_die "no ld64.so.2 in the closure"

echo "$used" > "$dir/suite"
echo "$want" > "$stamp"
ver=$(dpkg-deb -f "$(ls "$debs"/qemu-system-ppc_*.deb)" Version)
echo "[rpn] QEMU for the L1 ready in $((SECONDS - start)) s: qemu-system-ppc $ver from $used; unpacked $(du -sm "$r" | cut -f1) MB, for the L1 $(du -sm "$out" | cut -f1) MB ($(ls "$out/lib" | wc -l) libraries) in $out" >&2
