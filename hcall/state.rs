// SPDX-License-Identifier: GPL-2.0

//! H_GUEST_GET_STATE and H_GUEST_SET_STATE: Guest State Buffers to and
//! from the L0.

use super::{call, linear_map_pa, status, HcallError, Opcode};
use crate::gsb::message::HostWideCounters;
use crate::gsb::{ids::Scope, Id, Message, Parsed, Trailing, Writer};
use kernel::prelude::*;

/// The L0 refused one element of a buffer: which one and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ElementError {
    /// The failed call.
    pub(crate) call: HcallError,
    /// The element's position in the buffer, as the L0 reported it.
    pub(crate) index: u64,
    /// The element's ID, where the index is within the buffer.
    pub(crate) id: Option<Id>,
}

/// Reads the raw ID of element `index` of `buf`, walking its elements.
fn id_at(buf: &[u8], index: u64) -> Option<Id> {
    let parsed = Parsed::parse(buf, Trailing::Allow).ok()?;
    let (id, _) = parsed.iter().nth(usize::try_from(index).ok()?)?;
    Some(id)
}

/// Makes a state exchange with `buf` and logs an element the L0 refused by its
/// index, ID and name.
fn exchange(
    opcode: Opcode,
    scope: Scope,
    guest: u64,
    vcpu: u64,
    buf: &mut [u8],
) -> Result<(), ElementError> {
    let fail = |call: HcallError| ElementError {
        call,
        index: 0,
        id: None,
    };
    let pa = linear_map_pa(buf).map_err(|_| {
        fail(HcallError {
            opcode,
            status: super::HvStatus(status::H_PARAMETER),
            detail: 0,
        })
    })?;
    let args = [scope.hcall_flags(), guest, vcpu, pa, buf.len() as u64];
    match call(opcode, &args) {
        Ok(_) => Ok(()),
        Err(e) => {
            let element = matches!(
                e.status.0,
                status::H_INVALID_ELEMENT_ID
                    | status::H_INVALID_ELEMENT_SIZE
                    | status::H_INVALID_ELEMENT_VALUE
            );
            if !element {
                return Err(fail(e));
            }
            let id = id_at(buf, e.detail);
            pr_err!(
                "{}: the L0 refused element {} ({:#06x} {}): {}\n",
                opcode.name(),
                e.detail,
                id.map_or(0, |id| id.raw()),
                id.map_or("?", |id| id.name()),
                e.status.name()
            );
            Err(ElementError {
                call: e,
                index: e.detail,
                id,
            })
        }
    }
}

/// H_GUEST_GET_STATE: the L0 fills in the elements `buf` lists, all of
/// `scope`. For the host-wide scope, `guest` and `vcpu` are ignored.
pub(crate) fn get(scope: Scope, guest: u64, vcpu: u64, buf: &mut [u8]) -> Result<(), ElementError> {
    exchange(Opcode::GetState, scope, guest, vcpu, buf)
}

impl From<ElementError> for Error {
    fn from(e: ElementError) -> Error {
        e.call.into()
    }
}

/// H_GUEST_SET_STATE: the L0 takes the elements of `buf`, all of `scope`
/// (guest-wide or thread-wide; the host-wide elements are read-only).
pub(crate) fn set(scope: Scope, guest: u64, vcpu: u64, buf: &mut [u8]) -> Result<(), ElementError> {
    exchange(Opcode::SetState, scope, guest, vcpu, buf)
}

/// Reads the L0's host-wide counters: one H_GUEST_GET_STATE with the
/// host-wide flag, its answer checked and every counter taken from it.
pub(crate) fn host_wide_counters() -> Result<HostWideCounters> {
    let mut counters = HostWideCounters::new();
    let mut buf = KVec::from_elem(0u8, counters.buffer_size(), GFP_KERNEL)?;
    let mut w = Writer::new(&mut buf, Scope::Host)?;
    counters.fill(&mut w)?;
    get(Scope::Host, 0, 0, &mut buf)?;
    let answer = Parsed::parse(&buf, Trailing::Reject)?;
    if answer.ids() != *counters.included() {
        pr_err!("H_GUEST_GET_STATE(host-wide): the L0 answered other elements than asked\n");
        return Err(EPROTO);
    }
    counters.refresh(&answer)?;
    Ok(counters)
}
