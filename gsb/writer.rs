// SPDX-License-Identifier: GPL-2.0

//! Building a buffer in storage the caller owns and sized once.

use super::error::GsbError;
use super::ids::{Id, Scope};
use super::value::{BufferInfo, Value, Vec128};
use super::{ELEM_HEADER_SIZE, HEADER_SIZE};

/// Writes elements of one scope into a byte buffer: no allocation, every
/// put checked. On error nothing is written.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
    count: u32,
    scope: Scope,
}

impl<'a> Writer<'a> {
    /// A writer for elements of `scope` over `buf`, which starts empty.
    pub fn new(buf: &'a mut [u8], scope: Scope) -> Result<Writer<'a>, GsbError> {
        if buf.len() < HEADER_SIZE {
            return Err(GsbError::NoSpace {
                needed: HEADER_SIZE,
                capacity: buf.len(),
            });
        }
        let mut w = Writer {
            buf,
            len: HEADER_SIZE,
            count: 0,
            scope,
        };
        w.reset();
        Ok(w)
    }

    /// Empties the buffer (count 0, header only).
    pub fn reset(&mut self) {
        self.len = HEADER_SIZE;
        self.count = 0;
        self.buf[..HEADER_SIZE].copy_from_slice(&0u32.to_be_bytes());
    }

    /// Adds element `id` with value `v`. Fails, writing nothing, where the
    /// value is not of the ID's type, the ID is of another scope than the
    /// writer's, a register value has bits set the L1 may not set, or the
    /// element does not fit.
    pub fn put(&mut self, id: Id, v: Value) -> Result<(), GsbError> {
        if id.scope() != self.scope {
            return Err(GsbError::WrongScope {
                id: id.raw(),
                expected: self.scope,
                got: id.scope(),
            });
        }
        if v.ty() != id.ty() {
            return Err(GsbError::WrongType {
                id: id.raw(),
                expected: id.ty(),
                got: v.ty(),
            });
        }
        if let Some(bits) = v.register_bits() {
            let reserved = bits & !id.settable();
            if reserved != 0 {
                return Err(GsbError::ReservedBits {
                    id: id.raw(),
                    bits: reserved,
                });
            }
        }
        let size = id.size();
        let end = self.len + ELEM_HEADER_SIZE + size;
        if end > self.buf.len() {
            return Err(GsbError::NoSpace {
                needed: end,
                capacity: self.buf.len(),
            });
        }
        let at = self.len;
        self.buf[at..at + 2].copy_from_slice(&id.raw().to_be_bytes());
        // `size` is at most 24 (`ElemType::size`).
        self.buf[at + 2..at + 4].copy_from_slice(&(size as u16).to_be_bytes());
        v.encode(&mut self.buf[at + ELEM_HEADER_SIZE..end]);
        self.len = end;
        self.count += 1;
        self.buf[..HEADER_SIZE].copy_from_slice(&self.count.to_be_bytes());
        Ok(())
    }

    /// Adds element `id` with zeroed data: how an H_GUEST_GET_STATE request
    /// names the elements it wants.
    pub fn put_request(&mut self, id: Id) -> Result<(), GsbError> {
        self.put(id, Value::zero(id.ty()))
    }

    /// Adds a 32-bit register element.
    #[cfg_attr(
        all(CONFIG_RUST, not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST)),
        expect(
            dead_code,
            reason = "used by the KUnit suites and the host crate's tests"
        )
    )]
    pub fn put_be32(&mut self, id: Id, v: u32) -> Result<(), GsbError> {
        self.put(id, Value::Be32(v))
    }

    /// Adds a 64-bit register element.
    pub fn put_be64(&mut self, id: Id, v: u64) -> Result<(), GsbError> {
        self.put(id, Value::Be64(v))
    }

    /// Adds a 128-bit vector element.
    #[cfg_attr(
        all(CONFIG_RUST, not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST)),
        expect(
            dead_code,
            reason = "used by the KUnit suites and the host crate's tests"
        )
    )]
    pub fn put_vec128(&mut self, id: Id, v: Vec128) -> Result<(), GsbError> {
        self.put(id, Value::Vec128(v))
    }

    /// Adds a buffer element (run input or output).
    pub fn put_buffer_info(&mut self, id: Id, v: BufferInfo) -> Result<(), GsbError> {
        self.put(id, Value::BufferInfo(v))
    }

    /// The scope of the elements this writer takes.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// Elements written.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Bytes used, header included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no element has been written.
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

    /// The size of the storage.
    #[cfg_attr(
        all(CONFIG_RUST, not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST)),
        expect(
            dead_code,
            reason = "used by the KUnit suites and the host crate's tests"
        )
    )]
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The buffer as built so far.
    #[cfg_attr(
        all(CONFIG_RUST, not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST)),
        expect(
            dead_code,
            reason = "used by the KUnit suites and the host crate's tests"
        )
    )]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}
