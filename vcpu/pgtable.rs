// SPDX-License-Identifier: GPL-2.0

//! The partition-scoped radix tree of an L2: guest real addresses to L1
//! real addresses, built and owned by the module (Power ISA v3.x radix,
//! 64 KiB pages: 13 + 9 + 9 + 5 index bits over a 52-bit space).

use crate::gsb::value::PartitionTable;
use crate::hcall::linear_map_pa;
use kernel::prelude::*;

/// Bits the tree translates (QEMU's L0 takes no other size).
pub(crate) const EA_BITS: u64 = 52;
/// L2 page size: 64 KiB.
pub(crate) const PAGE_SHIFT: u32 = 16;
/// Bytes of an L2 page.
pub(crate) const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
/// Index bits per level, root first.
const LEVEL_BITS: [u32; 4] = [13, 9, 9, 5];

/// Entry valid.
const VALID: u64 = 1 << 63;
/// Entry is a leaf (a page, not a directory).
const LEAF: u64 = 1 << 62;
/// Leaf: referenced (R) and changed (C), set up front so the L0 never
/// has to.
const REF_CHANGE: u64 = 0x100 | 0x80;
/// Leaf: read, write, execute.
const RWX: u64 = 0x4 | 0x2 | 0x1;
/// Real address bits of an entry.
const ADDR_MASK: u64 = 0x0fff_ffff_ffff_ff00;

/// A directory or page-table level: big-endian entries in kmalloc'd,
/// naturally aligned storage.
struct Table(KVec<u8>);

impl Table {
    fn new(bits: u32) -> Result<Table> {
        Ok(Table(KVec::from_elem(0u8, 8 << bits, GFP_KERNEL)?))
    }

    fn get(&self, i: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[i * 8..i * 8 + 8]);
        u64::from_be_bytes(b)
    }

    fn set(&mut self, i: usize, v: u64) {
        self.0[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
    }

    fn pa(&self) -> Result<u64> {
        linear_map_pa(&self.0)
    }
}

/// An L2's partition-scoped tree and the L2 memory it maps.
pub(crate) struct PartitionTree {
    root: Table,
    /// Lower levels, found again by their real address.
    tables: KVec<Table>,
    /// L2 memory owned by the tree.
    pages: KVec<KVec<u8>>,
}

impl PartitionTree {
    /// An empty tree.
    pub(crate) fn new() -> Result<PartitionTree> {
        Ok(PartitionTree {
            root: Table::new(LEVEL_BITS[0])?,
            tables: KVec::new(),
            pages: KVec::new(),
        })
    }

    /// The guest-wide partition-table element for this tree.
    pub(crate) fn partition_table(&self) -> Result<PartitionTable> {
        Ok(PartitionTable {
            address: self.root.pa()?,
            ea_bits: EA_BITS,
            gpd_size: self.root.0.len() as u64,
        })
    }

    fn index(gra: u64, level: usize) -> usize {
        let shift = PAGE_SHIFT + LEVEL_BITS[level + 1..].iter().sum::<u32>();
        ((gra >> shift) & ((1 << LEVEL_BITS[level]) - 1)) as usize
    }

    fn table_at(&mut self, pa: u64) -> Option<&mut Table> {
        self.tables.iter_mut().find(|t| t.pa().ok() == Some(pa))
    }

    /// Maps a new zeroed 64 KiB page at guest real address `gra` (page
    /// aligned, below 2^52) and returns it for the L1 to fill.
    pub(crate) fn map_new_page(&mut self, gra: u64) -> Result<&mut [u8]> {
        if !gra.is_multiple_of(PAGE_SIZE as u64) || gra >> EA_BITS != 0 {
            return Err(EINVAL);
        }
        self.pages.reserve(1, GFP_KERNEL)?;
        let page = KVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
        let page_pa = linear_map_pa(&page)?;
        // Walk down, adding the directories that are missing.
        let mut table_pa = self.root.pa()?;
        for level in 0..LEVEL_BITS.len() - 1 {
            let i = Self::index(gra, level);
            let entry = if level == 0 {
                self.root.get(i)
            } else {
                self.table_at(table_pa).ok_or(EINVAL)?.get(i)
            };
            let next_pa = if entry & VALID != 0 {
                if entry & LEAF != 0 {
                    return Err(EBUSY);
                }
                entry & ADDR_MASK
            } else {
                let bits = LEVEL_BITS[level + 1];
                let t = Table::new(bits)?;
                let pa = t.pa()?;
                self.tables.push(t, GFP_KERNEL)?;
                let pde = VALID | pa | u64::from(bits);
                if level == 0 {
                    self.root.set(i, pde);
                } else {
                    self.table_at(table_pa).ok_or(EINVAL)?.set(i, pde);
                }
                pa
            };
            table_pa = next_pa;
        }
        let last = LEVEL_BITS.len() - 1;
        let i = Self::index(gra, last);
        let t = self.table_at(table_pa).ok_or(EINVAL)?;
        if t.get(i) & VALID != 0 {
            return Err(EBUSY);
        }
        t.set(i, VALID | LEAF | (page_pa & ADDR_MASK) | REF_CHANGE | RWX);
        self.pages.push(page, GFP_KERNEL)?;
        let n = self.pages.len() - 1;
        Ok(&mut self.pages[n])
    }
}
