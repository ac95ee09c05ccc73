// SPDX-License-Identifier: GPL-2.0

//! A set of guest state IDs: a bitmap over the dense index of
//! [`super::ids::TABLE`].

use super::ids::{Id, Scope, ID_COUNT};
use super::{ELEM_HEADER_SIZE, HEADER_SIZE};

const WORDS: usize = ID_COUNT.div_ceil(64);

/// A set of guest state IDs. Iteration is in ID order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IdSet {
    bits: [u64; WORDS],
}

impl IdSet {
    /// The empty set.
    pub const fn new() -> IdSet {
        IdSet { bits: [0; WORDS] }
    }

    /// Every ID of `scope`.
    pub fn of_scope(scope: Scope) -> IdSet {
        let mut s = IdSet::new();
        for id in IdSet::all().iter().filter(|id| id.scope() == scope) {
            s.set(id);
        }
        s
    }

    /// Every ID of `scope` that a user of the L1 may both read and set:
    /// neither naming L1 memory nor read-only. What a snapshot holds.
    pub fn settable_of_scope(scope: Scope) -> IdSet {
        let mut s = IdSet::of_scope(scope);
        for id in IdSet::of_scope(scope).iter() {
            if id.names_l1_memory() || id.is_read_only() {
                s.clear(id);
            }
        }
        s
    }

    /// Every ID.
    pub fn all() -> IdSet {
        let mut s = IdSet::new();
        s.fill();
        s
    }

    /// The set of `ids` (a const fn: exits' register sets are built at
    /// compile time).
    pub const fn of(ids: &[Id]) -> IdSet {
        let mut s = IdSet::new();
        let mut i = 0;
        while i < ids.len() {
            s.set(ids[i]);
            i += 1;
        }
        s
    }

    /// The IDs of `self` that `other` lacks.
    pub fn without(&self, other: &IdSet) -> IdSet {
        IdSet {
            bits: core::array::from_fn(|w| self.bits[w] & !other.bits[w]),
        }
    }

    /// Adds every ID of `other`.
    pub fn union_with(&mut self, other: &IdSet) {
        for (w, o) in self.bits.iter_mut().zip(other.bits) {
            *w |= o;
        }
    }

    /// Adds `id`.
    pub const fn set(&mut self, id: Id) {
        let i = id.index();
        self.bits[i / 64] |= 1 << (i % 64);
    }

    /// Removes `id`.
    pub fn clear(&mut self, id: Id) {
        let i = id.index();
        self.bits[i / 64] &= !(1 << (i % 64));
    }

    /// Whether `id` is in the set.
    pub fn test(&self, id: Id) -> bool {
        let i = id.index();
        self.bits[i / 64] & (1 << (i % 64)) != 0
    }

    /// Adds every ID.
    pub fn fill(&mut self) {
        self.bits = [u64::MAX; WORDS];
        // No bits past the last ID, so that counts and equality hold.
        let tail = ID_COUNT % 64;
        if tail != 0 {
            self.bits[WORDS - 1] = (1 << tail) - 1;
        }
    }

    /// Removes every ID.
    pub fn clear_all(&mut self) {
        self.bits = [0; WORDS];
    }

    /// How many IDs the set holds.
    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|w| *w == 0)
    }

    /// The IDs in ID order. Visits only the set bits, so a small set
    /// (the few registers dirty before a run) costs little to walk.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            words: &self.bits,
            word: 0,
            rest: self.bits[0],
        }
    }

    /// Bytes a buffer holding exactly these IDs needs: the header plus,
    /// for each, an element header and its data.
    pub fn buffer_size(&self) -> usize {
        HEADER_SIZE
            + self
                .iter()
                .map(|id| ELEM_HEADER_SIZE + id.size())
                .sum::<usize>()
    }
}

/// The IDs of an [`IdSet`], in ID order: a word at a time, a set bit at a
/// time (the per-exit paths walk the dirty set with it).
pub struct Iter<'a> {
    words: &'a [u64; WORDS],
    /// The word `rest` came from.
    word: usize,
    /// The bits of that word not yet visited.
    rest: u64,
}

impl Iterator for Iter<'_> {
    type Item = Id;

    #[inline]
    fn next(&mut self) -> Option<Id> {
        while self.rest == 0 {
            self.word += 1;
            self.rest = *self.words.get(self.word)?;
        }
        let bit = self.rest.trailing_zeros() as usize;
        self.rest &= self.rest - 1;
        // A set's bits are IDs' dense indices (no bits past the last ID).
        Id::from_index(self.word * 64 + bit)
    }
}
