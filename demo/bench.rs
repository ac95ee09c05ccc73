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
//! a run to having decoded and checked the exit; of it, the time inside
//! H_GUEST_RUN_VCPU ([`Vcpu::enter`]), and the L1's own run steps
//! ([`Vcpu::begin_run`] and [`Vcpu::end_run`]: the run input written, the
//! run output checked and taken), each timed in the real run. The
//! reference is a bare H_GUEST_GET_CAPABILITIES round trip, timed in the
//! same way from the same boot. All are averaged over the whole run.
//!
//! Then the same iterations again with [`Vcpu::dry_run`] in place of each
//! run: the L1's half of the exits alone (`l1_alone`), one after the
//! other, with no switch to the L2 between them. QEMU's L0 flushes the
//! L1's TLB on every switch, so each page the L1 touches after a real exit
//! costs a refill; the dry run's figure is the L1's code without that.
//!
//! Hypervisor calls per exit are the benchmark vCPU's own count, so other
//! users of the module (payloads run meanwhile, another benchmark) do not
//! show in it. The benchmark stops with `-EINTR` within one iteration of
//! a signal to the task that runs it.

use crate::demo::payload::{self, A_ANSWER, A_CODE, A_Y, HDEC_TICKS};
use crate::gsb::{Id, Value};
use crate::hcall::capabilities;
use crate::platform::{check_signal, timebase};
use crate::vcpu::{exit::Exit, Vcpu};
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

/// Between two iterations: `-EINTR` if the task has a signal pending, and
/// a short sleep every [`YIELD_EVERY`]th `i`.
fn between(i: u64) -> Result {
    check_signal()?;
    if i % YIELD_EVERY == YIELD_EVERY - 1 {
        fsleep(YIELD_FOR);
    }
    Ok(())
}

/// What one benchmark measured. Ticks are timebase ticks, summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Report {
    /// Iterations of payload (a).
    pub(crate) iterations: u32,
    /// Exits handled: two per iteration, and any interrupt for the L1
    /// that came in between (the L2 resumed after it).
    pub(crate) exits: u64,
    /// Hypervisor calls the benchmark's vCPU made for them, all kinds.
    pub(crate) hcalls: u64,
    /// Round trips of all exits.
    pub(crate) round_trip_ticks: u64,
    /// Of which inside H_GUEST_RUN_VCPU (the L0 and the L2).
    pub(crate) in_run_ticks: u64,
    /// Of which in the L1's run steps: [`Vcpu::begin_run`] and
    /// [`Vcpu::end_run`].
    pub(crate) l1_work_ticks: u64,
    /// The same iterations made with [`Vcpu::dry_run`]: the L1's half of
    /// the exits alone, each after the last (no switch to the L2 between
    /// them, so a warm TLB): what the L1's code costs, apart from what the
    /// L0's switch makes it cost.
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

    /// Average L1 run-step work per exit, in ticks.
    pub(crate) fn l1_work(&self) -> u64 {
        self.l1_work_ticks.checked_div(self.exits).unwrap_or(0)
    }

    /// Average L1 half of an exit made alone, in ticks.
    pub(crate) fn l1_alone(&self) -> u64 {
        // Two per iteration: no interrupt for the L1 comes in a dry run.
        self.l1_alone_ticks
            .checked_div(2 * u64::from(self.iterations))
            .unwrap_or(0)
    }

    /// Average bare H_GUEST_GET_CAPABILITIES round trip, in ticks.
    pub(crate) fn bare(&self) -> u64 {
        self.bare_ticks.checked_div(self.bare_calls).unwrap_or(0)
    }

    /// The L1 overhead per exit, (round trip - bare hcall) / round trip,
    /// in hundredths of a percent. Its numerator holds the L1's own work
    /// and everything the L0 does for a run beyond a bare call.
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

    /// The L1's run steps as a share of the round trip, in hundredths of a
    /// percent.
    pub(crate) fn l1_work_bp(&self) -> u64 {
        hundredths(self.l1_work_ticks * 100, self.round_trip_ticks)
    }

    /// The L1's half of an exit made alone as a share of the real round
    /// trip, in hundredths of a percent.
    pub(crate) fn l1_alone_bp(&self) -> u64 {
        hundredths(self.l1_alone() * 100, self.round_trip())
    }
}

/// The value of GPR3 the last run brought, if it did.
fn gpr3(v: &Vcpu) -> Option<u64> {
    match v.cached(Id::GPRS[3]) {
        Some(Value::Be64(x)) => Some(x),
        _ => None,
    }
}

/// Runs `v` until an exit of the L2's own (an interrupt for the L1
/// resumes it), each run's three steps timed into `r` and counted as an
/// exit.
fn timed_run(v: &mut Vcpu, r: &mut Report) -> Result<Exit> {
    loop {
        let t0 = timebase();
        let sent = v.begin_run()?;
        let t1 = timebase();
        let reason = v.enter()?;
        let t2 = timebase();
        let exit = v.end_run(reason, sent)?;
        let t3 = timebase();
        r.in_run_ticks += t2.wrapping_sub(t1);
        r.l1_work_ticks += t1.wrapping_sub(t0) + t3.wrapping_sub(t2);
        r.exits += 1;
        if !exit.for_the_host() {
            return Ok(exit);
        }
    }
}

/// [`Vcpu::dry_run`] of a hypervisor-call exit: the L1's half of the
/// exits payload (a) makes.
fn dry_run(v: &mut Vcpu, _: &mut Report) -> Result<Exit> {
    v.dry_run(Exit::HypervisorCall.vector())
}

/// How one iteration makes its exits: [`timed_run`] or [`dry_run`].
type Step = fn(&mut Vcpu, &mut Report) -> Result<Exit>;

/// One iteration of payload (a) on `v`, each exit made by `step`: the
/// round trips added to `*ticks`; returns each exit with the GPR3 it
/// brought.
fn iteration(
    v: &mut Vcpu,
    i: u64,
    r: &mut Report,
    step: Step,
    ticks: &mut u64,
) -> Result<[(Exit, Option<u64>); 2]> {
    // Exit 1: the L2 adds GPR4 and GPR5 and calls.
    let start = timebase();
    v.set(Id::NIA, Value::Be64(payload::CODE_GRA))?;
    v.set(Id::GPRS[4], Value::Be64(i))?;
    v.set(Id::GPRS[5], Value::Be64(A_Y))?;
    v.set(Id::HDEC_EXPIRY_TB, Value::Be64(start + HDEC_TICKS))?;
    let exit = step(v, r)?;
    let first = (exit, gpr3(v));
    let mid = timebase();
    *ticks += mid.wrapping_sub(start);
    // Exit 2: the L1 answers; the L2 adds one and calls again.
    v.set(Id::GPRS[3], Value::Be64(A_ANSWER + i))?;
    v.set(Id::HDEC_EXPIRY_TB, Value::Be64(mid + HDEC_TICKS))?;
    let exit = step(v, r)?;
    let second = (exit, gpr3(v));
    *ticks += timebase().wrapping_sub(mid);
    Ok([first, second])
}

/// Runs payload (a) `iterations` times (1..=[`MAX_ITERATIONS`]) in a
/// guest of its own, and a bare H_GUEST_GET_CAPABILITIES as often as
/// there are exits. Fails with `-EIO` the moment an exit is not the one
/// the payload makes, or GPR3 not its value; with `-EINTR` within one
/// iteration of a signal. The guest is deleted on every path.
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
    for i in 0..2 * u64::from(iterations) {
        let start = timebase();
        capabilities::get()?;
        r.bare_ticks += timebase().wrapping_sub(start);
        r.bare_calls += 1;
        between(i)?;
    }
    let g = payload::guest_with_code(&A_CODE)?;
    let v0 = payload::shared0(&g)?;
    let mut v = v0.lock();
    let v = &mut *v;
    let hcalls = v.hcalls();
    let mut ticks = 0;
    for i in 0..u64::from(iterations) {
        let seen = iteration(v, i, &mut r, timed_run, &mut ticks)?;
        let want = [
            (Exit::HypervisorCall, Some(i + A_Y)),
            (Exit::HypervisorCall, Some(A_ANSWER + i + 1)),
        ];
        if seen != want {
            pr_err!(
                "bench: iteration {}: exits {:?}, not payload (a)'s {:?}\n",
                i,
                seen,
                want
            );
            return Err(EIO);
        }
        between(i)?;
    }
    r.round_trip_ticks = ticks;
    r.hcalls = v.hcalls() - hcalls;
    v.fold_stats();
    // The same iterations' L1 work alone: the last real exit's output
    // read again each time, with no switch to the L2 in between.
    let mut ticks = 0;
    for i in 0..u64::from(iterations) {
        iteration(v, i, &mut r, dry_run, &mut ticks)?;
        between(i)?;
    }
    r.l1_alone_ticks = ticks;
    Ok(r)
}
