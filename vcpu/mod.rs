// SPDX-License-Identifier: GPL-2.0

//! Guests and vCPUs: what the L1 creates at the L0, owns and holds the
//! state of.
//!
//! A [`Guest`] owns its L0 guest id and deletes it when dropped, on every
//! path; it owns its vCPUs, any number of them. A [`Vcpu`] owns a run-input
//! and a run-output buffer, allocated once at creation and registered
//! with the L0, and the L1's copy of its thread-wide state.
//!
//! Locking: neither type locks. Every method that changes state takes
//! `&mut self`, so the owner serialises; a `Guest` shared between threads
//! goes behind the owner's own lock.

pub(crate) mod bench;
mod cache;
pub(crate) mod exit;
mod guest;
pub(crate) mod payload;
pub(crate) mod pgtable;
pub(crate) mod selfcheck;
pub(crate) mod stats;

pub(crate) use guest::Guest;

use crate::gsb::{ids::Scope, value::BufferInfo, Id, IdSet, Parsed, Trailing, Value, Writer};
use crate::hcall::{self, linear_map_pa};
use cache::StateCache;
use kernel::prelude::*;
use stats::Traffic;

/// One vCPU of a guest.
pub(crate) struct Vcpu {
    guest: u64,
    id: u64,
    /// H_GUEST_RUN_VCPU input: room for every thread-wide element.
    run_in: KVec<u8>,
    /// H_GUEST_RUN_VCPU output: the size the L0 asks for.
    run_out: KVec<u8>,
    /// GET and SET requests: room for every thread-wide element.
    scratch: KVec<u8>,
    cache: StateCache,
    /// Timebase ticks the last H_GUEST_RUN_VCPU took, from the L1's side.
    last_run_ticks: u64,
}

/// Converts a codec error to a kernel one, and logs it.
fn gsb_err(e: crate::gsb::GsbError) -> Error {
    pr_err!("guest state buffer: {:?}\n", e);
    e.into()
}

/// What a vCPU needs before the L0 is asked to create it.
pub(crate) struct VcpuParts {
    run_in: KVec<u8>,
    run_out: KVec<u8>,
    scratch: KVec<u8>,
    cache: StateCache,
}

impl VcpuParts {
    /// The input and scratch buffers (room for every thread-wide element)
    /// and the state cache.
    fn alloc() -> Result<VcpuParts> {
        let in_size = IdSet::of_scope(Scope::Thread).buffer_size();
        Ok(VcpuParts {
            run_in: KVec::from_elem(0u8, in_size, GFP_KERNEL)?,
            run_out: KVec::new(),
            scratch: KVec::from_elem(0u8, in_size, GFP_KERNEL)?,
            cache: StateCache::new()?,
        })
    }

    /// The output buffer, once the L0 has said how big.
    fn alloc_run_output(&mut self, size: usize) -> Result {
        self.run_out = KVec::from_elem(0u8, size, GFP_KERNEL)?;
        Ok(())
    }
}

impl Vcpu {
    /// Registers the run buffers of vCPU `id`, created at the L0.
    fn register(guest: u64, id: u64, parts: VcpuParts) -> Result<Vcpu> {
        let mut v = Vcpu {
            guest,
            id,
            run_in: parts.run_in,
            run_out: parts.run_out,
            scratch: parts.scratch,
            cache: parts.cache,
            last_run_ticks: 0,
        };
        v.register_run_buffers()?;
        Ok(v)
    }

    fn register_run_buffers(&mut self) -> Result {
        let run_in = BufferInfo {
            address: linear_map_pa(&self.run_in)?,
            size: self.run_in.len() as u64,
        };
        let run_out = BufferInfo {
            address: linear_map_pa(&self.run_out)?,
            size: self.run_out.len() as u64,
        };
        let mut w = Writer::new(&mut self.scratch, Scope::Thread).map_err(gsb_err)?;
        w.put_buffer_info(Id::RUN_INPUT, run_in).map_err(gsb_err)?;
        w.put_buffer_info(Id::RUN_OUTPUT, run_out)
            .map_err(gsb_err)?;
        let len = w.len();
        hcall::state::set(Scope::Thread, self.guest, self.id, &mut self.scratch[..len])?;
        self.cache.fill(Id::RUN_INPUT, Value::BufferInfo(run_in));
        self.cache.fill(Id::RUN_OUTPUT, Value::BufferInfo(run_out));
        Ok(())
    }

    /// The id of the vCPU's guest at the L0.
    pub(crate) fn guest_id(&self) -> u64 {
        self.guest
    }

    /// The vCPU's id in its guest.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Bytes of the run-input and run-output buffers.
    #[cfg_attr(
        not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST),
        allow(dead_code, reason = "only the KUnit suites call it yet")
    )]
    pub(crate) fn run_buffer_sizes(&self) -> (usize, usize) {
        (self.run_in.len(), self.run_out.len())
    }

    /// Sets thread-wide element `id` in the L1's copy; it goes to the L0 with
    /// the next [`Vcpu::flush`] or run. Refuses (`-EINVAL`) guest-wide and
    /// host-wide IDs, a value of the wrong type or with reserved bits set,
    /// and (`-EPERM`) read-only IDs.
    pub(crate) fn set(&mut self, id: Id, v: Value) -> Result {
        if id.scope() != Scope::Thread {
            pr_err!("{} is not per-vCPU state\n", id.name());
            return Err(EINVAL);
        }
        if id.is_read_only() {
            pr_err!("{} is read-only for the L1\n", id.name());
            return Err(EPERM);
        }
        if v.ty() != id.ty() {
            return Err(EINVAL);
        }
        if let Some(bits) = v.register_bits() {
            if bits & !id.settable() != 0 {
                return Err(EINVAL);
            }
        }
        self.cache.write(id, v);
        Ok(())
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
        hcall::state::set(Scope::Thread, self.guest, self.id, &mut self.scratch[..len])?;
        self.cache.mark_clean();
        Ok(())
    }

    /// Makes every ID of `ids` valid in the L1's copy: those not valid yet
    /// come from the L0 in one H_GUEST_GET_STATE; the rest cost nothing.
    pub(crate) fn fetch(&mut self, ids: &IdSet) -> Result {
        let mut missing = IdSet::new();
        for id in ids.iter() {
            if id.scope() != Scope::Thread {
                pr_err!("{} is not per-vCPU state\n", id.name());
                return Err(EINVAL);
            }
            if id.class() == crate::gsb::ids::Class::Meta && !self.cache.valid().test(id) {
                // Write-only at QEMU's L0, which aborts on a read.
                pr_err!("{} is only known once the L1 has set it\n", id.name());
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
        hcall::state::get(Scope::Thread, self.guest, self.id, &mut self.scratch[..len])?;
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

    /// Timebase ticks the last H_GUEST_RUN_VCPU took, seen from the L1:
    /// the L0's work and the L2's run, without the L1's own.
    pub(crate) fn last_run_ticks(&self) -> u64 {
        self.last_run_ticks
    }

    /// The run-input buffer as the L0 will read it.
    #[cfg_attr(
        not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST),
        allow(dead_code, reason = "only the KUnit suites call it yet")
    )]
    pub(crate) fn run_input(&self) -> &[u8] {
        &self.run_in
    }

    /// Forgets what the L0 may have changed (as after a run): values not
    /// dirty are fetched again on the next read.
    pub(crate) fn forget_clean(&mut self) {
        self.cache.invalidate_clean();
    }

    /// Registers the vCPU's Virtual Processor Area at L1 real address
    /// `address`, with an H_GUEST_SET_STATE of its own: an L0 that refuses
    /// the element (QEMU's has none) fails this call alone, not a later
    /// flush or run with other state in it.
    #[cfg_attr(
        not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST),
        allow(dead_code, reason = "only the KUnit suites call it yet")
    )]
    pub(crate) fn set_vpa(&mut self, address: u64) -> Result {
        let len = {
            let mut w = Writer::new(&mut self.scratch, Scope::Thread).map_err(gsb_err)?;
            w.put_be64(Id::VPA, address).map_err(gsb_err)?;
            w.len()
        };
        hcall::state::set(Scope::Thread, self.guest, self.id, &mut self.scratch[..len])?;
        self.cache.fill(Id::VPA, Value::Be64(address));
        Ok(())
    }

    /// Runs the vCPU once: the dirty state goes in the run-input buffer,
    /// H_GUEST_RUN_VCPU, then the run-output buffer's elements refresh the
    /// L1's copy and everything else the L0 may have changed is forgotten.
    /// Allocates nothing.
    ///
    /// On failure the dirty state stays dirty: the L0 applies the
    /// run-input buffer only when it runs the vCPU.
    pub(crate) fn run(&mut self) -> Result<exit::Exit> {
        let sent = self.fill_run_input()?;
        let start = timebase();
        let reason = hcall::guest::run_vcpu(self.guest, self.id).inspect_err(|e| {
            stats::record_failure();
            pr_err!(
                "guest {} vCPU {}: H_GUEST_RUN_VCPU failed: {} ({})\n",
                self.guest,
                self.id,
                e.status.name(),
                e.status.0
            );
        })?;
        self.last_run_ticks = timebase().wrapping_sub(start);
        let (exit, received) = self.finish_run(reason)?;
        stats::record(sent, received, exit);
        Ok(exit)
    }

    /// What [`Vcpu::run`] does once H_GUEST_RUN_VCPU has returned
    /// `reason`: the state sent is clean, the rest forgotten, and the
    /// run-output buffer's elements fill the L1's copy.
    fn finish_run(&mut self, reason: u64) -> Result<(exit::Exit, Traffic)> {
        let exit = exit::Exit::from_reason(reason);
        // The L0 applied the input before running.
        self.cache.mark_clean();
        self.cache.invalidate_clean();
        let out = Parsed::parse(&self.run_out, Trailing::Allow).map_err(gsb_err)?;
        for (id, v) in out.iter() {
            self.cache.fill(id, v);
        }
        let received = Traffic {
            elements: out.count().into(),
            bytes: out.len() as u64,
        };
        Ok((exit, received))
    }

    /// The L1's half of a run, without the L0: the run-input buffer is
    /// filled as for [`Vcpu::run`], then the run-output buffer of the last
    /// run is read again as if the L0 had returned `reason`. For the
    /// benchmark, to tell the L1's own cost of an exit from what running
    /// the L2 costs the L1 around it; not counted in the run counters.
    pub(crate) fn dry_run(&mut self, reason: u64) -> Result<exit::Exit> {
        self.fill_run_input()?;
        Ok(self.finish_run(reason)?.0)
    }
}

/// The timebase now (`mftb`).
pub(crate) fn timebase() -> u64 {
    let tb: u64;
    // SAFETY: `mftb` reads the timebase register into `tb`; it touches no
    // memory and no other register.
    unsafe { kernel::asm!("mftb {tb}"; tb = out(reg) tb, options(nomem, nostack)) };
    tb
}
