// SPDX-License-Identifier: GPL-2.0

//! What can be wrong with a buffer or with a request to build one.

use super::ids::{ElemType, Scope};

/// A Guest State Buffer error. Parser errors name the element by its
/// position in the buffer (`index`, from 0) and, where it could be read,
/// its raw ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GsbError {
    /// The buffer is shorter than the 4-byte header.
    ShortHeader {
        /// The bytes there are.
        len: usize,
    },
    /// Element `index` runs past the end of the buffer (its header or its
    /// data): the count promises more than the bytes hold.
    Truncated {
        /// Position of the element.
        index: u32,
        /// Its ID, where the element header was there to read.
        id: Option<u16>,
    },
    /// Bytes are left over after the elements the count announces.
    TrailingBytes {
        /// The count in the header.
        count: u32,
        /// How many bytes are left over.
        extra: usize,
    },
    /// An ID the PAPR does not define.
    UnknownId {
        /// Position of the element.
        index: u32,
        /// The raw ID.
        id: u16,
    },
    /// An element whose length is not its ID's size.
    BadLength {
        /// Position of the element.
        index: u32,
        /// The ID.
        id: u16,
        /// The length in the element.
        len: u16,
        /// The ID's size.
        expected: u16,
    },
    /// An ID that appears twice.
    Duplicate {
        /// Position of the second occurrence.
        index: u32,
        /// The ID.
        id: u16,
    },
    /// A value of the wrong type for the ID.
    WrongType {
        /// The ID.
        id: u16,
        /// Its type.
        expected: ElemType,
        /// The value's type.
        got: ElemType,
    },
    /// An ID of another scope than the buffer's or message's.
    WrongScope {
        /// The ID.
        id: u16,
        /// The scope of the buffer or message.
        expected: Scope,
        /// The ID's scope.
        got: Scope,
    },
    /// An element whose value is, or holds, an L1 real address the L0
    /// keeps using ([`super::Id::names_l1_memory`]): only its owner sets
    /// it, and no user of the L1 reaches it.
    NamesL1Memory {
        /// The ID.
        id: u16,
    },
    /// A set of an element the L1 may only read.
    ReadOnly {
        /// The ID.
        id: u16,
    },
    /// A register value with bits set that the L1 may not set.
    ReservedBits {
        /// The ID.
        id: u16,
        /// The bits outside the settable mask.
        bits: u64,
    },
    /// A run-output buffer with an element the L0 may not report there: not
    /// the vCPU's thread-wide state, or a meta element, which only the L1
    /// sets.
    NotRunOutput {
        /// Position of the element.
        index: u32,
        /// The ID.
        id: u16,
    },
    /// A run-output buffer without a register its exit must bring.
    Missing {
        /// The ID.
        id: u16,
    },
    /// Not enough room in the caller's storage.
    NoSpace {
        /// Bytes needed in all.
        needed: usize,
        /// Bytes there are.
        capacity: usize,
    },
}
