// SPDX-License-Identifier: GPL-2.0

//! Counters of the run path since load, for debugfs: runs, exits by
//! reason, and the elements and bytes that went to the L0 in run-input
//! buffers and came back in run-output buffers.

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

/// Counts a run that returned `exit`.
pub(crate) fn record(sent: Traffic, received: Traffic, exit: Exit) {
    RUNS.fetch_add(1, Relaxed);
    EXITS[exit.index()].fetch_add(1, Relaxed);
    let values = [sent.elements, sent.bytes, received.elements, received.bytes];
    for (i, v) in values.into_iter().enumerate() {
        TOTALS[i].fetch_add(v, Relaxed);
        LAST[i].store(v, Relaxed);
    }
}

/// Counts a run that failed.
pub(crate) fn record_failure() {
    FAILED.fetch_add(1, Relaxed);
}

/// The counters now.
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
