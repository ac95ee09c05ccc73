// SPDX-License-Identifier: GPL-2.0

//! The capability probe, against the real L0 and on its own logic.

use kernel::prelude::*;

#[kunit_tests(rust_papr_nested_capabilities)]
mod tests {
    use crate::hcall::capabilities::{self, Capabilities, ProcessorMode, SetOutcome};
    use crate::hcall::{status, HvStatus, Tally};
    use crate::platform::running_as_lpar;
    use kernel::prelude::*;

    /// The L1 of the test configuration is a pseries LPAR.
    #[test]
    fn runs_as_lpar() {
        assert!(running_as_lpar());
    }

    /// QEMU's L0 with a POWER10 L1 offers POWER10 and POWER9 modes and
    /// nothing else (no COPY_MEMORY, no POWER11).
    #[test]
    fn l0_offers_power10_and_power9() -> Result {
        let caps = capabilities::get()?;
        assert_eq!(caps.0, Capabilities::POWER10 | Capabilities::POWER9);
        assert_eq!(caps.best_mode(), Some(ProcessorMode::Power10));
        Ok(())
    }

    /// Negotiation picks POWER10; the L0 takes capabilities once per
    /// machine, so a second negotiation finds them set and still succeeds.
    #[test]
    fn negotiate_twice() -> Result {
        let first = capabilities::negotiate()?;
        assert_eq!(first.mode, ProcessorMode::Power10);
        let second = capabilities::negotiate()?;
        assert_eq!(second.mode, ProcessorMode::Power10);
        assert_eq!(second.outcome, SetOutcome::AlreadySet);
        Ok(())
    }

    /// Flags the L0 does not know are refused, not ignored: QEMU answers
    /// H_PARAMETER, which becomes -EINVAL.
    #[test]
    fn unknown_flags_refused() {
        let op = crate::hcall::Opcode::GetCapabilities;
        // SAFETY: H_GUEST_GET_CAPABILITIES passes no address.
        let e = unsafe { crate::hcall::call(op, &[1], &mut Tally::default()) }
            .err()
            .map(|e| e.status);
        assert_eq!(e, Some(HvStatus(status::H_PARAMETER)));
        assert_eq!(HvStatus(status::H_PARAMETER).to_errno(), EINVAL);
    }

    /// The best mode is the newest offered; unknown and non-mode bits are
    /// not modes.
    #[test]
    fn best_mode_order() {
        let all = Capabilities::POWER9 | Capabilities::POWER10 | Capabilities::POWER11;
        assert_eq!(Capabilities(all).best_mode(), Some(ProcessorMode::Power11));
        assert_eq!(
            Capabilities(Capabilities::POWER9).best_mode(),
            Some(ProcessorMode::Power9)
        );
        assert_eq!(Capabilities(0).best_mode(), None);
        assert_eq!(Capabilities(Capabilities::COPY_MEM | 1).best_mode(), None);
    }

    /// Every PAPR status maps to a negative errno, never to success.
    #[test]
    fn status_to_errno() {
        assert_eq!(HvStatus(status::H_FUNCTION).to_errno(), EOPNOTSUPP);
        assert_eq!(HvStatus(status::H_P2).to_errno(), EINVAL);
        assert_eq!(HvStatus(status::H_NO_MEM).to_errno(), ENOMEM);
        assert_eq!(HvStatus(status::H_STATE).to_errno(), EBUSY);
        assert_eq!(HvStatus(-300).to_errno(), EOPNOTSUPP);
        assert_eq!(HvStatus(-12345).to_errno(), EIO);
        for rc in -600i64..=10000 {
            if rc != status::H_SUCCESS {
                assert!(HvStatus(rc).to_errno().to_errno() < 0);
            }
        }
    }
}
