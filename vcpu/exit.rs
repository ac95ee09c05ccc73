// SPDX-License-Identifier: GPL-2.0

//! Why H_GUEST_RUN_VCPU returned: the interrupt vector the L2 exited on.

use crate::gsb::{Id, IdSet};

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

/// Declares [`Exit`]: each named exit once, with its vector, its counter
/// name and the registers the PAPR has the L0 put in the run-output buffer
/// for it; [`Exit::Other`] takes every other vector.
macro_rules! exits {
    ($($(#[$doc:meta])* $variant:ident = $vector:literal, $name:literal, $regs:expr;)*) => {
        /// A typed vCPU exit.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Exit {
            $($(#[$doc])* $variant,)*
            /// Any other vector, as the L0 gave it.
            Other(u64),
        }

        impl Exit {
            /// Every exit with a vector of its own, in counter order.
            pub(crate) const NAMED: [Exit; [$(Exit::$variant),*].len()] = [$(Exit::$variant),*];

            /// The exit for vector `reason`.
            pub(crate) const fn from_reason(reason: u64) -> Exit {
                match reason {
                    $($vector => Exit::$variant,)*
                    other => Exit::Other(other),
                }
            }

            /// The interrupt vector.
            pub(crate) const fn vector(self) -> u64 {
                match self {
                    $(Exit::$variant => $vector,)*
                    Exit::Other(v) => v,
                }
            }

            /// A short name, for logs and counters.
            pub(crate) const fn name(self) -> &'static str {
                match self {
                    $(Exit::$variant => $name,)*
                    Exit::Other(_) => "other",
                }
            }

            /// The registers that tell what happened, as the PAPR has the
            /// L0 put them in the run-output buffer for this exit (with NIA
            /// and MSR for the interrupts). Empty where the L0 sends none.
            pub(crate) const fn registers(self) -> &'static [Id] {
                match self {
                    $(Exit::$variant => $regs,)*
                    Exit::Other(_) => &[],
                }
            }
        }
    };
}

exits! {
    /// The L2 made a hypervisor call (`sc 1`); GPR3-12 hold it.
    HypervisorCall = 0xC00, "hypervisor_call", &HCALL_REGS;
    /// The hypervisor decrementer expired.
    HypervisorDecrementer = 0x980, "hypervisor_decrementer", &[];
    /// An external interrupt.
    External = 0x500, "external", &[];
    /// Hypervisor virtualization interrupt: an interrupt for the L1 that
    /// arrived while the L2 ran (with LPCR[HVICE], as on POWER9 and later).
    HypervisorVirtualization = 0xEA0, "hypervisor_virtualization", &[];
    /// Hypervisor data storage interrupt (HDAR, HDSISR, ASDR).
    DataStorage = 0xE00, "data_storage", &[Id::HDAR, Id::HDSISR, Id::ASDR, Id::NIA, Id::MSR];
    /// Hypervisor instruction storage interrupt (HDAR, ASDR).
    InstructionStorage = 0xE20, "instruction_storage", &[Id::HDAR, Id::ASDR, Id::NIA, Id::MSR];
    /// Hypervisor emulation assistance (HEIR).
    EmulationAssist = 0xE40, "emulation_assist", &[Id::HEIR, Id::NIA, Id::MSR];
    /// Hypervisor facility unavailable (HFSCR).
    FacilityUnavailable = 0xF80, "facility_unavailable", &[Id::HFSCR, Id::NIA, Id::MSR];
}

impl Exit {
    /// How many counters [`Exit::index`] tells apart: one per named exit,
    /// and one that every [`Exit::Other`] shares.
    pub(crate) const KINDS: usize = Exit::NAMED.len() + 1;

    /// Whether the exit is an interrupt for the L1, which arrived while the
    /// L2 ran: nothing the L2 did, so the L2 resumes where it was.
    pub(crate) const fn for_the_host(self) -> bool {
        matches!(self, Exit::External | Exit::HypervisorVirtualization)
    }

    /// [`Exit::registers`] of each exit, by [`Exit::index`], as sets:
    /// what a run output must hold, checked in a few word operations.
    const REQUIRED: [IdSet; Exit::KINDS] = {
        let mut t = [IdSet::new(); Exit::KINDS];
        let mut i = 0;
        while i < Exit::NAMED.len() {
            t[i] = IdSet::of(Exit::NAMED[i].registers());
            i += 1;
        }
        t
    };

    /// [`Exit::registers`] as a set.
    pub(crate) fn required(self) -> &'static IdSet {
        &Exit::REQUIRED[self.index()]
    }

    /// Position in the per-reason counters: the position in
    /// [`Exit::NAMED`], or the last for [`Exit::Other`].
    pub(crate) const fn index(self) -> usize {
        let mut i = 0;
        while i < Exit::NAMED.len() {
            if Exit::NAMED[i].vector() == self.vector() {
                return i;
            }
            i += 1;
        }
        Exit::NAMED.len()
    }
}
