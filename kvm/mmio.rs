// SPDX-License-Identifier: GPL-2.0

//! `KVM_EXIT_MMIO`: an L2 load or store to a guest real address outside
//! every memory slot, which the L0 reports as a hypervisor data storage
//! interrupt. As kvm-hv does (`kvmppc_hv_emulate_mmio()`), the
//! instruction is read through the L2's own translation and decoded
//! ([`crate::emul`], pure logic, host-tested and fuzzed); a store that
//! matches a `KVM_IOEVENTFD` binding signals it and completes here, any
//! other access goes to the VMM, and the next `KVM_RUN` completes it: a
//! load's data into its target register, then past the instruction (and
//! RA updated for the update forms).
//!
//! An access by an instruction that is not a load or store of a general
//! register gets what kvm-hv gives it (`kvmppc_emulate_mmio()`,
//! `EMULATE_FAIL`): a data storage interrupt in the L2, DAR the address,
//! DSISR "bad access to CI or G" (and "store" for a store), SRR0 the
//! instruction; a Linux L2 sends its program SIGBUS. What cannot be
//! looked at (no instruction at NIA, a fault inside a slot) is
//! `KVM_EXIT_INTERNAL_ERROR` with `KVM_INTERNAL_ERROR_EMULATION`, never a
//! hang: `data[0]` the vector, `data[1]` HDAR, `data[2]` NIA, `data[3]`
//! `u64::MAX`, where no instruction was read.

use super::{
    regs::msr::{MSR_IR, MSR_LE, MSR_SF},
    vcpu::reg_fetch,
    vm::Vm,
};
use crate::emul::{self, Kind, MemOp};
use crate::gsb::{Id, Value};
use crate::vcpu::{SharedVcpu, Vcpu};
use kernel::{bindings, prelude::*, uapi};

/// The vector of the exit being emulated.
const DATA_STORAGE: u64 = 0xE00;

/// What the L0 said of the fault.
pub(super) struct Fault {
    /// The effective address of the access.
    pub(super) hdar: u64,
    /// Its guest real address: on POWER9 its page, on QEMU's L0 all of it;
    /// the page offset is taken from HDAR, as kvm-hv does.
    pub(super) asdr: u64,
    pub(super) nia: u64,
    pub(super) msr: u64,
}

/// An access the VMM completes.
#[derive(Clone, Copy)]
pub(super) struct Access {
    op: MemOp,
    /// The effective address, for the update forms.
    ea: u64,
    /// The L2's byte order at the access (MSR[LE] clear).
    big_endian: bool,
}

/// How an emulation ended.
pub(super) enum Outcome {
    /// A store an ioeventfd took: completed, the L2 goes on.
    Done,
    /// The VMM completes `Access`, described to it by the `mmio` exit.
    Exit(Access, uapi::kvm_run__bindgen_ty_1__bindgen_ty_6),
    /// An instruction no emulator takes: the L2 gets a data storage
    /// interrupt with this DSISR.
    BadAccess(u32),
    /// Cannot be looked at: `data` of the internal error.
    Fail([u64; 4]),
}

/// Emulates the access of `fault` for vCPU `vcpu` of `vm`. Takes the VM's
/// lock and the vCPU's, never both at once.
pub(super) fn emulate(vm: &Vm, vcpu: &SharedVcpu, fault: &Fault) -> Result<Outcome> {
    let gra = (fault.asdr & !0xfff) | (fault.hdar & 0xfff);
    let fail = || {
        Ok(Outcome::Fail([
            DATA_STORAGE,
            fault.hdar,
            fault.nia,
            u64::MAX,
        ]))
    };
    if vm.is_guest_memory(gra) {
        // A fault on memory the L2 has mapped is nothing to emulate.
        return fail();
    }
    let pid = reg_fetch(&mut vcpu.lock(), Id::PIDR)? as u32;
    let insn = match vm.fetch_instruction(
        fault.nia,
        pid,
        fault.msr & MSR_IR != 0,
        fault.msr & MSR_LE != 0,
    ) {
        Ok(i) => i,
        Err(_) => return fail(),
    };
    let Ok(op) = emul::decode(insn) else {
        let hdsisr = reg_fetch(&mut vcpu.lock(), Id::HDSISR)? as u32;
        return Ok(Outcome::BadAccess(
            bindings::DSISR_BADACCESS | hdsisr & bindings::DSISR_ISSTORE,
        ));
    };
    let access = Access {
        op,
        ea: fault.hdar,
        big_endian: fault.msr & MSR_LE == 0,
    };
    let mut m = uapi::kvm_run__bindgen_ty_1__bindgen_ty_6 {
        phys_addr: gra,
        len: op.size.into(),
        ..Default::default()
    };
    if op.kind == Kind::Store {
        let value = reg_fetch(&mut vcpu.lock(), Id::GPRS[usize::from(op.rs_rt) & 31])?;
        let bytes = emul::store_bytes(&op, value, access.big_endian);
        if vm.ioeventfd_write(gra, &bytes, op.size.into()) {
            complete(&mut vcpu.lock(), &access, &[0; 8])?;
            return Ok(Outcome::Done);
        }
        m.data = bytes;
        m.is_write = 1;
    }
    Ok(Outcome::Exit(access, m))
}

/// Completes `a` in the vCPU's registers: a load's value from `data` (the
/// bytes as the device gave them) into RT; RA updated for the update
/// forms; NIA past the instruction. They go to the L0 with the next run.
pub(super) fn complete(v: &mut Vcpu, a: &Access, data: &[u8; 8]) -> Result {
    let nia = reg_fetch(v, Id::NIA)?;
    let next = past(nia, reg_fetch(v, Id::MSR)?);
    let mut out = [(Id::NIA, Value::Be64(next)); 3];
    let mut n = 1;
    if a.op.kind == Kind::Load {
        let value = emul::load_value(&a.op, data, a.big_endian);
        out[n] = (Id::GPRS[usize::from(a.op.rs_rt) & 31], Value::Be64(value));
        n += 1;
    }
    if a.op.update {
        out[n] = (Id::GPRS[usize::from(a.op.ra) & 31], Value::Be64(a.ea));
        n += 1;
    }
    v.set_all(&out[..n])
}

/// The address after the (word) instruction at `nia`, in the L2's mode
/// `msr`: 32 bits wide where MSR[SF] is clear.
pub(super) fn past(nia: u64, msr: u64) -> u64 {
    if msr & MSR_SF != 0 {
        nia.wrapping_add(4)
    } else {
        nia.wrapping_add(4) & 0xffff_ffff
    }
}
