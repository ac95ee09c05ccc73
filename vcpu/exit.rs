// SPDX-License-Identifier: GPL-2.0

//! Why H_GUEST_RUN_VCPU returned: the interrupt vector the L2 exited on.

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

impl Exit {
    /// The exit for vector `reason`.
    pub(crate) const fn from_reason(reason: u64) -> Exit {
        match reason {
            0xC00 => Exit::HypervisorCall,
            0x980 => Exit::HypervisorDecrementer,
            0x500 => Exit::External,
            0xE00 => Exit::DataStorage,
            0xE20 => Exit::InstructionStorage,
            0xE40 => Exit::EmulationAssist,
            0xF80 => Exit::FacilityUnavailable,
            other => Exit::Other(other),
        }
    }
}
