// SPDX-License-Identifier: GPL-2.0

//! `KVM_GET_ONE_REG` and `KVM_SET_ONE_REG`: KVM's powerpc register IDs
//! (`KVM_REG_PPC_*`), each reaching the guest state element the ID table's
//! KVM column ([`crate::gsb::ids::KVM_REGS`]) gives it.
//!
//! A register's bytes at `addr` are as KVM has them: a native-endian
//! integer of the size the ID encodes; a 128-bit register (a VSR, a VR) is
//! two native-endian doublewords, the element's first doubleword first.

use crate::gsb::{
    ids::{ElemType, Scope, KVM_REGS},
    value::Vec128,
    Id, Value,
};
use kernel::{
    prelude::*,
    transmute::FromBytes,
    uaccess::{UserPtr, UserSlice},
    uapi,
};

/// `struct kvm_one_reg`, as read from userspace.
#[repr(transparent)]
struct OneReg(uapi::kvm_one_reg);

// SAFETY: the struct is two `__u64`s, with no padding: every bit pattern
// is a valid value.
unsafe impl FromBytes for OneReg {}

/// A `KVM_{GET,SET}_ONE_REG` request, checked against the fd it came on.
pub(super) struct Request {
    /// The element the register is.
    pub(super) id: Id,
    /// Bytes of the register, from its KVM ID: 4, 8 or 16.
    size: usize,
    /// Where userspace keeps the register's bytes.
    addr: usize,
}

/// The bytes of KVM register `reg`, from the size its ID encodes.
fn size_of_reg(reg: u64) -> usize {
    1 << ((reg & uapi::KVM_REG_SIZE_MASK) >> uapi::KVM_REG_SIZE_SHIFT)
}

/// The element KVM register `reg` names, for an fd of `scope`:
///
/// - `-ENOENT`: no element has that ID (KVM names no such register, or
///   the guest has no element for it);
/// - `-EINVAL`: the ID is a known register's with another size, or the
///   element belongs to another fd (guest-wide ones to the VM fd,
///   per-vCPU ones to the vCPU fd).
///
/// No element that names L1 memory has a KVM ID (checked when the table
/// is compiled), so those are `-ENOENT` like any unknown ID.
fn element(reg: u64, scope: Scope) -> Result<Id> {
    let id = match KVM_REGS.iter().position(|r| *r == Some(reg)) {
        Some(index) => Id::from_index(index).ok_or(ENOENT)?,
        None => {
            let base = |r: u64| r & !uapi::KVM_REG_SIZE_MASK;
            let resized = KVM_REGS.iter().flatten().any(|r| base(*r) == base(reg));
            return Err(if resized { EINVAL } else { ENOENT });
        }
    };
    if id.scope() != scope {
        return Err(EINVAL);
    }
    Ok(id)
}

impl Request {
    /// Reads `struct kvm_one_reg` at `arg` and checks it for an fd of
    /// `scope` (see [`element`]).
    pub(super) fn read(arg: usize, scope: Scope) -> Result<Request> {
        let len = core::mem::size_of::<OneReg>();
        let r = UserSlice::new(UserPtr::from_addr(arg), len)
            .reader()
            .read::<OneReg>()?
            .0;
        Ok(Request {
            id: element(r.id, scope)?,
            size: size_of_reg(r.id),
            addr: usize::try_from(r.addr).map_err(|_| EFAULT)?,
        })
    }

    /// Writes `v`, the element's value, to userspace as the register.
    pub(super) fn put(&self, v: Value) -> Result<isize> {
        let mut bytes = [0u8; 16];
        match (v, self.size) {
            (Value::Be32(x), 4) => bytes[..4].copy_from_slice(&x.to_ne_bytes()),
            (Value::Be32(x), 8) => bytes[..8].copy_from_slice(&u64::from(x).to_ne_bytes()),
            (Value::Be64(x), 8) => bytes[..8].copy_from_slice(&x.to_ne_bytes()),
            (Value::Vec128(x), 16) => {
                bytes[..8].copy_from_slice(&x.dw0.to_ne_bytes());
                bytes[8..].copy_from_slice(&x.dw1.to_ne_bytes());
            }
            // The table's compile-time check rules every other pair out.
            _ => return Err(EPROTO),
        }
        UserSlice::new(UserPtr::from_addr(self.addr), self.size)
            .writer()
            .write_slice(&bytes[..self.size])?;
        Ok(0)
    }

    /// Reads the register from userspace as the element's value. A word
    /// element that KVM makes a doubleword register takes no value over 32
    /// bits (`-EINVAL`); whether the L1 may set the bits is the element's
    /// own check, made by whoever sets it.
    pub(super) fn take(&self) -> Result<Value> {
        let mut bytes = [0u8; 16];
        UserSlice::new(UserPtr::from_addr(self.addr), self.size)
            .reader()
            .read_slice(&mut bytes[..self.size])?;
        let dw = |at: usize| {
            let mut d = [0u8; 8];
            d.copy_from_slice(&bytes[at..at + 8]);
            u64::from_ne_bytes(d)
        };
        match (self.id.ty(), self.size) {
            (ElemType::Be32, 4) => {
                let mut w = [0u8; 4];
                w.copy_from_slice(&bytes[..4]);
                Ok(Value::Be32(u32::from_ne_bytes(w)))
            }
            (ElemType::Be32, 8) => Ok(Value::Be32(u32::try_from(dw(0)).map_err(|_| EINVAL)?)),
            (ElemType::Be64, 8) => Ok(Value::Be64(dw(0))),
            (ElemType::Vec128, 16) => Ok(Value::Vec128(Vec128 {
                dw0: dw(0),
                dw1: dw(8),
            })),
            // The table's compile-time check rules every other pair out.
            _ => Err(EPROTO),
        }
    }
}
