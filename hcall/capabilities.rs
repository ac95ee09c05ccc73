// SPDX-License-Identifier: GPL-2.0

//! H_GUEST_GET_CAPABILITIES and H_GUEST_SET_CAPABILITIES: which processor
//! modes the L0 can run an L2 in, and which one this L1 uses.

use super::{call, status, HcallError, Opcode, Tally};
use kernel::{bindings, prelude::*};

/// The capability word of H_GUEST_{GET,SET}_CAPABILITIES.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Capabilities(pub(crate) u64);

impl Capabilities {
    /// The L0 implements H_GUEST_COPY_MEMORY.
    pub(crate) const COPY_MEM: u64 = bindings::H_GUEST_CAP_COPY_MEM as u64;
    /// The L0 can run an L2 in POWER9 mode.
    pub(crate) const POWER9: u64 = bindings::H_GUEST_CAP_POWER9;
    /// The L0 can run an L2 in POWER10 mode.
    pub(crate) const POWER10: u64 = bindings::H_GUEST_CAP_POWER10;
    /// The L0 can run an L2 in POWER11 mode.
    pub(crate) const POWER11: u64 = bindings::H_GUEST_CAP_POWER11;

    /// Whether the L0 implements H_GUEST_COPY_MEMORY.
    pub(crate) fn copy_memory(self) -> bool {
        self.0 & Self::COPY_MEM != 0
    }

    /// The best processor mode offered, newest first.
    pub(crate) fn best_mode(self) -> Option<ProcessorMode> {
        ProcessorMode::BEST_FIRST
            .into_iter()
            .find(|m| self.0 & m.capability() != 0)
    }
}

/// A processor mode an L2 can run in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProcessorMode {
    /// Power ISA v3.0B (POWER9).
    Power9,
    /// Power ISA v3.1 (POWER10).
    Power10,
    /// Power ISA v3.1B (POWER11).
    Power11,
}

impl ProcessorMode {
    /// Every mode, the most capable first.
    pub(crate) const BEST_FIRST: [ProcessorMode; 3] = [
        ProcessorMode::Power11,
        ProcessorMode::Power10,
        ProcessorMode::Power9,
    ];

    /// The capability bit that offers or selects this mode.
    pub(crate) const fn capability(self) -> u64 {
        match self {
            ProcessorMode::Power9 => Capabilities::POWER9,
            ProcessorMode::Power10 => Capabilities::POWER10,
            ProcessorMode::Power11 => Capabilities::POWER11,
        }
    }

    /// The name used in logs.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            ProcessorMode::Power9 => "POWER9",
            ProcessorMode::Power10 => "POWER10",
            ProcessorMode::Power11 => "POWER11",
        }
    }
}

/// H_GUEST_GET_CAPABILITIES with no flags.
pub(crate) fn get() -> Result<Capabilities, HcallError> {
    // SAFETY: H_GUEST_GET_CAPABILITIES passes no address.
    let ret = unsafe { call(Opcode::GetCapabilities, &[0], &mut Tally::default()) }?;
    Ok(Capabilities(ret[0]))
}

/// What [`set`] achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SetOutcome {
    /// The L0 took the mode.
    Selected,
    /// The L0 had its capabilities set already (H_STATE): it accepts them
    /// once per machine, so an earlier load of this module set them.
    AlreadySet,
}

/// H_GUEST_SET_CAPABILITIES selecting `mode`, with no flags.
pub(crate) fn set(mode: ProcessorMode) -> Result<SetOutcome, HcallError> {
    // SAFETY: H_GUEST_SET_CAPABILITIES passes no address.
    match unsafe {
        call(
            Opcode::SetCapabilities,
            &[0, mode.capability()],
            &mut Tally::default(),
        )
    } {
        Ok(_) => Ok(SetOutcome::Selected),
        Err(e) if e.status.0 == status::H_STATE => Ok(SetOutcome::AlreadySet),
        Err(e) => Err(e),
    }
}

/// The outcome of [`negotiate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Negotiated {
    /// What the L0 offered.
    pub(crate) offered: Capabilities,
    /// The mode selected.
    pub(crate) mode: ProcessorMode,
    /// Whether this call set it or found it set.
    pub(crate) outcome: SetOutcome,
}

/// Asks the L0 what it offers and selects the best processor mode.
///
/// Fails with `-ENODEV` where there is no L0 to ask (not an LPAR), where
/// the L0 does not implement the nested-guest API (`H_FUNCTION`), or where
/// it offers no processor mode this module knows; each logs why.
pub(crate) fn negotiate() -> Result<Negotiated> {
    if !crate::platform::running_as_lpar() {
        pr_err!("not running as a PAPR logical partition: no L0 to host guests\n");
        return Err(ENODEV);
    }
    let offered = match get() {
        Ok(c) => c,
        Err(e) if e.status.0 == status::H_FUNCTION => {
            pr_err!("the L0 does not implement the PAPR nested-guest API (H_GUEST_GET_CAPABILITIES: H_FUNCTION)\n");
            return Err(ENODEV);
        }
        Err(e) => {
            pr_err!(
                "{} failed: {} ({})\n",
                e.opcode.name(),
                e.status.name(),
                e.status.0
            );
            return Err(e.into());
        }
    };
    let Some(mode) = offered.best_mode() else {
        pr_err!(
            "the L0 offers no processor mode this module supports (capabilities {:#018x})\n",
            offered.0
        );
        return Err(ENODEV);
    };
    let outcome = set(mode).inspect_err(|e| {
        pr_err!(
            "{}({}) failed: {} ({}), r4 {}\n",
            e.opcode.name(),
            mode.name(),
            e.status.name(),
            e.status.0,
            e.detail
        );
    })?;
    Ok(Negotiated {
        offered,
        mode,
        outcome,
    })
}
