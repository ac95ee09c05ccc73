// SPDX-License-Identifier: GPL-2.0

//! `KVM_GET_SREGS` and `KVM_SET_SREGS` of a book3s vCPU: the processor
//! version and the SLB, as kvm-hv has them (`kvm_arch_vcpu_ioctl_get_sregs_hv`
//! and `..._set_sregs_hv`). An L2 of the nested API translates with radix
//! trees only, so the SLB is never given to it: kvm-hv nestedv2 keeps it
//! for the VMM and sends nothing either.

use crate::platform::pvr;
use kernel::{
    prelude::*,
    uaccess::{UserPtr, UserSlice},
    uapi,
};

/// SLB entries a POWER9 or later vCPU has (`slb_nr`).
const SLB_ENTRIES: usize = 32;
/// `SLB_ESID_V`: the entry is valid.
const SLB_ESID_V: u64 = 0x0800_0000;

/// The valid SLB entries last set, in order: (ESID word, VSID word).
#[derive(Default)]
pub(super) struct Segments {
    slb: [(u64, u64); SLB_ENTRIES],
    count: usize,
}

/// Where the fields are in `struct kvm_sregs`: the PVR at 0, the union
/// `u` after it at its 8-byte alignment; in its book3s member `u.s`, SDR1
/// first, then the SLB's 64 entries of two doublewords (ESID, VSID).
const PVR_AT: usize = 0;
const SLB_AT: usize = core::mem::offset_of!(uapi::kvm_sregs, u) + 8;
const SLB_MAX: usize = 64;
const SREGS_SIZE: usize = size_of::<uapi::kvm_sregs>();
const _: () = assert!(core::mem::offset_of!(uapi::kvm_sregs, u) == 8);
const _: () = assert!(SLB_AT + SLB_MAX * 16 <= SREGS_SIZE);

/// The native-endian doubleword at `at` of `b`.
fn dw(b: &[u8], at: usize) -> u64 {
    let mut d = [0u8; 8];
    d.copy_from_slice(&b[at..at + 8]);
    u64::from_ne_bytes(d)
}

/// `KVM_GET_SREGS`: the L1's PVR (the only one an L2 can have), SDR1 0
/// (no hashed page table), the valid SLB entries `KVM_SET_SREGS` gave;
/// every other byte 0. Built as bytes (the struct has padding, and is
/// over 1 KiB: not on the stack).
pub(super) fn get(seg: &Segments, arg: usize) -> Result<isize> {
    let mut b = KVec::from_elem(0u8, SREGS_SIZE, GFP_KERNEL_ACCOUNT)?;
    b[PVR_AT..PVR_AT + 4].copy_from_slice(&pvr().to_ne_bytes());
    for (i, (esid, vsid)) in seg.slb[..seg.count].iter().enumerate() {
        let at = SLB_AT + i * 16;
        b[at..at + 8].copy_from_slice(&esid.to_ne_bytes());
        b[at + 8..at + 16].copy_from_slice(&vsid.to_ne_bytes());
    }
    UserSlice::new(UserPtr::from_addr(arg), SREGS_SIZE)
        .writer()
        .write_slice(&b)?;
    Ok(0)
}

/// `KVM_SET_SREGS`: `-EINVAL` for a PVR other than the L1's (kvm-hv
/// cannot spoof it either; QEMU's `-cpu host` gives it); of the first 32
/// SLB entries, the valid ones are kept.
pub(super) fn set(seg: &mut Segments, arg: usize) -> Result<isize> {
    let mut b = KVec::from_elem(0u8, SREGS_SIZE, GFP_KERNEL_ACCOUNT)?;
    UserSlice::new(UserPtr::from_addr(arg), SREGS_SIZE)
        .reader()
        .read_slice(&mut b)?;
    let p = u32::from_ne_bytes([b[PVR_AT], b[PVR_AT + 1], b[PVR_AT + 2], b[PVR_AT + 3]]);
    if p != pvr() {
        return Err(EINVAL);
    }
    let mut kept = [(0u64, 0u64); SLB_ENTRIES];
    let mut n = 0;
    for i in 0..SLB_ENTRIES {
        let (esid, vsid) = (dw(&b, SLB_AT + i * 16), dw(&b, SLB_AT + i * 16 + 8));
        if esid & SLB_ESID_V != 0 {
            kept[n] = (esid, vsid);
            n += 1;
        }
    }
    seg.slb = kept;
    seg.count = n;
    Ok(0)
}
