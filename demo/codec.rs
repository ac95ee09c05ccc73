// SPDX-License-Identifier: GPL-2.0

//! The codec benchmark: our Guest State Buffer code against the kernel's C
//! library (`arch/powerpc/kvm/guest-state-buffer.c`, which kvm-hv's
//! nestedv2 uses), on the same work, in the same boot, timed in timebase
//! ticks and never asserted on (debugfs file `codec`):
//!
//! - encode: the full per-vCPU state (every element a snapshot holds, 163
//!   of them) into a buffer, from values the L1 holds: ours with
//!   [`Writer::put`] (which also checks scope, type and settable bits),
//!   the C with `__kvmppc_gse_put()` after the values' conversion to
//!   big-endian, as `kvmppc_gse_put_u64()` and its kind do;
//! - parse: the run-output buffer of a hypervisor-call exit (GPR3-GPR12),
//!   each value taken: ours with [`RunOutput::parse_with`] (which also
//!   checks scope, meta and duplicates, and takes each value as it goes),
//!   the C with
//!   `kvmppc_gse_parse()` into a zeroed parser, as nestedv2 does, then
//!   `kvmppc_gsp_lookup()` of each register.
//!
//! Built where the kernel has the C library (`CONFIG_KVM_BOOK3S_64_HANDLER`,
//! with `patches/0004` for its bindings).

use crate::gsb::{ids::Scope, Id, IdSet, RunOutput, Value, Writer};
use crate::platform::timebase;
use crate::vcpu::exit::Exit;
use core::ffi::c_void;
use kernel::{bindings, prelude::*};

/// The most iterations one run may make.
pub(crate) const MAX_ITERATIONS: u32 = 100_000;

/// What one run measured: ticks for all iterations of each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Report {
    /// Iterations of each of the four.
    pub(crate) iterations: u32,
    /// Elements encoded per iteration.
    pub(crate) encoded: u32,
    /// Elements parsed per iteration.
    pub(crate) parsed: u32,
    pub(crate) encode_rust_ticks: u64,
    pub(crate) encode_c_ticks: u64,
    pub(crate) parse_rust_ticks: u64,
    pub(crate) parse_c_ticks: u64,
}

/// The C library's buffer, freed when dropped.
///
/// # Invariants
///
/// `0` is a buffer `kvmppc_gsb_new()` returned, not yet freed.
struct CBuffer(*mut bindings::kvmppc_gs_buff);

impl CBuffer {
    fn new(size: usize) -> Result<CBuffer> {
        // SAFETY: any size and ids; the library allocates and owns it.
        let b = unsafe { bindings::kvmppc_gsb_new(size, 0, 0, bindings::GFP_KERNEL) };
        if b.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: returned by `kvmppc_gsb_new()` just now.
        Ok(CBuffer(b))
    }

    /// Empties the buffer, as the library's inline `kvmppc_gsb_reset()`.
    fn reset(&mut self) {
        // SAFETY: a live buffer (type invariant), whose `hdr` points at its
        // header, at least `sizeof(struct kvmppc_gs_header)` bytes.
        unsafe {
            (*(*self.0).hdr).nelems = 0;
            (*self.0).len = core::mem::size_of::<bindings::kvmppc_gs_header>();
        }
    }
}

impl Drop for CBuffer {
    fn drop(&mut self) {
        // SAFETY: a live buffer (type invariant), freed once, here.
        unsafe { bindings::kvmppc_gsb_free(self.0) };
    }
}

/// The elements a snapshot of a vCPU holds, with values the L1 may set.
fn full_state() -> Result<KVec<(Id, Value)>> {
    let ids = IdSet::settable_of_scope(Scope::Thread);
    let mut out = KVec::with_capacity(ids.len(), GFP_KERNEL)?;
    for (n, id) in (1u64..).zip(ids.iter()) {
        let v = match Value::zero(id.ty()) {
            Value::Be32(_) => Value::Be32(n as u32 & id.settable() as u32),
            Value::Be64(_) => Value::Be64((n * 0x0101) & id.settable()),
            other => other,
        };
        out.push((id, v), GFP_KERNEL)?;
    }
    Ok(out)
}

/// Runs each of the four `iterations` times.
pub(crate) fn run(iterations: u32) -> Result<Report> {
    if !(1..=MAX_ITERATIONS).contains(&iterations) {
        pr_err!(
            "codec: {} iterations: want 1..={}\n",
            iterations,
            MAX_ITERATIONS
        );
        return Err(EINVAL);
    }
    let state = full_state()?;
    let size = IdSet::of_scope(Scope::Thread).buffer_size();
    let mut ours = KVec::from_elem(0u8, size, GFP_KERNEL)?;
    let mut theirs = CBuffer::new(size)?;
    let mut r = Report {
        iterations,
        encoded: state.len() as u32,
        ..Report::default()
    };

    // Encode.
    let start = timebase();
    for _ in 0..iterations {
        let mut w = Writer::new(&mut ours, Scope::Thread)?;
        for (id, v) in state.iter() {
            w.put(*id, *v)?;
        }
    }
    r.encode_rust_ticks = timebase().wrapping_sub(start);
    let start = timebase();
    for _ in 0..iterations {
        theirs.reset();
        for (id, v) in state.iter() {
            let mut be = [0u8; 16];
            let len = v.ty().size();
            v.encode(&mut be[..len]);
            // SAFETY: a live buffer (type invariant of `CBuffer`); `be`
            // holds `len` bytes of data, which the call copies.
            let rc = unsafe {
                bindings::__kvmppc_gse_put(
                    theirs.0,
                    id.raw(),
                    len as u16,
                    be.as_ptr().cast::<c_void>(),
                )
            };
            if rc != 0 {
                return Err(Error::from_errno(rc));
            }
        }
    }
    r.encode_c_ticks = timebase().wrapping_sub(start);

    // Parse a hypervisor-call exit's run output, built once.
    let regs = Exit::HypervisorCall.registers();
    let mut out = KVec::from_elem(0u8, 4 + regs.len() * 12, GFP_KERNEL)?;
    let len = {
        let mut w = Writer::new(&mut out, Scope::Thread)?;
        for (n, id) in (1u64..).zip(regs.iter()) {
            w.put(*id, Value::Be64(n))?;
        }
        w.len()
    };
    r.parsed = regs.len() as u32;
    let required = Exit::HypervisorCall.required();
    let mut sum = 0u64;
    let start = timebase();
    for _ in 0..iterations {
        RunOutput::parse_with(&out[..len], required, |_, v| {
            if let Value::Be64(x) = v {
                sum = sum.wrapping_add(x);
            }
        })?;
    }
    r.parse_rust_ticks = timebase().wrapping_sub(start);
    let mut c_in = CBuffer::new(len)?;
    c_in.reset();
    let body = len - crate::gsb::HEADER_SIZE;
    // SAFETY: a live buffer (type invariant of `CBuffer`); the library
    // returns room for `body` bytes after what it holds, or NULL.
    let dst = unsafe { bindings::kvmppc_gsb_put(c_in.0, body) }.cast::<u8>();
    if dst.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: `dst` is `body` writable bytes of the C buffer, `out` holds
    // `len` bytes, and the header the reset emptied gets the count.
    unsafe {
        core::ptr::copy_nonoverlapping(out.as_ptr().add(crate::gsb::HEADER_SIZE), dst, body);
        (*(*c_in.0).hdr).nelems = (regs.len() as u32).to_be();
    }
    let mut parser = KBox::new(
        // SAFETY: the parser is integers and pointers only: all-zero is
        // its empty state, as nestedv2's `= { 0 }`.
        unsafe { core::mem::zeroed::<bindings::kvmppc_gs_parser>() },
        GFP_KERNEL,
    )?;
    let start = timebase();
    for _ in 0..iterations {
        // SAFETY: the parser is ours and live; all-zero is its empty
        // state (as above), which is what a parse starts from.
        unsafe { core::ptr::write_bytes(&mut *parser, 0, 1) };
        // SAFETY: a live parser and buffer, which the call only reads
        // (the buffer) and fills (the parser).
        let rc = unsafe { bindings::kvmppc_gse_parse(&mut *parser, c_in.0) };
        if rc != 0 {
            return Err(Error::from_errno(rc));
        }
        for id in regs {
            // SAFETY: a parser just filled from a live buffer: the element
            // it gives, where any, lies within that buffer.
            let e = unsafe { bindings::kvmppc_gsp_lookup(&mut *parser, id.raw()) };
            if e.is_null() {
                return Err(EPROTO);
            }
            let mut be = [0u8; 8];
            // SAFETY: a doubleword element's 8 data bytes follow its
            // 4-byte header, within the buffer.
            unsafe { core::ptr::copy_nonoverlapping(e.cast::<u8>().add(4), be.as_mut_ptr(), 8) };
            sum = sum.wrapping_sub(u64::from_be_bytes(be));
        }
    }
    r.parse_c_ticks = timebase().wrapping_sub(start);
    // Both read the same values: what one added the other took away.
    if sum != 0 {
        pr_err!("codec: the two parses read different values\n");
        return Err(EPROTO);
    }
    Ok(r)
}
