// SPDX-License-Identifier: GPL-2.0

//! `struct kvm_regs` and the guest state elements behind its fields: the
//! one place that mapping is written.

use crate::gsb::{
    ids::{ElemType, MSR_SETTABLE},
    Id, IdSet, Value,
};
use kernel::{prelude::*, transmute::AsBytes, transmute::FromBytes, uapi};

/// The MSR bits the kernel's part of `KVM_RUN` reads or sets.
pub(super) mod msr {
    /// 64-bit mode.
    pub(crate) const MSR_SF: u64 = 1 << 63;
    /// External interrupts enabled (H_CEDE sets it).
    pub(crate) const MSR_EE: u64 = 0x8000;
    /// Instruction relocation.
    pub(crate) const MSR_IR: u64 = 0x20;
    /// Data relocation.
    pub(crate) const MSR_DR: u64 = 0x10;
    /// Little-endian.
    pub(crate) const MSR_LE: u64 = 0x1;
}

/// `struct kvm_regs`, as it crosses to and from userspace.
#[repr(transparent)]
#[derive(Default)]
pub(crate) struct Regs(pub(crate) uapi::kvm_regs);

// SAFETY: `kvm_regs` is `__u64`s only (17 fields and a 32-element array),
// with no padding: every bit pattern is a valid value.
unsafe impl FromBytes for Regs {}
// SAFETY: as above: no padding, so every byte is initialised.
unsafe impl AsBytes for Regs {}

/// Declares the mapping of the named fields; the GPRs map by index.
macro_rules! regs_map {
    ($($field:ident => $id:ident,)*) => {
        /// The named fields' elements, in field order.
        const NAMED: [Id; [$(stringify!($field)),*].len()] = [$(Id::$id),*];

        /// The named fields' values, in [`NAMED`] order.
        fn named(r: &uapi::kvm_regs) -> [u64; NAMED.len()] {
            [$(r.$field),*]
        }

        /// Sets the named fields from `values`, in [`NAMED`] order.
        fn set_named(r: &mut uapi::kvm_regs, values: [u64; NAMED.len()]) {
            let [$($field),*] = values;
            $(r.$field = $field;)*
        }
    };
}

regs_map! {
    pc => NIA,
    cr => CR,
    ctr => CTR,
    lr => LR,
    xer => XER,
    msr => MSR,
    srr0 => SRR0,
    srr1 => SRR1,
    pid => PIDR,
    sprg0 => SPRG0,
    sprg1 => SPRG1,
    sprg2 => SPRG2,
    sprg3 => SPRG3,
}

/// Every element `kvm_regs` covers.
pub(crate) fn ids() -> IdSet {
    let mut set = IdSet::new();
    for id in NAMED {
        set.set(id);
    }
    for id in Id::GPRS {
        set.set(id);
    }
    set
}

/// `v` as the value of element `id` (a word or a doubleword); `-EINVAL`
/// for a word element given more than 32 bits.
fn value(id: Id, v: u64) -> Result<Value> {
    match id.ty() {
        ElemType::Be64 => Ok(Value::Be64(v)),
        ElemType::Be32 => Ok(Value::Be32(u32::try_from(v).map_err(|_| EINVAL)?)),
        _ => Err(EINVAL),
    }
}

/// The elements `r` sets, in one array. `-EINVAL` where a field does not
/// fit its element. As kvm-hv does, the MSR bits userspace may not set
/// (HV, S, ME: the L0's, which `KVM_GET_REGS` shows) are dropped rather
/// than refused, and `pid` is not set (a VMM syncs PIDR through ONE_REG;
/// QEMU passes its BookE PID here, 0 on book3s). SPRG4-7 have no element:
/// the caller keeps them.
pub(crate) fn elements(r: &uapi::kvm_regs) -> Result<KVec<(Id, Value)>> {
    let mut out = KVec::with_capacity(NAMED.len() + Id::GPRS.len(), GFP_KERNEL_ACCOUNT)?;
    for (id, v) in NAMED.iter().zip(named(r)) {
        let v = match *id {
            Id::PIDR => continue,
            Id::MSR => v & MSR_SETTABLE,
            _ => v,
        };
        out.push((*id, value(*id, v)?), GFP_KERNEL_ACCOUNT)?;
    }
    for (id, v) in Id::GPRS.iter().zip(r.gpr) {
        out.push((*id, value(*id, v)?), GFP_KERNEL_ACCOUNT)?;
    }
    Ok(out)
}

/// `kvm_regs` from `get`, which gives each element's value (SPRG4-7: 0,
/// for the caller to fill).
pub(crate) fn from_elements(get: impl Fn(Id) -> Option<Value>) -> Result<uapi::kvm_regs> {
    let word = |id: Id| match get(id) {
        Some(Value::Be64(v)) => Ok(v),
        Some(Value::Be32(v)) => Ok(v.into()),
        _ => Err(EPROTO),
    };
    let mut r = uapi::kvm_regs::default();
    let mut values = [0u64; NAMED.len()];
    for (slot, id) in values.iter_mut().zip(NAMED) {
        *slot = word(id)?;
    }
    set_named(&mut r, values);
    for (slot, id) in r.gpr.iter_mut().zip(Id::GPRS) {
        *slot = word(id)?;
    }
    Ok(r)
}
