// SPDX-License-Identifier: GPL-2.0

//! H_GUEST_CREATE, H_GUEST_CREATE_VCPU, H_GUEST_RUN_VCPU,
//! H_GUEST_COPY_MEMORY and H_GUEST_DELETE.
//!
//! These are the raw calls; `crate::vcpu` owns what they create.

use super::{call, hv_once, retrying, Args, HcallError, Opcode, Returns, Tally};

/// `continue_token` of H_GUEST_CREATE for a new request (-1).
pub(crate) const CREATE_NO_CONTINUATION: u64 = u64::MAX;

/// H_GUEST_CREATE: asks the L0 for a new guest; returns its id.
pub(crate) fn create() -> Result<u64, HcallError> {
    // SAFETY: H_GUEST_CREATE passes no address.
    create_with(|a| unsafe { hv_once(Opcode::Create, a) })
}

/// H_GUEST_CREATE through `hv` (one attempt at the L0; the KUnit suite
/// passes a pretend one). On `H_BUSY` or a long-busy hint the L0 returns
/// a continuation token in r4, and the PAPR has the call made again with
/// it, not with a new request: each retry passes the token the last
/// attempt returned.
pub(crate) fn create_with(hv: impl FnMut(&Args) -> (i64, Returns)) -> Result<u64, HcallError> {
    let args = [0, CREATE_NO_CONTINUATION, 0, 0, 0, 0];
    let ret = retrying(
        Opcode::Create,
        args,
        &mut Tally::default(),
        hv,
        |args, busy| args[1] = busy[0],
    )?;
    Ok(ret[0])
}

/// H_GUEST_DELETE of one guest (never the delete-all flag: QEMU's L0 frees
/// its guest table on it and uses the freed table afterwards).
pub(crate) fn delete(guest: u64) -> Result<(), HcallError> {
    // SAFETY: H_GUEST_DELETE passes no address; afterwards the L0 uses
    // none it was given for the guest.
    unsafe { call(Opcode::Delete, &[0, guest], &mut Tally::default()) }.map(|_| ())
}

/// Flags of H_GUEST_CREATE_VCPU. The PAPR defines none yet; they are passed
/// to the L0 as given (the C wrapper drops them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct VcpuFlags(pub(crate) u64);

/// H_GUEST_CREATE_VCPU: vCPU `vcpu` of `guest`. QEMU's L0 wants ids in
/// order from 0.
pub(crate) fn create_vcpu(flags: VcpuFlags, guest: u64, vcpu: u64) -> Result<(), HcallError> {
    // SAFETY: H_GUEST_CREATE_VCPU passes no address.
    unsafe {
        call(
            Opcode::CreateVcpu,
            &[flags.0, guest, vcpu],
            &mut Tally::default(),
        )
    }
    .map(|_| ())
}

/// H_GUEST_RUN_VCPU: runs the vCPU, its run-input buffer applied first,
/// until it exits; returns the exit reason (the interrupt vector).
///
/// # Safety
///
/// The run buffers registered for the vCPU are [`super::mem::L0Mem`]s that
/// stay allocated for the call and are not otherwise accessed during it,
/// and the run-input buffer holds no element that names L1 memory (the L0
/// applies it as a SET).
pub(crate) unsafe fn run_vcpu(guest: u64, vcpu: u64, tally: &mut Tally) -> Result<u64, HcallError> {
    // SAFETY: the caller vouches for the memory the L0 uses in the run.
    let ret = unsafe { call(Opcode::RunVcpu, &[0, guest, vcpu], tally) }?;
    Ok(ret[0])
}

/// H_GUEST_COPY_MEMORY: copies `len` bytes from `src` to `dst` for
/// `guest`. Only where the L0 offers the COPY_MEM capability; QEMU's L0
/// does not implement it and answers H_FUNCTION.
///
/// # Safety
///
/// `src` and `dst` are real addresses of memory the L0 may read and write
/// for `len` bytes during the call.
#[cfg_attr(
    not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST),
    expect(
        dead_code,
        reason = "QEMU's L0 lacks it; only the KUnit suite calls it"
    )
)]
pub(crate) unsafe fn copy_memory(
    guest: u64,
    src: u64,
    dst: u64,
    len: u64,
) -> Result<(), HcallError> {
    // SAFETY: the caller vouches for `src` and `dst`.
    unsafe {
        call(
            Opcode::CopyMemory,
            &[0, guest, src, dst, len],
            &mut Tally::default(),
        )
    }
    .map(|_| ())
}
