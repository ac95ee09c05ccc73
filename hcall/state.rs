// SPDX-License-Identifier: GPL-2.0

//! H_GUEST_GET_STATE and H_GUEST_SET_STATE: Guest State Buffers to and
//! from the L0.

use super::{call, mem::L0Mem, status, HcallError, Opcode, Tally};
use crate::gsb::message::HostWideCounters;
use crate::gsb::{ids::Scope, Id, Message, Parsed, Trailing, Writer};
use kernel::prelude::*;

/// Reads the ID of element `index` of `buf`, walking its elements.
fn id_at(buf: &[u8], index: u64) -> Option<Id> {
    let parsed = Parsed::parse(buf, Trailing::Allow).ok()?;
    let (id, _) = parsed.iter().nth(usize::try_from(index).ok()?)?;
    Some(id)
}

/// Logs a failed exchange; an element the L0 refused by its index, ID and
/// name.
fn report(e: &HcallError, buf: &[u8]) {
    let element = matches!(
        e.status.0,
        status::H_INVALID_ELEMENT_ID
            | status::H_INVALID_ELEMENT_SIZE
            | status::H_INVALID_ELEMENT_VALUE
    );
    if element {
        let id = id_at(buf, e.detail);
        pr_err!(
            "{}: the L0 refused element {} ({:#06x} {}): {}\n",
            e.opcode.name(),
            e.detail,
            id.map_or(0, |id| id.raw()),
            id.map_or("?", |id| id.name()),
            e.status.name()
        );
    }
}

/// Makes a state exchange with the first `len` bytes of `buf`.
///
/// # Safety
///
/// Every L1 real address in those bytes is of memory the L0 may use for
/// as long as it keeps it (until the guest is deleted): see
/// [`super::mem::L0Mem`].
unsafe fn exchange(
    opcode: Opcode,
    scope: Scope,
    guest: u64,
    vcpu: u64,
    buf: &mut L0Mem,
    len: usize,
    tally: &mut Tally,
) -> Result {
    if len > buf.len() {
        return Err(EINVAL);
    }
    let args = [
        scope.hcall_flags(),
        guest,
        vcpu,
        buf.real_address(),
        len as u64,
    ];
    // SAFETY: `buf` is an `L0Mem`, borrowed mutably for the whole call, and
    // the L0 reads and writes only its first `len` bytes during the call;
    // the caller vouches for the addresses inside them.
    match unsafe { call(opcode, &args, tally) } {
        Ok(_) => Ok(()),
        Err(e) => {
            report(&e, &buf[..len]);
            Err(e.into())
        }
    }
}

/// H_GUEST_GET_STATE: the L0 fills in the elements the first `len` bytes of
/// `buf` list, all of `scope`. For the host-wide scope, `guest` and `vcpu`
/// are ignored.
pub(crate) fn get(
    scope: Scope,
    guest: u64,
    vcpu: u64,
    buf: &mut L0Mem,
    len: usize,
    tally: &mut Tally,
) -> Result {
    // SAFETY: a GET hands the L0 no address of its own: it writes values
    // into `buf` and keeps nothing.
    unsafe { exchange(Opcode::GetState, scope, guest, vcpu, buf, len, tally) }
}

/// H_GUEST_SET_STATE: the L0 takes the elements of the first `len` bytes
/// of `buf`, all of `scope` (guest-wide or thread-wide). Refuses with
/// `-EPERM`, before any hcall, a buffer with an element that names L1
/// memory (run buffers, VPA, partition or process table): those go
/// through [`set_registering`], whose caller owns that memory.
pub(crate) fn set(
    scope: Scope,
    guest: u64,
    vcpu: u64,
    buf: &mut L0Mem,
    len: usize,
    tally: &mut Tally,
) -> Result {
    let parsed = Parsed::parse(&buf[..len.min(buf.len())], Trailing::Reject)?;
    if let Some((id, _)) = parsed.iter().find(|(id, _)| id.names_l1_memory()) {
        pr_err!("{} names L1 memory: set only by its owner\n", id.name());
        return Err(EPERM);
    }
    // SAFETY: no element of the buffer carries an L1 address (checked
    // above), so the L0 keeps no memory of the L1's from this call.
    unsafe { exchange(Opcode::SetState, scope, guest, vcpu, buf, len, tally) }
}

/// H_GUEST_SET_STATE of elements that register L1 memory with the L0.
///
/// Should the call fail, the L0 may still have applied some elements: the
/// caller treats the memory they name as registered.
///
/// # Safety
///
/// Every address in the first `len` bytes of `buf` is the real address of
/// an [`L0Mem`] that the caller keeps (or leaks) until the L0 has deleted
/// the guest or been given another address for the same element.
pub(crate) unsafe fn set_registering(
    scope: Scope,
    guest: u64,
    vcpu: u64,
    buf: &mut L0Mem,
    len: usize,
    tally: &mut Tally,
) -> Result {
    // SAFETY: the caller vouches for the addresses in the buffer.
    unsafe { exchange(Opcode::SetState, scope, guest, vcpu, buf, len, tally) }
}

/// Reads the L0's host-wide counters: one H_GUEST_GET_STATE with the
/// host-wide flag, its answer checked and every counter taken from it.
pub(crate) fn host_wide_counters() -> Result<HostWideCounters> {
    let mut counters = HostWideCounters::new();
    let len = counters.buffer_size();
    let mut buf = L0Mem::zeroed(len)?;
    let mut w = Writer::new(&mut buf, Scope::Host)?;
    counters.fill(&mut w)?;
    get(Scope::Host, 0, 0, &mut buf, len, &mut Tally::default())?;
    let answer = Parsed::parse(&buf, Trailing::Reject)?;
    if answer.ids() != *counters.included() {
        pr_err!("H_GUEST_GET_STATE(host-wide): the L0 answered other elements than asked\n");
        return Err(EPROTO);
    }
    counters.refresh(&answer)?;
    Ok(counters)
}
