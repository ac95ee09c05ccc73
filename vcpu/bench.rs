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
    timebase, Vcpu,
};
use crate::gsb::{Id, Value};
use crate::hcall::{self, capabilities};
use kernel::{prelude::*, time::delay::fsleep, time::Delta};

/// The most iterations one benchmark may run (each is two exits; QEMU's
/// L0 under TCG takes tens of microseconds per exit).
pub(crate) const MAX_ITERATIONS: u32 = 1_000_000;

/// Iterations between two short sleeps, so that a long benchmark gives
/// the CPU away (a kernel without preemption would otherwise report a
/// soft lockup). The sleeps fall between timed exits.
const YIELD_EVERY: u64 = 1024;
/// How long each of those sleeps is: long enough to really sleep.
const YIELD_FOR: Delta = Delta::from_micros(20);

/// Sleeps briefly every [`YIELD_EVERY`]th `i`.
fn maybe_yield(i: u64) {
    if i % YIELD_EVERY == YIELD_EVERY - 1 {
        fsleep(YIELD_FOR);
    }
}

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
    /// The same exits' L1 work alone (no hcall): [`Vcpu::dry_run`].
    pub(crate) l1_alone_ticks: u64,
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

    /// Average time inside H_GUEST_RUN_VCPU per exit, in ticks.
    pub(crate) fn in_run(&self) -> u64 {
        self.in_run_ticks.checked_div(self.exits).unwrap_or(0)
    }

    /// Average L1 work alone per exit, in ticks.
    pub(crate) fn l1_alone(&self) -> u64 {
        self.l1_alone_ticks.checked_div(self.exits).unwrap_or(0)
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

    /// The share of a round trip spent outside H_GUEST_RUN_VCPU, (round
    /// trip - time inside) / round trip, in hundredths of a percent: the
    /// L1's work, and whatever the L0's switch costs the L1 afterwards
    /// (QEMU's L0 flushes the L1's TLB on every switch).
    pub(crate) fn outside_run_bp(&self) -> u64 {
        let outside = self.round_trip_ticks.saturating_sub(self.in_run_ticks);
        hundredths(outside * 100, self.round_trip_ticks)
    }

    /// The L1's own work per exit, measured alone, as a share of the
    /// round trip, in hundredths of a percent.
    pub(crate) fn l1_alone_bp(&self) -> u64 {
        hundredths(self.l1_alone_ticks * 100, self.round_trip_ticks)
    }
}

/// The value of GPR3 the last run brought, if it did.
fn gpr3(v: &Vcpu) -> Option<u64> {
    match v.cached(Id::GPRS[3]) {
        Some(Value::Be64(x)) => Some(x),
        _ => None,
    }
}

/// Round-trip ticks of the exits of a loop, and of those the time inside
/// H_GUEST_RUN_VCPU.
#[derive(Default)]
struct Ticks {
    round_trip: u64,
    in_run: u64,
}

/// One iteration of payload (a) on `v`, each run made by `run`: the real
/// [`Vcpu::run`], or [`Vcpu::dry_run`] to time the L1 alone. With `check`,
/// fails with `-EIO` unless both exits are the payload's calls with its
/// GPR3 (a dry run re-reads the last real output, so it is not checked).
fn iteration(
    v: &mut Vcpu,
    i: u64,
    check: bool,
    run: fn(&mut Vcpu) -> Result<Exit>,
    t: &mut Ticks,
) -> Result {
    // Exit 1: the L2 adds GPR4 and GPR5 and calls.
    let start = timebase();
    v.set(Id::NIA, Value::Be64(payload::CODE_GRA))?;
    v.set(Id::GPRS[4], Value::Be64(i))?;
    v.set(Id::GPRS[5], Value::Be64(A_Y))?;
    v.set(Id::HDEC_EXPIRY_TB, Value::Be64(start + HDEC_TICKS))?;
    let exit = run(v)?;
    let first = (exit, gpr3(v));
    let mid = timebase();
    t.round_trip += mid.wrapping_sub(start);
    t.in_run += v.last_run_ticks();
    // Exit 2: the L1 answers; the L2 adds one and calls again.
    v.set(Id::GPRS[3], Value::Be64(A_ANSWER + i))?;
    v.set(Id::HDEC_EXPIRY_TB, Value::Be64(mid + HDEC_TICKS))?;
    let exit = run(v)?;
    let second = (exit, gpr3(v));
    t.round_trip += timebase().wrapping_sub(mid);
    t.in_run += v.last_run_ticks();
    let want = (
        (Exit::HypervisorCall, Some(i + A_Y)),
        (Exit::HypervisorCall, Some(A_ANSWER + i + 1)),
    );
    if check && (first, second) != want {
        pr_err!(
            "bench: iteration {}: exits {:?} and {:?}, not payload (a)'s {:?}\n",
            i,
            first,
            second,
            want
        );
        return Err(EIO);
    }
    Ok(())
}

/// Runs payload (a) `iterations` times (1..=[`MAX_ITERATIONS`]) in a
/// guest of its own; then the L1's half of the same exits alone, as
/// often; and a bare H_GUEST_GET_CAPABILITIES as often as there are exits.
/// Fails with `-EIO` the moment an exit is not the one the payload makes,
/// or GPR3 not its value.
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
        exits: 2 * u64::from(iterations),
        ..Report::default()
    };
    for i in 0..r.exits {
        let start = timebase();
        capabilities::get()?;
        r.bare_ticks += timebase().wrapping_sub(start);
        r.bare_calls += 1;
        maybe_yield(i);
    }
    let mut g = payload::guest_with_code(&A_CODE)?;
    let v = payload::vcpu0(&mut g)?;
    let hcalls = hcall::calls_total();
    let mut real = Ticks::default();
    for i in 0..u64::from(iterations) {
        iteration(v, i, true, Vcpu::run, &mut real)?;
        maybe_yield(i);
    }
    r.hcalls = hcall::calls_total() - hcalls;
    r.round_trip_ticks = real.round_trip;
    r.in_run_ticks = real.in_run;
    let mut alone = Ticks::default();
    for i in 0..u64::from(iterations) {
        iteration(v, i, false, dry_hcall, &mut alone)?;
        maybe_yield(i);
    }
    r.l1_alone_ticks = alone.round_trip;
    Ok(r)
}

/// [`Vcpu::dry_run`] as payload (a)'s exits return.
fn dry_hcall(v: &mut Vcpu) -> Result<Exit> {
    v.dry_run(Exit::HypervisorCall.vector())
}
