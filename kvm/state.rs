// SPDX-License-Identifier: GPL-2.0

//! Our own ioctls beyond KVM's (`include/uapi/asm/papr-nested.h`): any set
//! of a VM's or a vCPU's elements in one Guest State Buffer, and snapshots
//! of all of them, with a versioned header, to restore into another VM.
//!
//! Every buffer from userspace is untrusted: it goes through the
//! validating parser, then each element is checked for the fd's scope,
//! for naming L1 memory (never from userspace), for being read-only (on a
//! set) and for bits the L1 may not set, before anything changes. A
//! refusal names the element (index and ID) and why, in the struct
//! userspace passed, as well as by the errno.

use crate::gsb::{ids::Scope, GsbError, Id, IdSet, Parsed, Trailing, Value, Writer};
use core::mem::size_of;
use kernel::{
    ioctl::_IOWR,
    prelude::*,
    transmute::{AsBytes, FromBytes},
    uaccess::{UserPtr, UserSlice},
};

/// `struct papr_nested_state`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(super) struct StateArg {
    buf: u64,
    len: u32,
    flags: u32,
    err_index: u32,
    err_id: u16,
    err_reason: u16,
}

// SAFETY: integers only, no padding (8 + 4 + 4 + 4 + 2 + 2 bytes, each at
// its alignment): every bit pattern is a value, every byte initialised.
unsafe impl FromBytes for StateArg {}
// SAFETY: as above.
unsafe impl AsBytes for StateArg {}

/// `struct papr_nested_snapshot`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct SnapshotHeader {
    magic: u32,
    version: u16,
    scope: u16,
    mode: u64,
    contents: u32,
    gsb_len: u32,
}

// SAFETY: integers only, no padding (4 + 2 + 2, then 8 at offset 8, then
// 4 + 4): every bit pattern is a value, every byte initialised.
unsafe impl FromBytes for SnapshotHeader {}
// SAFETY: as above.
unsafe impl AsBytes for SnapshotHeader {}

const _: () = assert!(size_of::<StateArg>() == 24 && size_of::<SnapshotHeader>() == 24);

/// The ioctl type of the pseries PAPR family, which the header shares.
const PAPR_IOC: u32 = 0xB2;
/// `PAPR_NESTED_GET_STATE`.
pub(super) const GET_STATE: u32 = _IOWR::<StateArg>(PAPR_IOC, 0x10);
/// `PAPR_NESTED_SET_STATE`.
pub(super) const SET_STATE: u32 = _IOWR::<StateArg>(PAPR_IOC, 0x11);
/// `PAPR_NESTED_SNAPSHOT`.
pub(super) const SNAPSHOT: u32 = _IOWR::<StateArg>(PAPR_IOC, 0x12);
/// `PAPR_NESTED_RESTORE`.
pub(super) const RESTORE: u32 = _IOWR::<StateArg>(PAPR_IOC, 0x13);

/// `PAPR_NESTED_SNAPSHOT_MAGIC`: "PNSS" in memory.
const MAGIC: u32 = u32::from_le_bytes(*b"PNSS");
/// `PAPR_NESTED_SNAPSHOT_VERSION`.
const VERSION: u16 = 1;
/// `PAPR_NESTED_HOLDS_REGISTERS`.
const HOLDS_REGISTERS: u32 = 1;

/// `PAPR_NESTED_ERR_*`: why a buffer was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u16)]
enum Reason {
    Malformed = 1,
    UnknownId = 2,
    Size = 3,
    Duplicate = 4,
    Scope = 5,
    Meta = 6,
    ReadOnly = 7,
    Value = 8,
    Header = 9,
    Version = 10,
    Mode = 11,
    Incomplete = 12,
}

/// A failed call: the errno and, where an element or the snapshot header
/// is at fault, what userspace is told of it.
struct Refusal {
    errno: Error,
    /// The element (index, raw ID) and why; `None` for a failure that is
    /// no element's (a bad address, no memory, the L0's refusal).
    at: Option<(u32, u16, Reason)>,
}

impl From<Error> for Refusal {
    fn from(errno: Error) -> Refusal {
        Refusal { errno, at: None }
    }
}

impl From<kernel::alloc::AllocError> for Refusal {
    fn from(_: kernel::alloc::AllocError) -> Refusal {
        ENOMEM.into()
    }
}

impl Refusal {
    fn new(errno: Error, reason: Reason, index: u32, id: u16) -> Refusal {
        Refusal {
            errno,
            at: Some((index, id, reason)),
        }
    }

    /// The snapshot header is at fault.
    fn header(errno: Error, reason: Reason) -> Refusal {
        Refusal::new(errno, reason, 0, 0)
    }

    /// The parser's error, as userspace is told it.
    fn parse(e: GsbError) -> Refusal {
        match e {
            GsbError::UnknownId { index, id } => Refusal::new(ENOENT, Reason::UnknownId, index, id),
            GsbError::BadLength { index, id, .. } => Refusal::new(EINVAL, Reason::Size, index, id),
            GsbError::Duplicate { index, id } => Refusal::new(EINVAL, Reason::Duplicate, index, id),
            GsbError::Truncated { index, id } => {
                Refusal::new(EINVAL, Reason::Malformed, index, id.unwrap_or(0))
            }
            // Bytes after the last element: the place of the element they
            // would be.
            GsbError::TrailingBytes { count, .. } => {
                Refusal::new(EINVAL, Reason::Malformed, count, 0)
            }
            _ => Refusal::new(EINVAL, Reason::Malformed, 0, 0),
        }
    }
}

/// What the ioctls act on: a VM's guest (guest-wide elements) or one
/// vCPU (per-vCPU elements).
pub(super) trait Target {
    /// The scope of the fd's elements.
    const SCOPE: Scope;

    /// Gives each element of `ids` to `out`: those the L1 holds at no
    /// cost, the rest in one H_GUEST_GET_STATE.
    fn fetch(&self, ids: &IdSet, out: &mut dyn FnMut(Id, Value)) -> Result;

    /// Sets every element of `elements` or none; with `now`, at the L0
    /// before returning, so that it refuses now or never.
    fn apply(&self, elements: &[(Id, Value)], now: bool) -> Result;

    /// The processor mode the guest runs in (an `H_GUEST_CAP_POWER*`
    /// bit).
    fn mode(&self) -> u64;
}

/// `PAPR_NESTED_SCOPE_*` of `scope`.
const fn scope_code(scope: Scope) -> u16 {
    match scope {
        Scope::Guest => 1,
        Scope::Thread => 2,
        Scope::Host => 0,
    }
}

/// The largest buffer an fd of `scope` takes or gives: every element of
/// the scope once, after a snapshot header.
fn max_len(scope: Scope) -> usize {
    size_of::<SnapshotHeader>() + IdSet::of_scope(scope).buffer_size()
}

/// Checks the elements of `p` for an fd of `scope` with the core's own
/// check ([`Id::check_reach`] for a get, [`Id::check_set`] for a set).
/// Returns them, in buffer order.
fn check(p: &Parsed<'_>, scope: Scope, set: bool) -> Result<KVec<(Id, Value)>, Refusal> {
    let mut out = KVec::with_capacity(p.count() as usize, GFP_KERNEL)?;
    for (index, (id, v)) in (0u32..).zip(p.iter()) {
        let checked = if set {
            id.check_set(v, scope)
        } else {
            id.check_reach(scope)
        };
        if let Err(e) = checked {
            let reason = match e {
                GsbError::WrongScope { .. } => Reason::Scope,
                GsbError::NamesL1Memory { .. } => Reason::Meta,
                GsbError::ReadOnly { .. } => Reason::ReadOnly,
                GsbError::ReservedBits { .. } => Reason::Value,
                // A parsed element has its ID's type: nothing else is
                // left, but the buffer is at fault if it were.
                _ => Reason::Malformed,
            };
            return Err(Refusal::new(e.into(), reason, index, id.raw()));
        }
        // Room for every element was reserved above: no allocation.
        out.push((id, v), GFP_KERNEL)?;
    }
    Ok(out)
}

/// Writes `values` as a buffer of `scope` into `buf`; returns its length.
fn encode(buf: &mut [u8], scope: Scope, values: &[(Id, Value)]) -> Result<usize> {
    let mut w = Writer::new(buf, scope)?;
    for (id, v) in values {
        w.put(*id, *v)?;
    }
    Ok(w.len())
}

/// The values of `ids` from `t`, in ID order.
fn fetch_all<T: Target>(t: &T, ids: &IdSet) -> Result<KVec<(Id, Value)>> {
    let mut values = KVec::with_capacity(ids.len(), GFP_KERNEL)?;
    let mut full = false;
    t.fetch(ids, &mut |id, v| {
        // Room for every ID was reserved above: no allocation, and a push
        // past it (an `out` called too often) is refused, not grown.
        full |= values.push_within_capacity((id, v)).is_err();
    })?;
    if full || values.len() != ids.len() {
        return Err(EPROTO);
    }
    Ok(values)
}

/// Reads the first `len` bytes at userspace address `buf`, `len` at most
/// `max` (`-E2BIG` otherwise).
fn read_user(buf: u64, len: u32, max: usize) -> Result<KVec<u8>> {
    let len = len as usize;
    if len > max {
        return Err(E2BIG);
    }
    let mut v = KVec::with_capacity(len, GFP_KERNEL)?;
    let addr = usize::try_from(buf).map_err(|_| EFAULT)?;
    UserSlice::new(UserPtr::from_addr(addr), len)
        .reader()
        .read_all(&mut v, GFP_KERNEL)?;
    Ok(v)
}

/// Writes `data` to userspace address `buf`.
fn write_user(buf: u64, data: &[u8]) -> Result {
    let addr = usize::try_from(buf).map_err(|_| EFAULT)?;
    UserSlice::new(UserPtr::from_addr(addr), data.len())
        .writer()
        .write_slice(data)
}

/// `PAPR_NESTED_GET_STATE`: the buffer names elements (its data is
/// ignored); each element's data is overwritten with its value, in place.
fn get_state<T: Target>(t: &T, a: &mut StateArg) -> Result<(), Refusal> {
    let mut buf = read_user(a.buf, a.len, max_len(T::SCOPE))?;
    let wanted = {
        let p = Parsed::parse(&buf, Trailing::Reject).map_err(Refusal::parse)?;
        check(&p, T::SCOPE, false)?
    };
    let mut ids = IdSet::new();
    for (id, _) in wanted.iter() {
        ids.set(*id);
    }
    let values = fetch_all(t, &ids)?;
    let mut answer = KVec::with_capacity(wanted.len(), GFP_KERNEL)?;
    for (id, _) in wanted.iter() {
        let v = values.iter().find(|(i, _)| i == id).ok_or(EPROTO)?.1;
        answer.push((*id, v), GFP_KERNEL)?;
    }
    let len = encode(&mut buf, T::SCOPE, &answer)?;
    write_user(a.buf, &buf[..len])?;
    a.len = u32::try_from(len).map_err(|_| EINVAL)?;
    Ok(())
}

/// `PAPR_NESTED_SET_STATE`: every element of the buffer, or none. A
/// vCPU's go to the L0 with its next run or exchange, a guest's at once.
fn set_state<T: Target>(t: &T, a: &StateArg) -> Result<(), Refusal> {
    let buf = read_user(a.buf, a.len, max_len(T::SCOPE))?;
    let p = Parsed::parse(&buf, Trailing::Reject).map_err(Refusal::parse)?;
    let elements = check(&p, T::SCOPE, true)?;
    t.apply(&elements, false)?;
    Ok(())
}

/// `PAPR_NESTED_SNAPSHOT`: the header, then every element of
/// [`IdSet::settable_of_scope`]. `-ENOSPC` with `len` the bytes needed
/// where the buffer is smaller.
fn snapshot<T: Target>(t: &T, a: &mut StateArg) -> Result<(), Refusal> {
    let ids = IdSet::settable_of_scope(T::SCOPE);
    let hdr_len = size_of::<SnapshotHeader>();
    let total = hdr_len + ids.buffer_size();
    let needed = u32::try_from(total).map_err(|_| EINVAL)?;
    if (a.len as usize) < total {
        a.len = needed;
        return Err(ENOSPC.into());
    }
    let mut values = fetch_all(t, &ids)?;
    // The bits the L1 may not set (MSR's HV, S and ME; LPCR's outside
    // DPFD, ILE, AIL, LD, MER and GTSE) are the L0's: left out, so that
    // the snapshot restores, and set by the L0 again.
    for (id, v) in values.iter_mut() {
        match v {
            Value::Be64(x) => *x &= id.settable(),
            Value::Be32(x) => *x &= id.settable() as u32,
            _ => {}
        }
    }
    let mut buf = KVec::from_elem(0u8, total, GFP_KERNEL)?;
    let gsb_len = encode(&mut buf[hdr_len..], T::SCOPE, &values)?;
    let h = SnapshotHeader {
        magic: MAGIC,
        version: VERSION,
        scope: scope_code(T::SCOPE),
        mode: t.mode(),
        contents: HOLDS_REGISTERS,
        gsb_len: u32::try_from(gsb_len).map_err(|_| EINVAL)?,
    };
    buf[..hdr_len].copy_from_slice(h.as_bytes());
    write_user(a.buf, &buf[..hdr_len + gsb_len])?;
    a.len = u32::try_from(hdr_len + gsb_len).map_err(|_| EINVAL)?;
    Ok(())
}

/// `PAPR_NESTED_RESTORE`: a snapshot of this fd's scope, version and
/// processor mode, holding every element of [`IdSet::settable_of_scope`]
/// and nothing else, all checked before any is set; then all of them are
/// set, at the L0 before the call returns.
fn restore<T: Target>(t: &T, a: &StateArg) -> Result<(), Refusal> {
    let buf = read_user(a.buf, a.len, max_len(T::SCOPE))?;
    let hdr_len = size_of::<SnapshotHeader>();
    let (head, gsb) = buf
        .split_at_checked(hdr_len)
        .ok_or(Refusal::header(EINVAL, Reason::Header))?;
    // Copied out: the buffer's bytes need not be aligned for the header.
    let mut h = SnapshotHeader::default();
    h.as_bytes_mut().copy_from_slice(head);
    if h.magic != MAGIC || h.contents != HOLDS_REGISTERS || h.gsb_len as usize != gsb.len() {
        return Err(Refusal::header(EINVAL, Reason::Header));
    }
    if h.version != VERSION {
        return Err(Refusal::header(EOPNOTSUPP, Reason::Version));
    }
    if h.scope != scope_code(T::SCOPE) {
        return Err(Refusal::header(EINVAL, Reason::Scope));
    }
    if h.mode != t.mode() {
        return Err(Refusal::header(EOPNOTSUPP, Reason::Mode));
    }
    let p = Parsed::parse(gsb, Trailing::Reject).map_err(Refusal::parse)?;
    let elements = check(&p, T::SCOPE, true)?;
    let want = IdSet::settable_of_scope(T::SCOPE);
    if let Some(missing) = want.iter().find(|id| !p.contains(*id)) {
        return Err(Refusal::new(
            EINVAL,
            Reason::Incomplete,
            p.count(),
            missing.raw(),
        ));
    }
    t.apply(&elements, true)?;
    Ok(())
}

/// One of the ioctls on `t`'s fd; `arg` is the userspace address of its
/// `struct papr_nested_state`, which gets `len` and the element at fault
/// back.
pub(super) fn ioctl<T: Target>(t: &T, cmd: u32, arg: usize) -> Result<isize> {
    let user = UserSlice::new(UserPtr::from_addr(arg), size_of::<StateArg>());
    let (mut reader, mut writer) = user.reader_writer();
    let mut a = reader.read::<StateArg>()?;
    if a.flags != 0 {
        return Err(EINVAL);
    }
    a.err_index = 0;
    a.err_id = 0;
    a.err_reason = 0;
    let done = match cmd {
        GET_STATE => get_state(t, &mut a),
        SET_STATE => set_state(t, &a),
        SNAPSHOT => snapshot(t, &mut a),
        RESTORE => restore(t, &a),
        _ => return Err(ENOTTY),
    };
    if let Err(Refusal {
        at: Some((index, id, reason)),
        ..
    }) = &done
    {
        a.err_index = *index;
        a.err_id = *id;
        a.err_reason = *reason as u16;
    }
    writer.write(&a)?;
    done.map(|()| 0).map_err(|r| r.errno)
}
