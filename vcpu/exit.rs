// SPDX-License-Identifier: GPL-2.0

//! Why H_GUEST_RUN_VCPU returned: the interrupt vector the L2 exited on.

use crate::gsb::Id;

/// A typed vCPU exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 0xC00: the L2 made a hypervisor call (`sc 1`); GPR3-12 hold it.
    HypervisorCall,
    /// 0x980: the hypervisor decrementer expired.
    HypervisorDecrementer,
    /// 0x500: an external interrupt.
    External,
    /// 0xE00: hypervisor data storage interrupt (HDAR, HDSISR, ASDR).
    DataStorage,
    /// 0xE20: hypervisor instruction storage interrupt (HDAR, ASDR).
    InstructionStorage,
    /// 0xE40: hypervisor emulation assistance (HEIR).
    EmulationAssist,
    /// 0xF80: hypervisor facility unavailable (HFSCR).
    FacilityUnavailable,
    /// Any other vector, as the L0 gave it.
    Other(u64),
}

/// Vector of [`Exit::HypervisorCall`].
const VEC_HCALL: u64 = 0xC00;
/// Vector of [`Exit::HypervisorDecrementer`].
const VEC_HDEC: u64 = 0x980;
/// Vector of [`Exit::External`].
const VEC_EXTERNAL: u64 = 0x500;
/// Vector of [`Exit::DataStorage`].
const VEC_HDSI: u64 = 0xE00;
/// Vector of [`Exit::InstructionStorage`].
const VEC_HISI: u64 = 0xE20;
/// Vector of [`Exit::EmulationAssist`].
const VEC_HEAI: u64 = 0xE40;
/// Vector of [`Exit::FacilityUnavailable`].
const VEC_HFAC: u64 = 0xF80;

/// GPR3-GPR12: a hypervisor call's number and arguments.
const HCALL_REGS: [Id; 10] = [
    Id::GPRS[3],
    Id::GPRS[4],
    Id::GPRS[5],
    Id::GPRS[6],
    Id::GPRS[7],
    Id::GPRS[8],
    Id::GPRS[9],
    Id::GPRS[10],
    Id::GPRS[11],
    Id::GPRS[12],
];

impl Exit {
    /// How many kinds of exit [`Exit::index`] tells apart.
    pub(crate) const KINDS: usize = 8;

    /// The exit for vector `reason`.
    pub(crate) const fn from_reason(reason: u64) -> Exit {
        match reason {
            VEC_HCALL => Exit::HypervisorCall,
            VEC_HDEC => Exit::HypervisorDecrementer,
            VEC_EXTERNAL => Exit::External,
            VEC_HDSI => Exit::DataStorage,
            VEC_HISI => Exit::InstructionStorage,
            VEC_HEAI => Exit::EmulationAssist,
            VEC_HFAC => Exit::FacilityUnavailable,
            other => Exit::Other(other),
        }
    }

    /// The interrupt vector.
    pub(crate) const fn vector(self) -> u64 {
        match self {
            Exit::HypervisorCall => VEC_HCALL,
            Exit::HypervisorDecrementer => VEC_HDEC,
            Exit::External => VEC_EXTERNAL,
            Exit::DataStorage => VEC_HDSI,
            Exit::InstructionStorage => VEC_HISI,
            Exit::EmulationAssist => VEC_HEAI,
            Exit::FacilityUnavailable => VEC_HFAC,
            Exit::Other(v) => v,
        }
    }

    /// Position in the per-reason counters; every [`Exit::Other`] shares
    /// the last one.
    pub(crate) const fn index(self) -> usize {
        match self {
            Exit::HypervisorCall => 0,
            Exit::HypervisorDecrementer => 1,
            Exit::External => 2,
            Exit::DataStorage => 3,
            Exit::InstructionStorage => 4,
            Exit::EmulationAssist => 5,
            Exit::FacilityUnavailable => 6,
            Exit::Other(_) => 7,
        }
    }

    /// The name of the counter at `index` (see [`Exit::index`]).
    pub(crate) const fn index_name(index: usize) -> &'static str {
        match index {
            0 => "hypervisor_call",
            1 => "hypervisor_decrementer",
            2 => "external",
            3 => "data_storage",
            4 => "instruction_storage",
            5 => "emulation_assist",
            6 => "facility_unavailable",
            _ => "other",
        }
    }

    /// A short name, for logs.
    pub(crate) const fn name(self) -> &'static str {
        Exit::index_name(self.index())
    }

    /// The registers that tell what happened, as the PAPR has the L0 put
    /// them in the run-output buffer for this exit (with NIA and MSR for
    /// the interrupts). Empty where the L0 sends none.
    pub(crate) const fn registers(self) -> &'static [Id] {
        match self {
            Exit::HypervisorCall => &HCALL_REGS,
            Exit::DataStorage => &[Id::HDAR, Id::HDSISR, Id::ASDR, Id::NIA, Id::MSR],
            Exit::InstructionStorage => &[Id::HDAR, Id::ASDR, Id::NIA, Id::MSR],
            Exit::EmulationAssist => &[Id::HEIR, Id::NIA, Id::MSR],
            Exit::FacilityUnavailable => &[Id::HFSCR, Id::NIA, Id::MSR],
            _ => &[],
        }
    }
}
