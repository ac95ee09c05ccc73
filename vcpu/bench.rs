// SPDX-License-Identifier: GPL-2.0

//! The exit benchmark: payload (a) run for N iterations, measured in
//! timebase ticks, never asserted on (debugfs file `bench`).
//!
//! Each iteration is payload (a) whole: the L1 sets NIA, GPR4, GPR5 and
//! the HDEC expiry, the L2 adds and makes a hypervisor call (exit 1), the
//! L1 reads GPR3 and answers in GPR3, the L2 adds one and calls again
//! (exit 2), and the L1 checks GPR3. Two exits, and, when all goes as
//! designed, two hypervisor calls: the state the L1 sets travels in the
//! run-input buffer, the registers it reads come in the run-output buffer.
//!
//! The round trip of an exit is the L1's time from setting the vCPU up for
//! a run to having decoded and checked the exit. The reference is a bare
//! H_GUEST_GET_CAPABILITIES round trip, timed in the same way from the
//! same boot. Both are averaged over the whole run.

use super::{
    exit::Exit,
    payload::{self, A_ANSWER, A_CODE, A_Y, HDEC_TICKS},
    timebase,
};
use crate::gsb::{Id, Value};
use crate::hcall::{self, capabilities};
use kernel::prelude::*;

/// The most iterations one benchmark may run (each is two exits; QEMU's
/// L0 under TCG takes tens of microseconds per exit).
pub(crate) const MAX_ITERATIONS: u32 = 1_000_000;

/// What one benchmark measured. Ticks are timebase ticks, summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Report {
    /// Iterations of payload (a).
    pub(crate) iterations: u32,
    /// Exits handled.
    pub(crate) exits: u64,
    /// Hypervisor calls made for them, all kinds.
    pub(crate) hcalls: u64,
    /// Round trips of all exits.
    pub(crate) round_trip_ticks: u64,
    /// Of which inside H_GUEST_RUN_VCPU (the L0 and the L2).
    pub(crate) in_run_ticks: u64,
    /// Bare H_GUEST_GET_CAPABILITIES round trips made.
    pub(crate) bare_calls: u64,
    /// Their ticks.
    pub(crate) bare_ticks: u64,
}

/// `num / den` in hundredths, rounded down (0 when `den` is 0). 64-bit
/// arithmetic (the kernel has no 128-bit division); `num` is at most a
/// tick count over seconds, far from overflowing when multiplied by 100.
pub(crate) fn hundredths(num: u64, den: u64) -> u64 {
    num.saturating_mul(100).checked_div(den).unwrap_or(0)
}

impl Report {
    /// Hypervisor calls per exit, in hundredths (target: 100).
    pub(crate) fn hcalls_per_exit_x100(&self) -> u64 {
        hundredths(self.hcalls, self.exits)
    }

    /// Average round trip of an exit, in ticks.
    pub(crate) fn round_trip(&self) -> u64 {
        self.round_trip_ticks.checked_div(self.exits).unwrap_or(0)
    }

    /// Average bare H_GUEST_GET_CAPABILITIES round trip, in ticks.
    pub(crate) fn bare(&self) -> u64 {
        self.bare_ticks.checked_div(self.bare_calls).unwrap_or(0)
    }

    /// The L1 overhead per exit, (round trip - bare hcall) /
    /// round trip, in hundredths of a percent. Its numerator holds the L1's
    /// own work and everything the L0 does for a run beyond a bare call.
    pub(crate) fn overhead_bp(&self) -> u64 {
        let rt = self.round_trip();
        hundredths(rt.saturating_sub(self.bare()) * 100, rt)
    }

    /// The L1's own share of a round trip, (round trip - time inside
    /// H_GUEST_RUN_VCPU) / round trip, in hundredths of a percent.
    pub(crate) fn l1_share_bp(&self) -> u64 {
        let outside = self.round_trip_ticks.saturating_sub(self.in_run_ticks);
        hundredths(outside * 100, self.round_trip_ticks)
    }
}

/// The value of GPR3 the last run brought, if it did.
fn gpr3(v: &super::Vcpu) -> Option<u64> {
    match v.cached(Id::GPRS[3]) {
        Some(Value::Be64(x)) => Some(x),
        _ => None,
    }
}

/// Runs payload (a) `iterations` times (1..=[`MAX_ITERATIONS`]) in a
/// guest of its own, and a bare H_GUEST_GET_CAPABILITIES as often as
/// there are exits. Fails with `-EIO` the moment an exit is not the one
/// the payload makes, or GPR3 not its value.
pub(crate) fn run(iterations: u32) -> Result<Report> {
    if !(1..=MAX_ITERATIONS).contains(&iterations) {
        pr_err!(
            "bench: {} iterations: want 1..={}\n",
            iterations,
            MAX_ITERATIONS
        );
        return Err(EINVAL);
    }
    let mut r = Report {
        iterations,
        ..Report::default()
    };
    let exits = 2 * u64::from(iterations);
    for _ in 0..exits {
        let start = timebase();
        capabilities::get()?;
        r.bare_ticks += timebase().wrapping_sub(start);
        r.bare_calls += 1;
    }
    let mut g = payload::guest_with_code(&A_CODE)?;
    let v = payload::vcpu0(&mut g)?;
    let hcalls = hcall::calls_total();
    for i in 0..u64::from(iterations) {
        // Exit 1: the L2 adds GPR4 and GPR5 and calls.
        let start = timebase();
        v.set(Id::NIA, Value::Be64(payload::CODE_GRA))?;
        v.set(Id::GPRS[4], Value::Be64(i))?;
        v.set(Id::GPRS[5], Value::Be64(A_Y))?;
        v.set(Id::HDEC_EXPIRY_TB, Value::Be64(start + HDEC_TICKS))?;
        let exit = v.run()?;
        let first_ok = exit == Exit::HypervisorCall && gpr3(v) == Some(i + A_Y);
        let mid = timebase();
        r.round_trip_ticks += mid.wrapping_sub(start);
        r.in_run_ticks += v.last_run_ticks();
        // Exit 2: the L1 answers; the L2 adds one and calls again.
        v.set(Id::GPRS[3], Value::Be64(A_ANSWER + i))?;
        v.set(Id::HDEC_EXPIRY_TB, Value::Be64(mid + HDEC_TICKS))?;
        let exit2 = v.run()?;
        let second_ok = exit2 == Exit::HypervisorCall && gpr3(v) == Some(A_ANSWER + i + 1);
        r.round_trip_ticks += timebase().wrapping_sub(mid);
        r.in_run_ticks += v.last_run_ticks();
        r.exits += 2;
        if !first_ok || !second_ok {
            pr_err!(
                "bench: iteration {}: exits {:#x}, {:#x} with GPR3 {:?}: not payload (a)'s\n",
                i,
                exit.vector(),
                exit2.vector(),
                gpr3(v)
            );
            return Err(EIO);
        }
    }
    r.hcalls = hcall::calls_total() - hcalls;
    Ok(r)
}
