// SPDX-License-Identifier: GPL-2.0

//! Typed element values and their big-endian layouts.
//!
//! Every layout is spelled out here byte by byte, whatever the kernel
//! configuration: a 128-bit value is two doublewords, never a `vector128`
//! whose handling depends on `CONFIG_VSX`.

use super::ids::ElemType;

/// A 128-bit vector register value (a VSR).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Vec128 {
    /// Doubleword 0: bytes 0..8 of the element.
    pub dw0: u64,
    /// Doubleword 1: bytes 8..16 of the element.
    pub dw1: u64,
}

/// The partition table element (`GSID_PARTITION_TABLE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartitionTable {
    /// L1 real address of the L2's partition-scoped radix root.
    pub address: u64,
    /// Number of effective address bits the tree translates.
    pub ea_bits: u64,
    /// Size of the root page directory, in bytes.
    pub gpd_size: u64,
}

/// The process table element (`GSID_PROCESS_TABLE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessTable {
    /// L2 real address of the process table.
    pub address: u64,
    /// Size of the process table, in bytes.
    pub gpd_size: u64,
}

/// A buffer the L0 is told about (`GSID_RUN_INPUT`, `GSID_RUN_OUTPUT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BufferInfo {
    /// L1 real address of the buffer.
    pub address: u64,
    /// Its size in bytes.
    pub size: u64,
}

/// The value of one element, typed by its [`ElemType`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// A 32-bit word.
    Be32(u32),
    /// A 64-bit doubleword.
    Be64(u64),
    /// A 128-bit vector.
    Vec128(Vec128),
    /// The partition table.
    PartitionTable(PartitionTable),
    /// The process table.
    ProcessTable(ProcessTable),
    /// A buffer's address and size.
    BufferInfo(BufferInfo),
}

fn put_u64(out: &mut [u8], at: usize, v: u64) {
    out[at..at + 8].copy_from_slice(&v.to_be_bytes());
}

fn get_u64(data: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&data[at..at + 8]);
    u64::from_be_bytes(b)
}

impl Value {
    /// The element type of this value.
    pub const fn ty(&self) -> ElemType {
        match self {
            Value::Be32(_) => ElemType::Be32,
            Value::Be64(_) => ElemType::Be64,
            Value::Vec128(_) => ElemType::Vec128,
            Value::PartitionTable(_) => ElemType::PartitionTable,
            Value::ProcessTable(_) => ElemType::ProcessTable,
            Value::BufferInfo(_) => ElemType::BufferInfo,
        }
    }

    /// The all-zero value of `ty`.
    pub const fn zero(ty: ElemType) -> Value {
        match ty {
            ElemType::Be32 => Value::Be32(0),
            ElemType::Be64 => Value::Be64(0),
            ElemType::Vec128 => Value::Vec128(Vec128 { dw0: 0, dw1: 0 }),
            ElemType::PartitionTable => Value::PartitionTable(PartitionTable {
                address: 0,
                ea_bits: 0,
                gpd_size: 0,
            }),
            ElemType::ProcessTable => Value::ProcessTable(ProcessTable {
                address: 0,
                gpd_size: 0,
            }),
            ElemType::BufferInfo => Value::BufferInfo(BufferInfo {
                address: 0,
                size: 0,
            }),
        }
    }

    /// Writes the big-endian data to `out`, which must be exactly
    /// `self.ty().size()` bytes long (the writer guarantees it). Inlined:
    /// the writer puts every element with it.
    #[inline(always)]
    pub(crate) fn encode(&self, out: &mut [u8]) {
        match *self {
            Value::Be32(v) => out[..4].copy_from_slice(&v.to_be_bytes()),
            Value::Be64(v) => put_u64(out, 0, v),
            Value::Vec128(v) => {
                put_u64(out, 0, v.dw0);
                put_u64(out, 8, v.dw1);
            }
            Value::PartitionTable(t) => {
                put_u64(out, 0, t.address);
                put_u64(out, 8, t.ea_bits);
                put_u64(out, 16, t.gpd_size);
            }
            Value::ProcessTable(t) => {
                put_u64(out, 0, t.address);
                put_u64(out, 8, t.gpd_size);
            }
            Value::BufferInfo(b) => {
                put_u64(out, 0, b.address);
                put_u64(out, 8, b.size);
            }
        }
    }

    /// Reads a value of type `ty` from `data`, which must be exactly
    /// `ty.size()` bytes long (the parser guarantees it). Inlined: the
    /// run-output reader takes each element with it.
    #[inline(always)]
    pub(crate) fn decode(ty: ElemType, data: &[u8]) -> Value {
        match ty {
            ElemType::Be32 => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[..4]);
                Value::Be32(u32::from_be_bytes(b))
            }
            ElemType::Be64 => Value::Be64(get_u64(data, 0)),
            ElemType::Vec128 => Value::Vec128(Vec128 {
                dw0: get_u64(data, 0),
                dw1: get_u64(data, 8),
            }),
            ElemType::PartitionTable => Value::PartitionTable(PartitionTable {
                address: get_u64(data, 0),
                ea_bits: get_u64(data, 8),
                gpd_size: get_u64(data, 16),
            }),
            ElemType::ProcessTable => Value::ProcessTable(ProcessTable {
                address: get_u64(data, 0),
                gpd_size: get_u64(data, 8),
            }),
            ElemType::BufferInfo => Value::BufferInfo(BufferInfo {
                address: get_u64(data, 0),
                size: get_u64(data, 8),
            }),
        }
    }

    /// The register bits of a word or doubleword value; `None` for the
    /// structured types, which have no settable-bits mask.
    pub const fn register_bits(&self) -> Option<u64> {
        match *self {
            Value::Be32(v) => Some(v as u64),
            Value::Be64(v) => Some(v),
            _ => None,
        }
    }
}
