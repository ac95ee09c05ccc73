// SPDX-License-Identifier: GPL-2.0

//! Guest State Buffers: the format of every H_GUEST_{GET,SET}_STATE and
//! H_GUEST_RUN_VCPU exchange.
//!
//! ```text
//!   buffer:  | count: be32 | element | element | ...
//!   element: | id: be16 | len: be16 | data: len bytes, big-endian |
//! ```
//!
//! - [`ids`]: the one table of guest state IDs, with type, size, scope,
//!   access and settable bits; [`Id`] is a known ID.
//! - [`value`]: typed values and their byte layouts.
//! - [`Writer`]: builds a buffer in storage the caller owns.
//! - [`Parsed`]: checks an untrusted buffer and indexes it; [`RunOutput`]
//!   checks a run-output buffer in one pass, for the per-exit path.
//! - [`IdSet`]: a set of IDs.
//! - [`Message`]: state that fills and refreshes from buffers.
//!
//! The code here needs only `core`: the same files build in the kernel
//! module and in the host crate under `host/`, which tests, fuzzes and
//! benchmarks them with cargo.

pub mod error;
pub mod ids;
pub mod idset;
pub mod message;
pub mod parser;
pub mod value;
pub mod writer;

pub use error::GsbError;
pub use ids::Id;
pub use idset::IdSet;
pub use message::Message;
pub use parser::{Parsed, RunOutput, Trailing};
pub use value::Value;
pub use writer::Writer;

/// Bytes of the buffer header (the element count).
pub const HEADER_SIZE: usize = 4;
/// Bytes of an element header (ID and length).
pub const ELEM_HEADER_SIZE: usize = 4;

/// In the kernel: `-ENOSPC` where the caller's storage is too small,
/// `-EPERM` for an element the L1 may not set (L1 memory, read-only),
/// `-EINVAL` for everything else (a malformed buffer or a bad put).
#[cfg(CONFIG_RUST)]
impl From<GsbError> for kernel::error::Error {
    fn from(e: GsbError) -> Self {
        match e {
            GsbError::NoSpace { .. } => kernel::error::code::ENOSPC,
            GsbError::NamesL1Memory { .. } | GsbError::ReadOnly { .. } => {
                kernel::error::code::EPERM
            }
            _ => kernel::error::code::EINVAL,
        }
    }
}
