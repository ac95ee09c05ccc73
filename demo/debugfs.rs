// SPDX-License-Identifier: GPL-2.0

//! The module's debugfs directory, `/sys/kernel/debug/rust_papr_nested/`:
//!
//! - `hcalls`: hypervisor calls made since load, by opcode.
//! - `guests`: guests the module holds at the L0 now (VMs, payloads,
//!   benchmark, self-check).
//! - `pinned`: pages of VMMs' memory slots the module holds pinned now.
//! - `exits`: vCPU exits since load, by reason.
//! - `runs`: H_GUEST_RUN_VCPU calls, and the elements and bytes sent in
//!   run-input buffers and received in run-output buffers: totals, per run
//!   and for the last run.
//! - `payloads`: write anything to run the L2 payloads of
//!   `demo::payload` against the L0 (each exit is logged); read to see
//!   how many passed.
//! - `bench`: write N to run the exit benchmark for N iterations of
//!   payload (a); read for the last result.
//!
//! Writes to `payloads` and `bench` run in the writer's context and
//! return when done, or with `-EINTR` soon after a signal to the writer.
//! Each run uses guests of its own, so writers run side by side; no lock
//! is held during a run, so readers never wait for one.

use super::{bench, payload};
use crate::hcall::{self, Opcode};
use crate::vcpu::{exit::Exit, stats};
use kernel::{
    debugfs::{Dir, File, Module},
    fmt, new_mutex,
    prelude::*,
    sync::Mutex,
    uaccess::UserSliceReader,
};

/// The directory and its files; dropping it removes them, waiting for
/// readers and writers to finish.
pub(crate) struct Debugfs {
    _hcalls: Pin<KBox<File<()>>>,
    _guests: Pin<KBox<File<()>>>,
    _pinned: Pin<KBox<File<()>>>,
    _exits: Pin<KBox<File<()>>>,
    _runs: Pin<KBox<File<()>>>,
    _payloads: Pin<KBox<File<Mutex<Option<u32>>>>>,
    _bench: Pin<KBox<File<Mutex<Option<bench::Report>>>>>,
    #[cfg(CONFIG_KVM_BOOK3S_64_HANDLER)]
    _codec: Pin<KBox<File<Mutex<Option<super::codec::Report>>>>>,
    /// The module's own: while one of its files is open, the module
    /// cannot be unloaded (the last close calls into it).
    _dir: Dir<Module<crate::LocalModule>>,
}

impl Debugfs {
    /// Creates the directory and its files. Without `CONFIG_DEBUG_FS`
    /// there is nothing to see, and nothing fails.
    pub(crate) fn new() -> Result<Debugfs> {
        let dir = Dir::new_owned::<crate::LocalModule>(c"rust_papr_nested");
        Ok(Debugfs {
            _hcalls: KBox::pin_init(
                dir.read_callback_file(c"hcalls", (), &show_hcalls),
                GFP_KERNEL,
            )?,
            _guests: KBox::pin_init(
                dir.read_callback_file(c"guests", (), &show_guests),
                GFP_KERNEL,
            )?,
            _pinned: KBox::pin_init(
                dir.read_callback_file(c"pinned", (), &show_pinned),
                GFP_KERNEL,
            )?,
            _exits: KBox::pin_init(
                dir.read_callback_file(c"exits", (), &show_exits),
                GFP_KERNEL,
            )?,
            _runs: KBox::pin_init(dir.read_callback_file(c"runs", (), &show_runs), GFP_KERNEL)?,
            _payloads: KBox::pin_init(
                dir.read_write_callback_file(
                    c"payloads",
                    new_mutex!(None),
                    &show_payloads,
                    &run_payloads,
                ),
                GFP_KERNEL,
            )?,
            _bench: KBox::pin_init(
                dir.read_write_callback_file(c"bench", new_mutex!(None), &show_bench, &run_bench),
                GFP_KERNEL,
            )?,
            #[cfg(CONFIG_KVM_BOOK3S_64_HANDLER)]
            _codec: KBox::pin_init(
                dir.read_write_callback_file(c"codec", new_mutex!(None), &show_codec, &run_codec),
                GFP_KERNEL,
            )?,
            _dir: dir,
        })
    }
}

/// `hcalls`: `<name> <count>` per opcode.
fn show_hcalls(_: &(), f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for op in Opcode::ALL {
        writeln!(f, "{} {}", op.name(), hcall::calls(op))?;
    }
    Ok(())
}

/// `guests`: how many guests the module holds at the L0.
fn show_guests(_: &(), f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", crate::vcpu::live_guests())
}

/// `pinned`: how many pages of user memory the module holds pinned.
fn show_pinned(_: &(), f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", crate::vcpu::pinned::pinned())
}

/// `exits`: `<vector> <reason> <count>` per reason; `other` counts every
/// vector without a name.
fn show_exits(_: &(), f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let s = stats::snapshot();
    for e in Exit::NAMED {
        writeln!(f, "{:#x} {} {}", e.vector(), e.name(), s.exits[e.index()])?;
    }
    let other = Exit::Other(0);
    writeln!(f, "- {} {}", other.name(), s.exits[other.index()])
}

/// Writes `num / den` with two decimals.
fn write_ratio(f: &mut fmt::Formatter<'_>, num: u64, den: u64) -> fmt::Result {
    let x100 = bench::hundredths(num, den);
    write!(f, "{}.{:02}", x100 / 100, x100 % 100)
}

/// `runs`: `<key> <value>` lines.
fn show_runs(_: &(), f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let s = stats::snapshot();
    writeln!(f, "runs {}", s.runs)?;
    writeln!(f, "failed_runs {}", s.failed)?;
    let rows = [
        ("sent_elements", s.sent.elements, s.last_sent.elements),
        ("sent_bytes", s.sent.bytes, s.last_sent.bytes),
        (
            "received_elements",
            s.received.elements,
            s.last_received.elements,
        ),
        ("received_bytes", s.received.bytes, s.last_received.bytes),
    ];
    for (key, total, _) in rows {
        writeln!(f, "{} {}", key, total)?;
    }
    for (key, total, _) in rows {
        write!(f, "per_run_{} ", key)?;
        write_ratio(f, total, s.runs)?;
        writeln!(f)?;
    }
    for (key, _, last) in rows {
        writeln!(f, "last_run_{} {}", key, last)?;
    }
    Ok(())
}

/// Reads a decimal number written to a file.
fn read_number(reader: &mut UserSliceReader) -> Result<u32> {
    let mut buf = [0u8; 16];
    let n = reader.len();
    if n > buf.len() {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..n])?;
    let s = core::str::from_utf8(&buf[..n]).map_err(|_| EINVAL)?;
    s.trim().parse::<u32>().map_err(|_| EINVAL)
}

/// `payloads`: how many passed at the last write.
fn show_payloads(last: &Mutex<Option<u32>>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match *last.lock() {
        Some(passed) => writeln!(f, "{}/{} passed", passed, payload::COUNT),
        None => writeln!(f, "not run"),
    }
}

/// A write to `payloads`: runs them all. Fails with `-EIO` if any fails
/// (the log says which and why), `-EINTR` on a signal.
fn run_payloads(last: &Mutex<Option<u32>>, reader: &mut UserSliceReader) -> Result {
    reader.skip(reader.len())?;
    let passed = payload::run_all()?;
    *last.lock() = Some(passed);
    if passed == payload::COUNT {
        Ok(())
    } else {
        Err(EIO)
    }
}

/// `bench`: the last benchmark's figures, `<key> <value>` lines.
fn show_bench(last: &Mutex<Option<bench::Report>>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let Some(r) = *last.lock() else {
        return writeln!(f, "not run");
    };
    writeln!(f, "iterations {}", r.iterations)?;
    writeln!(f, "exits {}", r.exits)?;
    writeln!(f, "hcalls {}", r.hcalls)?;
    write!(f, "hcalls_per_exit ")?;
    write_ratio(f, r.hcalls, r.exits)?;
    writeln!(f)?;
    writeln!(f, "round_trip_ticks {}", r.round_trip())?;
    writeln!(f, "in_run_vcpu_ticks {}", r.in_run())?;
    writeln!(f, "bare_hcall_ticks {}", r.bare())?;
    write_percent(f, "l1_overhead_percent", r.overhead_bp())?;
    writeln!(f, "l1_work_ticks {}", r.l1_work())?;
    write_percent(f, "outside_run_vcpu_percent", r.outside_run_bp())?;
    write_percent(f, "l1_work_percent", r.l1_work_bp())?;
    writeln!(f, "l1_alone_ticks {}", r.l1_alone())?;
    write_percent(f, "l1_alone_percent", r.l1_alone_bp())
}

/// Writes `<key> <percent>` from hundredths of a percent.
fn write_percent(f: &mut fmt::Formatter<'_>, key: &str, bp: u64) -> fmt::Result {
    writeln!(f, "{} {}.{:02}", key, bp / 100, bp % 100)
}

/// A write of N to `bench`: runs the benchmark for N iterations, logs and
/// keeps the result.
fn run_bench(last: &Mutex<Option<bench::Report>>, reader: &mut UserSliceReader) -> Result {
    let iterations = read_number(reader)?;
    let r = bench::run(iterations)?;
    let (ov, out, work, alone) = (
        r.overhead_bp(),
        r.outside_run_bp(),
        r.l1_work_bp(),
        r.l1_alone_bp(),
    );
    pr_info!(
        "bench: {} iterations, {} exits, {} hcalls ({}.{:02} per exit); per exit: round trip {} ticks, in H_GUEST_RUN_VCPU {}, bare hcall {}, L1 run steps {}, L1 alone {}; (round trip - bare hcall) / round trip {}.{:02}%, outside H_GUEST_RUN_VCPU {}.{:02}%, L1 run steps {}.{:02}%, L1 alone {}.{:02}%\n",
        r.iterations,
        r.exits,
        r.hcalls,
        r.hcalls_per_exit_x100() / 100,
        r.hcalls_per_exit_x100() % 100,
        r.round_trip(),
        r.in_run(),
        r.bare(),
        r.l1_work(),
        r.l1_alone(),
        ov / 100,
        ov % 100,
        out / 100,
        out % 100,
        work / 100,
        work % 100,
        alone / 100,
        alone % 100
    );
    *last.lock() = Some(r);
    Ok(())
}

/// `codec`: the last codec benchmark's figures, `<key> <value>` lines:
/// ticks per operation of each, and ours as a percentage of the C's.
#[cfg(CONFIG_KVM_BOOK3S_64_HANDLER)]
fn show_codec(
    last: &Mutex<Option<super::codec::Report>>,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    let Some(r) = *last.lock() else {
        return writeln!(f, "not run");
    };
    let per = |ticks: u64| ticks / u64::from(r.iterations.max(1));
    writeln!(f, "iterations {}", r.iterations)?;
    writeln!(f, "encode_elements {}", r.encoded)?;
    writeln!(f, "encode_rust_ticks {}", per(r.encode_rust_ticks))?;
    writeln!(f, "encode_c_ticks {}", per(r.encode_c_ticks))?;
    write_percent(
        f,
        "encode_rust_over_c_percent",
        bench::hundredths(r.encode_rust_ticks * 100, r.encode_c_ticks),
    )?;
    writeln!(f, "parse_elements {}", r.parsed)?;
    writeln!(f, "parse_rust_ticks {}", per(r.parse_rust_ticks))?;
    writeln!(f, "parse_c_ticks {}", per(r.parse_c_ticks))?;
    write_percent(
        f,
        "parse_rust_over_c_percent",
        bench::hundredths(r.parse_rust_ticks * 100, r.parse_c_ticks),
    )
}

/// A write of N to `codec`: runs the codec benchmark N times over.
#[cfg(CONFIG_KVM_BOOK3S_64_HANDLER)]
fn run_codec(last: &Mutex<Option<super::codec::Report>>, reader: &mut UserSliceReader) -> Result {
    let iterations = read_number(reader)?;
    *last.lock() = Some(super::codec::run(iterations)?);
    Ok(())
}
