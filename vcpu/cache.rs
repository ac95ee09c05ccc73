// SPDX-License-Identifier: GPL-2.0

//! The L1's copy of one vCPU's thread-wide state: a value per ID, which
//! values are valid (set by the L1 or brought back from the L0) and which
//! are dirty (set by the L1, not yet sent).

use crate::gsb::{ids::ID_COUNT, Id, IdSet, Value};
use kernel::prelude::*;

/// Values, validity and dirtiness for every guest state ID of one vCPU.
///
/// # Invariants
///
/// The value of an ID not in `valid` means nothing: it is never read
/// (`read` checks), so [`StateCache::stage`] may write it.
pub(crate) struct StateCache {
    values: KVec<Value>,
    valid: IdSet,
    dirty: IdSet,
}

impl StateCache {
    /// An empty cache: nothing valid, nothing dirty.
    pub(crate) fn new() -> Result<StateCache> {
        Ok(StateCache {
            values: KVec::from_elem(Value::Be64(0), ID_COUNT, GFP_KERNEL_ACCOUNT)?,
            valid: IdSet::new(),
            dirty: IdSet::new(),
        })
    }

    /// The L1 sets `id`: valid, and dirty until sent.
    pub(crate) fn write(&mut self, id: Id, v: Value) {
        self.values[id.index()] = v;
        self.valid.set(id);
        self.dirty.set(id);
    }

    /// The L0 reported `id`: valid and clean (what the L0 has).
    pub(crate) fn fill(&mut self, id: Id, v: Value) {
        self.values[id.index()] = v;
        self.valid.set(id);
        self.dirty.clear(id);
    }

    /// Writes `id`'s value without making it valid: a value of the run
    /// output, which counts once the whole output is checked
    /// ([`StateCache::validate`]). Only for an ID not valid now, so that
    /// nothing the cache holds changes.
    pub(crate) fn stage(&mut self, id: Id, v: Value) {
        self.values[id.index()] = v;
    }

    /// The staged values of `ids` reported by the L0: valid and clean.
    pub(crate) fn validate(&mut self, ids: &IdSet) {
        self.valid.union_with(ids);
        self.dirty = self.dirty.without(ids);
    }

    /// The value of `id`, where valid.
    pub(crate) fn read(&self, id: Id) -> Option<Value> {
        self.valid.test(id).then(|| self.values[id.index()])
    }

    /// The IDs with a valid value.
    pub(crate) fn valid(&self) -> &IdSet {
        &self.valid
    }

    /// The IDs set by the L1 and not yet sent.
    pub(crate) fn dirty(&self) -> &IdSet {
        &self.dirty
    }

    /// Everything dirty has reached the L0.
    pub(crate) fn mark_clean(&mut self) {
        self.dirty.clear_all();
    }

    /// The vCPU ran: values the L0 may have changed are no longer known,
    /// except those the L1 still has to send and the meta elements (run
    /// buffers, VPA), which only the L1 changes.
    pub(crate) fn invalidate_clean(&mut self) {
        let mut keep = self.dirty;
        for id in [Id::RUN_INPUT, Id::RUN_OUTPUT, Id::VPA] {
            if self.valid.test(id) {
                keep.set(id);
            }
        }
        self.valid = keep;
    }
}
