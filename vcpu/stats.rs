// SPDX-License-Identifier: GPL-2.0

//! Counters of the run path since load, for debugfs: runs, exits by
//! reason, and the elements and bytes that went to the L0 in run-input
//! buffers and came back in run-output buffers.
//!
//! A run is counted on its vCPU first ([`Pending`], plain integers under
//! the vCPU's lock: no atomic operation on the per-exit path, which on
//! powerpc is a call into the kernel each) and folded into the
//! module-wide counters every [`FOLD_EVERY`] runs, when a payload or the
//! benchmark hands a run back ([`Vcpu::fold_stats`]) and when the vCPU is
//! freed: a vCPU still running under `KVM_RUN` may have up to
//! `FOLD_EVERY - 1` runs not shown yet. A failed run is counted
//! module-wide at once.
//!
//! [`Vcpu::fold_stats`]: super::Vcpu::fold_stats

use super::exit::Exit;
use kernel::sync::atomic::{ordering::Relaxed, Atomic};

/// Elements and bytes of one guest state buffer (header included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Traffic {
    /// Elements in the buffer.
    pub(crate) elements: u64,
    /// Bytes the L0 reads or writes, header included.
    pub(crate) bytes: u64,
}

/// The counters, read at one moment (each is exact; they are not read
/// atomically together while runs go on).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Snapshot {
    /// H_GUEST_RUN_VCPU calls that returned an exit.
    pub(crate) runs: u64,
    /// H_GUEST_RUN_VCPU calls that failed (no exit, nothing received).
    pub(crate) failed: u64,
    /// Exits by [`Exit::index`].
    pub(crate) exits: [u64; Exit::KINDS],
    /// Sent in run-input buffers, all runs.
    pub(crate) sent: Traffic,
    /// Received in run-output buffers, all runs.
    pub(crate) received: Traffic,
    /// Sent by the last run.
    pub(crate) last_sent: Traffic,
    /// Received by the last run.
    pub(crate) last_received: Traffic,
}

static RUNS: Atomic<u64> = Atomic::new(0);
static FAILED: Atomic<u64> = Atomic::new(0);
static EXITS: [Atomic<u64>; Exit::KINDS] = [const { Atomic::new(0) }; Exit::KINDS];
/// Sent elements, sent bytes, received elements, received bytes.
static TOTALS: [Atomic<u64>; 4] = [const { Atomic::new(0) }; 4];
/// The same for the last run.
static LAST: [Atomic<u64>; 4] = [const { Atomic::new(0) }; 4];

fn traffic(counters: &[Atomic<u64>; 4], first: usize) -> Traffic {
    Traffic {
        elements: counters[first].load(Relaxed),
        bytes: counters[first + 1].load(Relaxed),
    }
}

/// Runs a vCPU counts before it folds them into the module's counters.
pub(crate) const FOLD_EVERY: u64 = 64;

/// One vCPU's runs not yet in the module-wide counters; folded into them
/// when dropped.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    runs: u64,
    exits: [u64; Exit::KINDS],
    sent: Traffic,
    received: Traffic,
    last_sent: Traffic,
    last_received: Traffic,
}

impl Pending {
    /// Counts a run that returned `exit`, having sent `sent` and received
    /// `received`; folds every [`FOLD_EVERY`] runs.
    pub(crate) fn record(&mut self, sent: Traffic, received: Traffic, exit: Exit) {
        self.runs += 1;
        self.exits[exit.index()] += 1;
        self.sent.elements += sent.elements;
        self.sent.bytes += sent.bytes;
        self.received.elements += received.elements;
        self.received.bytes += received.bytes;
        self.last_sent = sent;
        self.last_received = received;
        if self.runs >= FOLD_EVERY {
            self.fold();
        }
    }

    /// Adds what is counted to the module-wide counters, and starts again.
    pub(crate) fn fold(&mut self) {
        if self.runs == 0 {
            return;
        }
        RUNS.fetch_add(self.runs, Relaxed);
        for (total, n) in EXITS.iter().zip(self.exits) {
            if n != 0 {
                total.fetch_add(n, Relaxed);
            }
        }
        let totals = [
            self.sent.elements,
            self.sent.bytes,
            self.received.elements,
            self.received.bytes,
        ];
        let last = [
            self.last_sent.elements,
            self.last_sent.bytes,
            self.last_received.elements,
            self.last_received.bytes,
        ];
        for i in 0..4 {
            TOTALS[i].fetch_add(totals[i], Relaxed);
            LAST[i].store(last[i], Relaxed);
        }
        // Field by field: assigning a new `Pending` would drop, so fold,
        // this one again.
        self.runs = 0;
        self.exits = [0; Exit::KINDS];
        self.sent = Traffic::default();
        self.received = Traffic::default();
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.fold();
    }
}

/// Counts a run that failed.
pub(crate) fn record_failure() {
    FAILED.fetch_add(1, Relaxed);
}

/// The module-wide counters now: every failed run, and the runs folded so
/// far ([`Pending`]).
pub(crate) fn snapshot() -> Snapshot {
    Snapshot {
        runs: RUNS.load(Relaxed),
        failed: FAILED.load(Relaxed),
        exits: core::array::from_fn(|i| EXITS[i].load(Relaxed)),
        sent: traffic(&TOTALS, 0),
        received: traffic(&TOTALS, 2),
        last_sent: traffic(&LAST, 0),
        last_received: traffic(&LAST, 2),
    }
}
