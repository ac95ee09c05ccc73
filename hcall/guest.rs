// SPDX-License-Identifier: GPL-2.0

//! H_GUEST_CREATE, H_GUEST_CREATE_VCPU, H_GUEST_RUN_VCPU,
//! H_GUEST_COPY_MEMORY and H_GUEST_DELETE.
//!
//! These are the raw calls; `crate::vcpu` owns what they create.

use super::{call, HcallError, Opcode};

/// `continue_token` of H_GUEST_CREATE for a new request (-1).
const CREATE_NO_CONTINUATION: u64 = u64::MAX;

/// H_GUEST_CREATE: asks the L0 for a new guest; returns its id.
pub(crate) fn create() -> Result<u64, HcallError> {
    let ret = call(Opcode::Create, &[0, CREATE_NO_CONTINUATION])?;
    Ok(ret[0])
}

/// H_GUEST_DELETE of one guest (never the delete-all flag: QEMU's L0 frees
/// its guest table on it and uses the freed table afterwards).
pub(crate) fn delete(guest: u64) -> Result<(), HcallError> {
    call(Opcode::Delete, &[0, guest]).map(|_| ())
}

/// Flags of H_GUEST_CREATE_VCPU. The PAPR defines none yet; they are passed
/// to the L0 as given (the C wrapper drops them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct VcpuFlags(pub(crate) u64);

/// H_GUEST_CREATE_VCPU: vCPU `vcpu` of `guest`. QEMU's L0 wants ids in
/// order from 0.
pub(crate) fn create_vcpu(flags: VcpuFlags, guest: u64, vcpu: u64) -> Result<(), HcallError> {
    call(Opcode::CreateVcpu, &[flags.0, guest, vcpu]).map(|_| ())
}

/// H_GUEST_RUN_VCPU: runs the vCPU, its run-input buffer applied first,
/// until it exits; returns the exit reason (the interrupt vector).
pub(crate) fn run_vcpu(guest: u64, vcpu: u64) -> Result<u64, HcallError> {
    let ret = call(Opcode::RunVcpu, &[0, guest, vcpu])?;
    Ok(ret[0])
}

/// H_GUEST_COPY_MEMORY: copies `len` bytes from `src` to `dst` for
/// `guest`. Only where the L0 offers the COPY_MEM capability; QEMU's L0
/// does not implement it and answers H_FUNCTION.
#[allow(
    dead_code,
    reason = "QEMU's L0 lacks it; only the KUnit suite calls it"
)]
pub(crate) fn copy_memory(guest: u64, src: u64, dst: u64, len: u64) -> Result<(), HcallError> {
    call(Opcode::CopyMemory, &[0, guest, src, dst, len]).map(|_| ())
}
