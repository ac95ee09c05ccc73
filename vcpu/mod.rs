// SPDX-License-Identifier: GPL-2.0

//! Guests and vCPUs: what the L1 creates at the L0, owns and holds the
//! state of.
//!
//! A [`Guest`] owns its L0 guest id and deletes it when dropped, on every
//! path; it owns its vCPUs, any number of them. A [`Vcpu`] owns a run-input
//! and a run-output buffer, allocated once at creation and registered
//! with the L0, and the L1's copy of its thread-wide state.
//!
//! Locking: a `Guest`'s methods take `&mut self`, so its owner serialises
//! them (a guest shared between threads goes behind the owner's lock).
//! Each vCPU is a [`SharedVcpu`], behind a lock of its own: one vCPU's
//! runs and state exchanges are serialised, different vCPUs run at the
//! same time, and no guest lock is held across a run. The guest's methods
//! that take memory away from the L2 wait for the runs under way to end,
//! so no vCPU's lock may be held across them.

mod cache;
pub(crate) mod exit;
mod guest;
pub(crate) mod pgtable;
pub(crate) mod pinned;
pub(crate) mod stats;

pub(crate) use guest::{live as live_guests, Guest, SharedVcpu};

use crate::gsb::{
    ids::Scope, value::BufferInfo, Id, IdSet, Parsed, RunOutput, Trailing, Value, Writer,
};
use crate::hcall::{self, mem::L0Mem, Tally};
use cache::StateCache;
use kernel::prelude::*;
use stats::{Pending, Traffic};

/// Bytes of the VPA the L1 registers for a vCPU (`struct lppaca` fits, and
/// a power of two keeps it naturally aligned).
const VPA_SIZE: usize = 1024;

/// One vCPU of a guest.
///
/// # Invariants
///
/// - `run_in` and `run_out` are registered with the L0 as the vCPU's run
///   buffers (and `vpa`, where present, may be registered as its VPA):
///   they are freed only after the L0 has deleted the guest, since the
///   [`Guest`] keeps a reference to each of its vCPUs until it has deleted
///   itself, and leaks them when that fails.
/// - The cache never holds a dirty element that names L1 memory: such IDs
///   are refused by [`Vcpu::set`], so the run-input buffer, which the L0
///   applies as a SET, never registers memory.
pub(crate) struct Vcpu {
    guest: u64,
    id: u64,
    /// H_GUEST_RUN_VCPU input: room for every thread-wide element.
    run_in: L0Mem,
    /// H_GUEST_RUN_VCPU output: the size the L0 asks for.
    run_out: L0Mem,
    /// GET and SET requests: room for every thread-wide element.
    scratch: L0Mem,
    /// The VPA, once [`Vcpu::register_vpa`] has offered one to the L0.
    vpa: Option<L0Mem>,
    cache: StateCache,
    /// Hypervisor calls made for this vCPU.
    tally: Tally,
    /// H_GUEST_RUN_VCPU calls that returned an exit.
    runs: u64,
    /// Runs not yet in the module-wide counters.
    stats: Pending,
}

/// A state exchange of `hcall::state` with no address of the caller's:
/// `get` or `set`.
type StateExchange = fn(Scope, u64, u64, &mut L0Mem, usize, &mut Tally) -> Result;

/// Converts a codec error to a kernel one, and logs it: for the buffers
/// the module itself writes and the L0 answers, where an error is the
/// module's or the L0's.
fn gsb_err(e: crate::gsb::GsbError) -> Error {
    pr_err!("guest state buffer: {:?}\n", e);
    e.into()
}

/// Converts a refusal of what a user asked (an element or a value a VMM
/// or a payload gave) to a kernel error. Logged at debug level only: a
/// user can cause any number of them, and the errno tells the user.
fn user_err(e: crate::gsb::GsbError) -> Error {
    pr_debug!("refused: {:?}\n", e);
    e.into()
}

/// What a vCPU needs before the L0 is asked to create it.
pub(crate) struct VcpuParts {
    run_in: L0Mem,
    scratch: L0Mem,
    cache: StateCache,
}

impl VcpuParts {
    /// The input and scratch buffers (room for every thread-wide element)
    /// and the state cache.
    fn alloc() -> Result<VcpuParts> {
        let in_size = IdSet::of_scope(Scope::Thread).buffer_size();
        Ok(VcpuParts {
            run_in: L0Mem::zeroed(in_size)?,
            scratch: L0Mem::zeroed(in_size)?,
            cache: StateCache::new()?,
        })
    }
}

impl Vcpu {
    /// Registers the run buffers of vCPU `id`, created at the L0, with a
    /// run-output buffer of `out_size` bytes. Should the registration
    /// fail, the L0 may have taken one of them: both are leaked, never
    /// freed.
    fn register(guest: u64, id: u64, parts: VcpuParts, out_size: usize) -> Result<Vcpu> {
        let mut v = Vcpu {
            guest,
            id,
            run_in: parts.run_in,
            run_out: L0Mem::zeroed(out_size)?,
            scratch: parts.scratch,
            vpa: None,
            cache: parts.cache,
            tally: Tally::default(),
            runs: 0,
            stats: Pending::default(),
        };
        if let Err(e) = v.register_run_buffers() {
            pr_err!(
                "guest {} vCPU {}: leaking its run buffers, which the L0 may have taken\n",
                guest,
                id
            );
            v.run_in.leak();
            v.run_out.leak();
            return Err(e);
        }
        Ok(v)
    }

    fn register_run_buffers(&mut self) -> Result {
        let run_in = BufferInfo {
            address: self.run_in.real_address(),
            size: self.run_in.len() as u64,
        };
        let run_out = BufferInfo {
            address: self.run_out.real_address(),
            size: self.run_out.len() as u64,
        };
        let mut w = Writer::new(&mut self.scratch, Scope::Thread).map_err(gsb_err)?;
        w.put_buffer_info(Id::RUN_INPUT, run_in).map_err(gsb_err)?;
        w.put_buffer_info(Id::RUN_OUTPUT, run_out)
            .map_err(gsb_err)?;
        let len = w.len();
        // SAFETY: the buffer names `run_in` and `run_out`, which the vCPU
        // keeps until the L0 has deleted the guest (type invariant), and
        // which [`Vcpu::register`] leaks should this call fail.
        unsafe { self.register_scratch(len) }?;
        self.cache.fill(Id::RUN_INPUT, Value::BufferInfo(run_in));
        self.cache.fill(Id::RUN_OUTPUT, Value::BufferInfo(run_out));
        Ok(())
    }

    /// `exchange` (H_GUEST_GET_STATE or a safe H_GUEST_SET_STATE) of the
    /// first `len` bytes of the scratch buffer, for this vCPU.
    fn exchange_scratch(&mut self, exchange: StateExchange, len: usize) -> Result {
        exchange(
            Scope::Thread,
            self.guest,
            self.id,
            &mut self.scratch,
            len,
            &mut self.tally,
        )
    }

    /// H_GUEST_SET_STATE of the first `len` bytes of the scratch buffer,
    /// which register L1 memory for this vCPU.
    ///
    /// # Safety
    ///
    /// As [`hcall::state::set_registering`]: every address in those bytes
    /// is of an `L0Mem` the vCPU keeps (or leaks) until the L0 has deleted
    /// the guest.
    unsafe fn register_scratch(&mut self, len: usize) -> Result {
        // SAFETY: the caller vouches for the addresses in the buffer.
        unsafe {
            hcall::state::set_registering(
                Scope::Thread,
                self.guest,
                self.id,
                &mut self.scratch,
                len,
                &mut self.tally,
            )
        }
    }

    /// The id of the vCPU's guest at the L0.
    pub(crate) fn guest_id(&self) -> u64 {
        self.guest
    }

    /// The vCPU's id in its guest.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Hypervisor calls made for this vCPU since it was created, retries
    /// included: what a check or report of one vCPU counts, whatever else
    /// runs on the module meanwhile.
    pub(crate) fn hcalls(&self) -> u64 {
        self.tally.count()
    }

    /// H_GUEST_RUN_VCPU calls that returned an exit for this vCPU.
    pub(crate) fn runs(&self) -> u64 {
        self.runs
    }

    /// Bytes of the run-input and run-output buffers.
    #[cfg_attr(
        not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST),
        expect(dead_code, reason = "only the KUnit suites call it yet")
    )]
    pub(crate) fn run_buffer_sizes(&self) -> (usize, usize) {
        (self.run_in.len(), self.run_out.len())
    }

    /// Sets thread-wide element `id` in the L1's copy; it goes to the L0 with
    /// the next [`Vcpu::flush`] or run. Refuses (`-EINVAL`) guest-wide and
    /// host-wide IDs, a value of the wrong type or with reserved bits set,
    /// and (`-EPERM`) read-only IDs and the IDs that name L1 memory (run
    /// buffers, VPA), which only the vCPU itself registers.
    pub(crate) fn set(&mut self, id: Id, v: Value) -> Result {
        Self::check_set(id, v)?;
        // INVARIANT: `id` names no L1 memory (checked above).
        self.cache.write(id, v);
        Ok(())
    }

    /// [`Vcpu::set`] of every element of `elements`, or of none: all are
    /// checked before any is written.
    pub(crate) fn set_all(&mut self, elements: &[(Id, Value)]) -> Result {
        for (id, v) in elements {
            Self::check_set(*id, *v)?;
        }
        for (id, v) in elements {
            // INVARIANT: `id` names no L1 memory (checked above).
            self.cache.write(*id, *v);
        }
        Ok(())
    }

    /// What [`Vcpu::set`] refuses: [`Id::check_set`] for a vCPU.
    fn check_set(id: Id, v: Value) -> Result {
        id.check_set(v, Scope::Thread).map_err(user_err)
    }

    /// Sends every dirty element with one H_GUEST_SET_STATE.
    pub(crate) fn flush(&mut self) -> Result {
        if self.cache.dirty().is_empty() {
            return Ok(());
        }
        let len = {
            let mut w = Writer::new(&mut self.scratch, Scope::Thread).map_err(gsb_err)?;
            for id in self.cache.dirty().iter() {
                if let Some(v) = self.cache.read(id) {
                    w.put(id, v).map_err(gsb_err)?;
                }
            }
            w.len()
        };
        self.exchange_scratch(hcall::state::set, len)?;
        self.cache.mark_clean();
        Ok(())
    }

    /// Makes every ID of `ids` valid in the L1's copy: those not valid yet
    /// come from the L0 in one H_GUEST_GET_STATE; the rest cost nothing.
    pub(crate) fn fetch(&mut self, ids: &IdSet) -> Result {
        let mut missing = IdSet::new();
        for id in ids.iter() {
            if id.scope() != Scope::Thread {
                pr_debug!("{} is not per-vCPU state\n", id.name());
                return Err(EINVAL);
            }
            if id.class() == crate::gsb::ids::Class::Meta && !self.cache.valid().test(id) {
                // Write-only at QEMU's L0, which aborts on a read.
                pr_debug!("{} is only known once the L1 has set it\n", id.name());
                return Err(ENOENT);
            }
            if !self.cache.valid().test(id) {
                missing.set(id);
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let len = {
            let mut w = Writer::new(&mut self.scratch, Scope::Thread).map_err(gsb_err)?;
            for id in missing.iter() {
                w.put_request(id).map_err(gsb_err)?;
            }
            w.len()
        };
        self.exchange_scratch(hcall::state::get, len)?;
        let answer = Parsed::parse(&self.scratch[..len], Trailing::Reject).map_err(gsb_err)?;
        for id in missing.iter() {
            let Some(v) = answer.get(id) else {
                pr_err!("the L0 left {} out of its answer\n", id.name());
                return Err(EPROTO);
            };
            self.cache.fill(id, v);
        }
        Ok(())
    }

    /// The value of thread-wide element `id`: from the L1's copy where valid,
    /// otherwise fetched.
    pub(crate) fn get(&mut self, id: Id) -> Result<Value> {
        let mut one = IdSet::new();
        one.set(id);
        self.fetch(&one)?;
        self.cache.read(id).ok_or(EPROTO)
    }

    /// Writes the run-input buffer for the next run: exactly the dirty
    /// elements. Returns how many, and the bytes the L0 will read.
    pub(crate) fn fill_run_input(&mut self) -> Result<Traffic> {
        let mut w = Writer::new(&mut self.run_in, Scope::Thread).map_err(gsb_err)?;
        for id in self.cache.dirty().iter() {
            if let Some(v) = self.cache.read(id) {
                w.put(id, v).map_err(gsb_err)?;
            }
        }
        Ok(Traffic {
            elements: w.count().into(),
            bytes: w.len() as u64,
        })
    }

    /// The value of `id` in the L1's copy, if valid; never asks the L0
    /// (for logs, and to see what a run-output buffer brought).
    pub(crate) fn cached(&self, id: Id) -> Option<Value> {
        self.cache.read(id)
    }

    /// The run-output buffer, for the KUnit suite to write as a
    /// misbehaving L0 would.
    #[cfg(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST)]
    pub(crate) fn run_output_mut(&mut self) -> &mut [u8] {
        &mut self.run_out
    }

    /// The run-input buffer as the L0 will read it.
    #[cfg_attr(
        not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST),
        expect(dead_code, reason = "only the KUnit suites call it yet")
    )]
    pub(crate) fn run_input(&self) -> &[u8] {
        &self.run_in
    }

    /// Forgets what the L0 may have changed (as after a run): values not
    /// dirty are fetched again on the next read.
    pub(crate) fn forget_clean(&mut self) {
        self.cache.invalidate_clean();
    }

    /// Offers the L0 a Virtual Processor Area of the vCPU's own, with an
    /// H_GUEST_SET_STATE of its own: an L0 that refuses the element
    /// (QEMU's has none) fails this call alone, not a later flush or run
    /// with other state in it. The VPA stays the vCPU's until the L0 has
    /// deleted the guest, whatever the L0 answered.
    #[cfg_attr(
        not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST),
        expect(dead_code, reason = "only the KUnit suites call it yet")
    )]
    pub(crate) fn register_vpa(&mut self) -> Result {
        if self.vpa.is_some() {
            return Err(EBUSY);
        }
        let vpa = self.vpa.insert(L0Mem::zeroed(VPA_SIZE)?);
        let address = vpa.real_address();
        let len = {
            let mut w = Writer::new(&mut self.scratch, Scope::Thread).map_err(gsb_err)?;
            w.put_be64(Id::VPA, address).map_err(gsb_err)?;
            w.len()
        };
        // SAFETY: the buffer names `self.vpa`, which the vCPU keeps until
        // the L0 has deleted the guest (type invariant).
        unsafe { self.register_scratch(len) }?;
        self.cache.fill(Id::VPA, Value::Be64(address));
        Ok(())
    }

    /// Runs the vCPU once: [`Vcpu::begin_run`], [`Vcpu::enter`],
    /// [`Vcpu::end_run`]. Allocates nothing.
    pub(crate) fn run(&mut self) -> Result<exit::Exit> {
        let sent = self.begin_run()?;
        let reason = self.enter()?;
        self.end_run(reason, sent)
    }

    /// The first step of a run: the dirty state goes in the run-input
    /// buffer, and the run-output buffer's element count is cleared, so
    /// that an L0 that returns without writing it cannot make the last
    /// exit's registers look like this one's.
    pub(crate) fn begin_run(&mut self) -> Result<Traffic> {
        let sent = self.fill_run_input()?;
        self.run_out[..crate::gsb::HEADER_SIZE].fill(0);
        Ok(sent)
    }

    /// The second step: H_GUEST_RUN_VCPU, which applies the run input and
    /// runs the vCPU until it exits; returns the exit reason. A failure
    /// is counted as a failed run and logged; the dirty state stays dirty
    /// (the L0 applies the run input only when it runs the vCPU).
    pub(crate) fn enter(&mut self) -> Result<u64> {
        // SAFETY: the run buffers registered for the vCPU are `run_in` and
        // `run_out`, which live as long as `self` and are borrowed by no
        // one else during the call (`&mut self`); the run input holds only
        // dirty elements, none of which names L1 memory (type invariant).
        let reason = unsafe { hcall::guest::run_vcpu(self.guest, self.id, &mut self.tally) };
        reason.inspect(|_| self.runs += 1).map_err(|e| {
            stats::record_failure();
            pr_err!(
                "guest {} vCPU {}: H_GUEST_RUN_VCPU failed: {} ({})\n",
                self.guest,
                self.id,
                e.status.name(),
                e.status.0
            );
            e.into()
        })
    }

    /// The last step, once H_GUEST_RUN_VCPU has returned `reason`: the
    /// state sent (`sent`) is clean, the rest forgotten, and the run-output
    /// buffer, read as untrusted input, fills the L1's copy.
    ///
    /// The run fails with `-EPROTO`, counted and logged, and nothing of the
    /// output is taken, when the buffer does not parse, holds an element
    /// other than thread-wide state (a guest-wide, host-wide or meta ID),
    /// or lacks a register the exit must bring ([`exit::Exit::registers`]).
    pub(crate) fn end_run(&mut self, reason: u64, sent: Traffic) -> Result<exit::Exit> {
        let (exit, received) = self
            .take_output(reason)
            .inspect_err(|_| stats::record_failure())?;
        self.stats.record(sent, received, exit);
        Ok(exit)
    }

    /// What [`Vcpu::end_run`] does but count: returns the exit and what
    /// the run output brought.
    #[inline]
    fn take_output(&mut self, reason: u64) -> Result<(exit::Exit, Traffic)> {
        let exit = exit::Exit::from_reason(reason);
        // The L0 applied the input before running.
        self.cache.mark_clean();
        self.cache.invalidate_clean();
        // Each value is staged as it is checked, in IDs that are not valid
        // (all thread-wide IDs but the meta ones, which the output may not
        // hold), and made valid only once the whole output is.
        let cache = &mut self.cache;
        let parsed =
            RunOutput::parse_with(&self.run_out, exit.required(), |id, v| cache.stage(id, v));
        let out = match parsed {
            Ok(out) => out,
            Err(e) => {
                pr_err!(
                    "guest {} vCPU {}: exit {:#x}: run-output buffer refused: {:?}\n",
                    self.guest,
                    self.id,
                    exit.vector(),
                    e
                );
                return Err(EPROTO);
            }
        };
        self.cache.validate(&out.ids());
        let received = Traffic {
            elements: out.count().into(),
            bytes: out.len() as u64,
        };
        Ok((exit, received))
    }

    /// The L1's half of a run without the L0, for the benchmark: the run
    /// input written as [`Vcpu::begin_run`] writes it, then the last run's
    /// output taken again as [`Vcpu::end_run`] takes it, for an exit of
    /// `reason` (the output left as it is, so the same registers come
    /// back each time). Tells the L1's own cost of an exit from what the
    /// L0's switch costs the L1 around it; not counted as a run. The
    /// state it wrote counts as sent though it never reached the L0: only
    /// for a vCPU that will not run again (the benchmark's own, whose
    /// guest is deleted after it).
    pub(crate) fn dry_run(&mut self, reason: u64) -> Result<exit::Exit> {
        self.fill_run_input()?;
        Ok(self.take_output(reason)?.0)
    }

    /// Folds the runs this vCPU counted into the module-wide counters
    /// (see [`stats`]): for the owner, when it hands a run back.
    pub(crate) fn fold_stats(&mut self) {
        self.stats.fold();
    }
}
