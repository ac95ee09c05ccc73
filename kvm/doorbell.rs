// SPDX-License-Identifier: GPL-2.0

//! Doorbells between the threads of a virtual core, emulated as kvm-hv
//! emulates them on POWER9 and later (`kvmppc_emulate_doorbell_instr()`):
//! the L2 runs without HFSCR\[MSGP\] ([`L2_HFSCR`]), so its msgsndp,
//! msgclrp and mfspr of DPDES or TIR trap to the L1 as a hypervisor
//! facility unavailable interrupt; the instruction is read through the
//! L2's translation and decoded ([`crate::emul::doorbell`]), and done
//! here: msgsndp rings the target thread's doorbell ([`Wake`]), which the
//! target takes at its next entry with MSR\[EE\] set as a directed
//! privileged doorbell interrupt (0xA00), delivered by the L1 as the
//! external interrupt is, since QEMU's L0 neither raises the interrupt
//! from the DPDES element nor implements LPCR\[MER\].
//!
//! A Linux L2 uses msgsndp for IPIs between SMT siblings with XICS under
//! KVM (`pSeries_smp_probe()`): QEMU's `-smp N,threads=T -M
//! pseries,ic-mode=xics`; with XIVE it sends none.
//!
//! QEMU's L0 (through 11.x) does not enforce HFSCR for its pseries
//! machine's L2s: its facility checks (`helper_hfscr_facility_check()`)
//! need an MSR\[HV\] its virtual hypervisor never allows, so there an
//! L2's msgsndp does not trap and TCG runs it as a doorbell for the L0
//! vCPU's own thread. The emulation here is for an L0 that enforces
//! HFSCR, as kvm-hv's is; on QEMU's L0 it is not reached, on ours or on
//! kvm-hv.

use super::{
    irq::Wake,
    mmio,
    regs::msr::{MSR_IR, MSR_LE},
    vcpu::reg_fetch,
    vm::Vm,
};
use crate::emul::doorbell::{self, Doorbell, HFSCR_MSGP};
use crate::gsb::{Id, Value};
use crate::vcpu::SharedVcpu;
use kernel::prelude::*;

pub(super) use crate::emul::doorbell::HFSCR_IC_MSGP;

/// HFSCR bits.
const HFSCR_FP: u64 = 1 << 0;
const HFSCR_VECVSX: u64 = 1 << 1;
const HFSCR_DSCR: u64 = 1 << 2;
const HFSCR_PM: u64 = 1 << 3;
const HFSCR_BHRB: u64 = 1 << 4;
const HFSCR_EBB: u64 = 1 << 7;
const HFSCR_TAR: u64 = 1 << 8;
const HFSCR_PREFIX: u64 = 1 << 13;

/// The HFSCR every vCPU runs with: kvm-hv's for a POWER10 L2 (FP,
/// VMX/VSX, DSCR, the PMU, BHRB, EBB, TAR, prefixed instructions), without
/// [`HFSCR_MSGP`]. (kvm-hv also clears PM and EBB until first use, to
/// switch their state lazily; the L0 here switches all of it.)
pub(super) const L2_HFSCR: u64 = HFSCR_FP
    | HFSCR_VECVSX
    | HFSCR_DSCR
    | HFSCR_PM
    | HFSCR_BHRB
    | HFSCR_EBB
    | HFSCR_TAR
    | HFSCR_PREFIX;
const _: () = assert!(L2_HFSCR & HFSCR_MSGP == 0);

/// Emulates the doorbell instruction at the NIA of vCPU `id` (`vcpu`, its
/// wake-ups `wake`) of `vm`, which trapped with HFSCR's cause
/// [`HFSCR_IC_MSGP`], and steps past it: whether it was one. Anything
/// else (no instruction there, another instruction) is left to the
/// caller, as kvm-hv leaves it (it gives the L2 a program interrupt; the
/// exit goes to the VMM here). Takes the vCPU's lock and the VM's, never
/// both at once.
pub(super) fn emulate(vm: &Vm, vcpu: &SharedVcpu, id: u64, wake: &Wake) -> Result<bool> {
    let (nia, msr, pid) = {
        let mut v = vcpu.lock();
        (
            reg_fetch(&mut v, Id::NIA)?,
            reg_fetch(&mut v, Id::MSR)?,
            reg_fetch(&mut v, Id::PIDR)? as u32,
        )
    };
    let Ok(insn) = vm.fetch_instruction(nia, pid, msr & MSR_IR != 0, msr & MSR_LE != 0) else {
        return Ok(false);
    };
    let Some(op) = doorbell::decode(insn) else {
        return Ok(false);
    };
    let threads = vm.smt();
    let thread = id % threads;
    let first = id - thread;
    let gpr = |r: u8| Id::GPRS[usize::from(r) & 31];
    let mut out = None;
    match op {
        Doorbell::Send { rb } => {
            let arg = reg_fetch(&mut vcpu.lock(), gpr(rb))?;
            if let Some(t) = doorbell::target(arg, threads) {
                if let Some(w) = vm.wake_of(first + t) {
                    w.ring_doorbell();
                }
            }
        }
        Doorbell::Clear { rb } => {
            if doorbell::is_server(reg_fetch(&mut vcpu.lock(), gpr(rb))?) {
                wake.clear_doorbell();
            }
        }
        Doorbell::ReadDpdes { rt } => out = Some((gpr(rt), vm.dpdes(first))),
        Doorbell::ReadTir { rt } => out = Some((gpr(rt), thread)),
    }
    let next = mmio::past(nia, msr);
    let mut v = vcpu.lock();
    match out {
        Some((reg, value)) => {
            v.set_all(&[(Id::NIA, Value::Be64(next)), (reg, Value::Be64(value))])?
        }
        None => v.set(Id::NIA, Value::Be64(next))?,
    }
    Ok(true)
}
