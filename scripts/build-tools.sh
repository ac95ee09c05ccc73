#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the userspace tools under tools/ for the L1: static ppc64le
# binaries, in the build root.
#
# - The KVM definitions come from the L1 kernel's own uapi headers
#   ('make headers' into /build/l1/usr/include), through bindgen and
#   tools/kvm-sys/wrapper.h; nothing is retyped.
# - std is built from rust-src for powerpc64le-unknown-linux-gnu (no
#   ppc64el std package is needed), linked statically with the cross gcc
#   and glibc of trixie main; its crates come from crates.io.
# - The L2 programs (tools/l2/*.S) are assembled with the cross gcc and
#   made flat binaries and ELF executables.
#
# Output: tools/target/powerpc64le-unknown-linux-gnu/release/<tool>, and
# tools/target/l2/<program>.{bin,elf}, tools/target/l2/rpn-l2-bench.

source "$(dirname "$0")/lib.sh"

if [ "${1:-}" != --in-root ]; then
	exec bash -c 'source scripts/lib.sh; rpn_in_root bash scripts/build-tools.sh --in-root'
fi

export DEBIAN_FRONTEND=noninteractive
for p in gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross; do
	dpkg -s "$p" >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends "$p" >/dev/null
done

start=$SECONDS
l1=$RPN_BUILD/l1
"${RPN_KMAKE[@]}" -C "$RPN_BUILD/linux" O="$l1" -s headers
target=$RPN_TOP/tools/target
mkdir -p "$target"
gen=$target/kvm_bindings.rs
bindgen tools/kvm-sys/wrapper.h \
	--allowlist-type 'kvm_.*|papr_nested_.*' \
	--allowlist-var 'KVM_.*|RPN_KVM_.*|PAPR_NESTED_.*|RPN_PAPR_NESTED_.*|PROT_.*|MAP_.*|RPN_H_.*|RPN_L2_.*' \
	--no-layout-tests --with-derive-default -o "$gen.new" -- \
	-I"$l1/usr/include" --target=powerpc64le-linux-gnu 2>/dev/null
sed -Ei 's/pub const RPN_((KVM|PAPR_NESTED)_[A-Z0-9_]*)/pub const \1/' "$gen.new"
cmp -s "$gen.new" "$gen" || mv "$gen.new" "$gen"
rm -f "$gen.new"

export RUSTC_BOOTSTRAP=1
export RPN_KVM_BINDINGS=$gen
export CARGO_TARGET_POWERPC64LE_UNKNOWN_LINUX_GNU_LINKER=powerpc64le-linux-gnu-gcc
export RUSTFLAGS="-C target-feature=+crt-static"
for t in tools/*/Cargo.toml; do
	cargo build --quiet --release --manifest-path "$t" --target-dir "$target" \
		--target powerpc64le-unknown-linux-gnu -Zbuild-std=std,panic_abort
done
# The L2 programs: flat binaries, loaded at guest real 0 by papr-vmm,
# and the same linked as ELF executables at 0 (papr-vmm loads either).
mkdir -p "$target/l2"
for src in tools/l2/*.S; do
	name=$(basename "$src" .S)
	powerpc64le-linux-gnu-gcc -c -mcpu=power10 -Itools/l2 -o "$target/l2/$name.o" "$src"
	powerpc64le-linux-gnu-objcopy -O binary -j .text "$target/l2/$name.o" "$target/l2/$name.bin"
	powerpc64le-linux-gnu-ld -static -nostdlib -N --no-warn-rwx-segments -Ttext=0 -e _start \
		-o "$target/l2/$name.elf" "$target/l2/$name.o"
done
# The L2 Linux's own program (testing/l2-init runs it): static, with the
# cross glibc.
powerpc64le-linux-gnu-gcc -static -O2 -pthread -Wall -Werror -o "$target/l2/rpn-l2-bench" \
	tools/l2-linux/rpn-l2-bench.c
rpn_log "tools built in $((SECONDS - start)) s: $(ls "$target/powerpc64le-unknown-linux-gnu/release" | grep -v '\.d$' | grep -Ev '^(build|deps|examples|incremental)$' | tr '\n' ' ')"
