// SPDX-License-Identifier: GPL-2.0

//! Checking and reading a buffer from an untrusted source (the L0).

use super::error::GsbError;
use super::ids::{Class, ElemType, Id, Scope, ID_COUNT};
use super::idset::IdSet;
use super::value::Value;
use super::{ELEM_HEADER_SIZE, HEADER_SIZE};

/// A checked buffer: every element is complete, has a known ID, the size
/// of that ID and appears once. Lookup by ID is O(1); iteration keeps
/// buffer order.
pub struct Parsed<'a> {
    buf: &'a [u8],
    count: u32,
    end: usize,
    /// Offset of each ID's data in `buf` by dense index; 0 for absent (no
    /// data can start before the first element header ends).
    data_at: [u32; ID_COUNT],
}

/// What may follow the last element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trailing {
    /// Nothing: the buffer is exactly the elements (what the L1 built).
    Reject,
    /// Unused space: the buffer is a region the L0 filled from its start,
    /// such as a run-output buffer.
    Allow,
}

#[inline(always)]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Checks element `index`, which starts at `at` (within `buf`): its header
/// within `buf`, a known ID, the ID's size as its length, its data within
/// `buf`. Returns the ID, where its data starts and its size. Inlined:
/// it is the per-element step of both readers' loops.
#[inline(always)]
fn element_at(buf: &[u8], at: usize, index: u32) -> Result<(Id, usize, usize), GsbError> {
    if buf.len() - at < ELEM_HEADER_SIZE {
        return Err(GsbError::Truncated { index, id: None });
    }
    let raw = be16(buf, at);
    let len = be16(buf, at + 2);
    let Some(id) = Id::new(raw) else {
        return Err(GsbError::UnknownId { index, id: raw });
    };
    let size = id.size();
    if usize::from(len) != size {
        return Err(GsbError::BadLength {
            index,
            id: raw,
            len,
            // Element sizes are at most 24 (`ElemType::size`).
            expected: size as u16,
        });
    }
    let data = at + ELEM_HEADER_SIZE;
    if buf.len() - data < size {
        return Err(GsbError::Truncated {
            index,
            id: Some(raw),
        });
    }
    Ok((id, data, size))
}

impl<'a> Parsed<'a> {
    /// Checks `buf` and indexes its elements. Never reads outside `buf`.
    pub fn parse(buf: &'a [u8], trailing: Trailing) -> Result<Parsed<'a>, GsbError> {
        let Some(header) = buf.get(..HEADER_SIZE) else {
            return Err(GsbError::ShortHeader { len: buf.len() });
        };
        let count = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let mut p = Parsed {
            buf,
            count,
            end: HEADER_SIZE,
            data_at: [0; ID_COUNT],
        };
        let mut at = HEADER_SIZE;
        for index in 0..count {
            let (id, data, size) = element_at(buf, at, index)?;
            let raw = id.raw();
            let slot = &mut p.data_at[id.index()];
            if *slot != 0 {
                return Err(GsbError::Duplicate { index, id: raw });
            }
            // A buffer the size of the address space could overflow u32;
            // refuse rather than truncate.
            *slot = u32::try_from(data).map_err(|_| GsbError::Truncated {
                index,
                id: Some(raw),
            })?;
            at = data + size;
        }
        if trailing == Trailing::Reject && at != buf.len() {
            return Err(GsbError::TrailingBytes {
                count,
                extra: buf.len() - at,
            });
        }
        p.end = at;
        Ok(p)
    }

    /// The number of elements.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Bytes the header and elements take.
    #[cfg_attr(
        CONFIG_RUST,
        expect(dead_code, reason = "used by the host crate's tests and fuzz target")
    )]
    pub fn len(&self) -> usize {
        self.end
    }

    /// Whether the buffer has no elements.
    #[cfg_attr(
        CONFIG_RUST,
        expect(
            dead_code,
            reason = "used by the host crate's tests; it goes with len()"
        )
    )]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether the buffer has element `id`.
    pub fn contains(&self, id: Id) -> bool {
        self.data_at[id.index()] != 0
    }

    /// The value of element `id`, if present.
    pub fn get(&self, id: Id) -> Option<Value> {
        let at = self.data_at[id.index()] as usize;
        if at == 0 {
            return None;
        }
        let ty = id.ty();
        Some(Value::decode(ty, &self.buf[at..at + ty.size()]))
    }

    /// The value of 64-bit element `id`, if present (`None` also for an ID
    /// of another type).
    #[cfg_attr(
        all(CONFIG_RUST, not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST)),
        expect(
            dead_code,
            reason = "used by the KUnit suites and the host crate's tests"
        )
    )]
    pub fn get_be64(&self, id: Id) -> Option<u64> {
        match (id.ty(), self.get(id)) {
            (ElemType::Be64, Some(Value::Be64(v))) => Some(v),
            _ => None,
        }
    }

    /// The IDs present.
    pub fn ids(&self) -> IdSet {
        let mut s = IdSet::new();
        for (i, at) in self.data_at.iter().enumerate() {
            if *at != 0 {
                if let Some(id) = Id::from_index(i) {
                    s.set(id);
                }
            }
        }
        s
    }

    /// The elements in buffer order.
    pub fn iter(&self) -> impl Iterator<Item = (Id, Value)> + '_ {
        let mut at = HEADER_SIZE;
        (0..self.count).filter_map(move |_| {
            // Checked by `parse`: a known ID, its size, within `buf`.
            let id = Id::new(be16(self.buf, at))?;
            let size = id.size();
            let data = at + ELEM_HEADER_SIZE;
            at = data + size;
            Some((id, Value::decode(id.ty(), &self.buf[data..data + size])))
        })
    }
}

/// A checked run-output buffer of H_GUEST_RUN_VCPU: what [`Parsed`]
/// checks, and beyond it, every element is the vCPU's thread-wide state
/// and not a meta element (an L0 could otherwise rewrite the L1's record
/// of its run buffers or VPA), and the registers the exit brings are
/// there. Made for the per-exit path: one pass over the few elements an
/// exit brings, which checks and takes them ([`RunOutput::parse_with`]),
/// no index by ID, no call per element.
pub struct RunOutput<'a> {
    /// The header and the elements, without the unused space after them.
    buf: &'a [u8],
    count: u32,
    ids: IdSet,
}

impl<'a> RunOutput<'a> {
    /// Checks `buf` (unused space after the elements allowed): elements
    /// complete, of known IDs and their sizes, each once, thread-wide and
    /// not meta; every ID of `required` there (else the first missing in
    /// ID order is named). Never reads outside `buf`.
    #[cfg_attr(
        CONFIG_RUST,
        expect(dead_code, reason = "used by the host crate's tests and fuzz target")
    )]
    pub fn parse(buf: &'a [u8], required: &IdSet) -> Result<RunOutput<'a>, GsbError> {
        RunOutput::parse_with(buf, required, |_, _| {})
    }

    /// [`RunOutput::parse`] that also hands each element to `take` as soon
    /// as the element itself is checked: one pass over the buffer, where
    /// [`RunOutput::iter`] after `parse` is two. The buffer as a whole may
    /// still be refused after `take` has seen some elements: what `take`
    /// was given counts only once this returns `Ok` (the vCPU stages the
    /// values in its copy and makes them valid then). Inlined: it is the
    /// per-exit path's, and a call there costs more than its body.
    #[inline(always)]
    pub fn parse_with(
        buf: &'a [u8],
        required: &IdSet,
        mut take: impl FnMut(Id, Value),
    ) -> Result<RunOutput<'a>, GsbError> {
        let Some(header) = buf.get(..HEADER_SIZE) else {
            return Err(GsbError::ShortHeader { len: buf.len() });
        };
        let count = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let mut ids = IdSet::new();
        let mut at = HEADER_SIZE;
        for index in 0..count {
            let (id, data, size) = element_at(buf, at, index)?;
            let raw = id.raw();
            if ids.test(id) {
                return Err(GsbError::Duplicate { index, id: raw });
            }
            if id.scope() != Scope::Thread || id.class() == Class::Meta {
                return Err(GsbError::NotRunOutput { index, id: raw });
            }
            ids.set(id);
            take(id, Value::decode(id.ty(), &buf[data..data + size]));
            at = data + size;
        }
        let missing = required.without(&ids);
        if !missing.is_empty() {
            let first = missing.iter().next().map_or(0, Id::raw);
            return Err(GsbError::Missing { id: first });
        }
        Ok(RunOutput {
            buf: &buf[..at],
            count,
            ids,
        })
    }

    /// The number of elements.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Bytes the header and elements take.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether the buffer has no elements.
    #[cfg_attr(
        CONFIG_RUST,
        expect(dead_code, reason = "used by the host crate's tests")
    )]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The IDs present.
    pub fn ids(&self) -> IdSet {
        self.ids
    }

    /// The elements in buffer order.
    #[cfg_attr(
        CONFIG_RUST,
        expect(dead_code, reason = "used by the host crate's tests and fuzz target")
    )]
    pub fn iter(&self) -> RunOutputIter<'a> {
        RunOutputIter {
            buf: self.buf,
            at: HEADER_SIZE,
        }
    }
}

/// The elements of a [`RunOutput`], in buffer order.
///
/// # Invariants
///
/// `buf` is a checked run output's header and elements (and nothing
/// after), `at` where its next element starts or its end.
pub struct RunOutputIter<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Iterator for RunOutputIter<'_> {
    type Item = (Id, Value);

    fn next(&mut self) -> Option<(Id, Value)> {
        // Checked by `RunOutput::parse` (type invariant): from `at` on,
        // whole elements of known IDs and their sizes, up to the end.
        let raw = self.buf.get(self.at..self.at + 2)?;
        let id = Id::new(u16::from_be_bytes([raw[0], raw[1]]))?;
        let ty = id.ty();
        let data = self.at + ELEM_HEADER_SIZE;
        let end = data + ty.size();
        let v = Value::decode(ty, self.buf.get(data..end)?);
        self.at = end;
        Some((id, v))
    }
}
