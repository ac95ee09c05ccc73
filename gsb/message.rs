// SPDX-License-Identifier: GPL-2.0

//! Messages: state that knows which elements it includes, how big a
//! buffer for them is, how to fill one and how to refresh itself from a
//! parsed one (the role of the C library's `kvmppc_gs_msg`).

use super::error::GsbError;
use super::ids::{Id, Scope};
use super::idset::IdSet;
use super::parser::Parsed;
use super::value::Value;
use super::writer::Writer;

/// State that travels as the elements of one scope.
///
/// Implementors give the scope, the included set and access to their
/// values; the provided methods do the rest and keep every element of
/// the message in that one scope.
pub trait Message {
    /// The scope of every element of this message.
    fn scope(&self) -> Scope;

    /// The IDs included.
    fn included(&self) -> &IdSet;

    /// The IDs included, to change.
    fn included_mut(&mut self) -> &mut IdSet;

    /// The value of `id` to send; `None` where this message has no state
    /// for it.
    fn value(&self, id: Id) -> Option<Value>;

    /// Takes `v`, received for `id`.
    fn store(&mut self, id: Id, v: Value) -> Result<(), GsbError>;

    /// Includes `id`, which must be of the message's scope.
    #[cfg_attr(
        all(CONFIG_RUST, not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST)),
        expect(
            dead_code,
            reason = "used by the KUnit suites and the host crate's tests"
        )
    )]
    fn include(&mut self, id: Id) -> Result<(), GsbError> {
        if id.scope() != self.scope() {
            return Err(GsbError::WrongScope {
                id: id.raw(),
                expected: self.scope(),
                got: id.scope(),
            });
        }
        self.included_mut().set(id);
        Ok(())
    }

    /// Bytes a buffer for the included elements needs.
    fn buffer_size(&self) -> usize {
        self.included().buffer_size()
    }

    /// Writes every included element, with its value where the message has
    /// one and as a zeroed request otherwise, into `w` (reset first).
    fn fill(&self, w: &mut Writer<'_>) -> Result<(), GsbError> {
        if w.scope() != self.scope() {
            // Report the first element that would be out of place.
            let id = self.included().iter().next().map_or(0, |id| id.raw());
            return Err(GsbError::WrongScope {
                id,
                expected: w.scope(),
                got: self.scope(),
            });
        }
        w.reset();
        for id in self.included().iter() {
            match self.value(id) {
                Some(v) => w.put(id, v)?,
                None => w.put_request(id)?,
            }
        }
        Ok(())
    }

    /// Stores every included element that `p` holds.
    fn refresh(&mut self, p: &Parsed<'_>) -> Result<(), GsbError> {
        let ids = *self.included();
        for id in ids.iter() {
            if let Some(v) = p.get(id) {
                self.store(id, v)?;
            }
        }
        Ok(())
    }
}

/// The L0's host-wide counters (0x0800-0x0804): what it spends on the
/// guests of this L1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostWideCounters {
    /// Guest management heap in use, bytes.
    pub guest_heap: u64,
    /// Guest management heap maximum, bytes.
    pub guest_heap_max: u64,
    /// Guest page-table size in use, bytes.
    pub guest_pgtable_size: u64,
    /// Guest page-table size maximum, bytes.
    pub guest_pgtable_size_max: u64,
    /// Page-table memory reclaimed, bytes.
    pub guest_pgtable_reclaim: u64,
    included: IdSet,
}

impl HostWideCounters {
    /// The five counter IDs, in ID order.
    pub const IDS: [Id; 5] = [
        Id::L0_GUEST_HEAP,
        Id::L0_GUEST_HEAP_MAX,
        Id::L0_GUEST_PGTABLE_SIZE,
        Id::L0_GUEST_PGTABLE_SIZE_MAX,
        Id::L0_GUEST_PGTABLE_RECLAIM,
    ];

    /// All counters at zero, all included.
    pub fn new() -> HostWideCounters {
        let mut c = HostWideCounters::default();
        for id in Self::IDS {
            c.included.set(id);
        }
        c
    }

    fn field(&mut self, id: Id) -> Option<&mut u64> {
        match id {
            Id::L0_GUEST_HEAP => Some(&mut self.guest_heap),
            Id::L0_GUEST_HEAP_MAX => Some(&mut self.guest_heap_max),
            Id::L0_GUEST_PGTABLE_SIZE => Some(&mut self.guest_pgtable_size),
            Id::L0_GUEST_PGTABLE_SIZE_MAX => Some(&mut self.guest_pgtable_size_max),
            Id::L0_GUEST_PGTABLE_RECLAIM => Some(&mut self.guest_pgtable_reclaim),
            _ => None,
        }
    }
}

impl Message for HostWideCounters {
    fn scope(&self) -> Scope {
        Scope::Host
    }

    fn included(&self) -> &IdSet {
        &self.included
    }

    fn included_mut(&mut self) -> &mut IdSet {
        &mut self.included
    }

    fn value(&self, id: Id) -> Option<Value> {
        let mut copy = *self;
        copy.field(id).map(|v| Value::Be64(*v))
    }

    fn store(&mut self, id: Id, v: Value) -> Result<(), GsbError> {
        let raw = id.raw();
        match (self.field(id), v) {
            (Some(f), Value::Be64(x)) => {
                *f = x;
                Ok(())
            }
            (_, v) => Err(GsbError::WrongType {
                id: raw,
                expected: id.ty(),
                got: v.ty(),
            }),
        }
    }
}
