// SPDX-License-Identifier: GPL-2.0

//! The partition-scoped radix tree of an L2: guest real addresses to L1
//! real addresses, built and owned by the module (Power ISA v3.x radix,
//! 64 KiB pages: 13 + 9 + 9 + 5 index bits over a 52-bit space).

use crate::gsb::value::{PartitionTable, ProcessTable};
use crate::hcall::mem::L0Mem;
use kernel::{
    prelude::*,
    rbtree::{RBTree, RBTreeNode},
    sync::atomic::{ordering::Release, Atomic},
};

/// Bits the tree translates (QEMU's L0 takes no other size).
pub(crate) const EA_BITS: u64 = 52;
/// L2 page size: 64 KiB.
pub(crate) const PAGE_SHIFT: u32 = 16;
/// Bytes of an L2 page.
pub(crate) const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
/// Bytes of the L2's process table: the smallest the architecture has
/// (QEMU's L0 takes 4 KiB or 16 MiB).
pub(crate) const PROCESS_TABLE_SIZE: u64 = 4096;
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
/// Directory entry: next level base (NLB, bits 4:55).
const NLB_MASK: u64 = 0x0fff_ffff_ffff_ff00;
/// Leaf: real page number (RPN, bits 7:51); below it sit R, C and the
/// permission bits.
const RPN_MASK: u64 = 0x01ff_ffff_ffff_f000;

/// A directory or page-table level: big-endian entries in L0 memory of a
/// power-of-two size, so naturally aligned as the architecture wants.
///
/// # Invariants
///
/// The memory is `8 << bits` bytes for some `bits` of [`LEVEL_BITS`]: at
/// least 256, a power of two, so 8-byte aligned (`L0Mem`'s natural
/// alignment) and a whole number of entries.
struct Table(L0Mem);

impl Table {
    fn new(bits: u32) -> Result<Table> {
        // INVARIANT: `bits` is a level's (every caller passes one).
        Ok(Table(L0Mem::zeroed(8 << bits)?))
    }

    fn get(&self, i: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[i * 8..i * 8 + 8]);
        u64::from_be_bytes(b)
    }

    /// Sets entry `i` (`-EINVAL` past the end) with one 8-byte store with
    /// release ordering, which the L0 may walk at any time: it sees the
    /// entry old or new, never torn, and every store before it (a new
    /// table's zeroes, the entries of a table it points to) first, as
    /// `smp_store_release()` gives.
    fn set(&mut self, i: usize, v: u64) -> Result {
        let entry = self.0.get_mut(i * 8..i * 8 + 8).ok_or(EINVAL)?;
        // SAFETY: `entry` is 8 bytes of the table, 8-byte aligned (`i * 8`
        // from an 8-byte aligned start: type invariant), valid for the
        // borrow; in the L1 the table is reached only through `&mut self`,
        // so nothing else accesses it meanwhile (the L0 reads it outside
        // the L1's memory model; R and C are set up front, so it has
        // nothing to write).
        let entry = unsafe { Atomic::from_ptr(entry.as_mut_ptr().cast::<u64>()) };
        entry.store(v.to_be(), Release);
        Ok(())
    }

    fn pa(&self) -> u64 {
        self.0.real_address()
    }
}

/// An L2's partition-scoped tree and the L2 memory it maps: all of it is
/// memory the L0 reads (and, for L2 pages, the L2 writes) once the tree is
/// given to a guest; the guest keeps the tree until the L0 has deleted it,
/// or leaks it.
pub(crate) struct PartitionTree {
    root: Table,
    /// Lower levels, by their real address (what a directory entry
    /// names): found in O(log n).
    tables: RBTree<u64, Table>,
    /// L2 memory owned by the tree, by its real address (what a leaf
    /// names).
    pages: RBTree<u64, L0Mem>,
    /// Guest real address of the L2's process table, once mapped.
    process_table: Option<u64>,
}

impl PartitionTree {
    /// An empty tree.
    pub(crate) fn new() -> Result<PartitionTree> {
        Ok(PartitionTree {
            root: Table::new(LEVEL_BITS[0])?,
            tables: RBTree::new(),
            pages: RBTree::new(),
            process_table: None,
        })
    }

    /// Gives the tree and the memory it maps up for good, for when the L0
    /// may still use them: never freed, never reused. The caller logs why.
    pub(crate) fn leak(self) {
        core::mem::forget(self);
    }

    /// The guest-wide partition-table element for this tree.
    pub(crate) fn partition_table(&self) -> PartitionTable {
        PartitionTable {
            address: self.root.pa(),
            ea_bits: EA_BITS,
            gpd_size: self.root.0.len() as u64,
        }
    }

    fn index(gra: u64, level: usize) -> usize {
        let shift = PAGE_SHIFT + LEVEL_BITS[level + 1..].iter().sum::<u32>();
        ((gra >> shift) & ((1 << LEVEL_BITS[level]) - 1)) as usize
    }

    fn table_at(&mut self, pa: u64) -> Option<&mut Table> {
        self.tables.get_mut(&pa)
    }

    fn table_ref(&self, pa: u64) -> Option<&Table> {
        self.tables.get(&pa)
    }

    fn check_gra(gra: u64) -> Result {
        if !gra.is_multiple_of(PAGE_SIZE as u64) || gra >> EA_BITS != 0 {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// The real address of the last-level table for `gra`, if the
    /// directories down to it exist.
    fn leaf_table(&self, gra: u64) -> Option<u64> {
        let mut table_pa = self.root.pa();
        for level in 0..LEVEL_BITS.len() - 1 {
            let i = Self::index(gra, level);
            let entry = if level == 0 {
                self.root.get(i)
            } else {
                self.table_ref(table_pa)?.get(i)
            };
            if entry & VALID == 0 || entry & LEAF != 0 {
                return None;
            }
            table_pa = entry & NLB_MASK;
        }
        Some(table_pa)
    }

    /// The leaf entry for `gra`: its table's real address, its index there
    /// and the entry; `-ENOENT` where nothing is mapped.
    fn leaf(&self, gra: u64) -> Result<(u64, usize, u64)> {
        Self::check_gra(gra)?;
        let table_pa = self.leaf_table(gra).ok_or(ENOENT)?;
        let i = Self::index(gra, LEVEL_BITS.len() - 1);
        let pte = self.table_ref(table_pa).ok_or(ENOENT)?.get(i);
        if pte & VALID == 0 {
            return Err(ENOENT);
        }
        Ok((table_pa, i, pte))
    }

    /// Clears leaf `i` of the table at `table_pa`, and makes the cleared
    /// entry reach memory before the L0 is told to drop its translation
    /// (`ptesync` before `tlbie` on bare metal).
    fn clear_leaf(&mut self, table_pa: u64, i: usize) -> Result {
        self.table_at(table_pa).ok_or(ENOENT)?.set(i, 0)?;
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Takes the page at guest real address `gra` out of the tree and
    /// hands it back. The L0 may still hold a translation to it: the
    /// caller has it dropped before the page is reused or freed
    /// ([`super::Guest::unmap`] does). `-ENOENT` if nothing is mapped
    /// there, `-EBUSY` for the process table's page, which the L0 was
    /// given, and `-EINVAL` for a page the tree does not own (mapped with
    /// [`Self::map_external`]); nothing changes then.
    pub(crate) fn unmap_page(&mut self, gra: u64) -> Result<L0Mem> {
        if self.process_table == Some(gra) {
            return Err(EBUSY);
        }
        let (table_pa, i, pte) = self.leaf(gra)?;
        let page_pa = pte & RPN_MASK;
        if self.pages.get(&page_pa).is_none() {
            return Err(EINVAL);
        }
        self.clear_leaf(table_pa, i)?;
        self.pages.remove(&page_pa).ok_or(EINVAL)
    }

    /// Takes the translation at `gra` of memory the tree does not own out
    /// of the tree; returns the real address it had. As for
    /// [`Self::unmap_page`], the L0 may still hold the translation: the
    /// caller has it dropped before the memory is reused. `-EINVAL` (and
    /// nothing changes) for a page the tree owns.
    pub(crate) fn unmap_external(&mut self, gra: u64) -> Result<u64> {
        let (table_pa, i, pte) = self.leaf(gra)?;
        let pa = pte & RPN_MASK;
        if self.pages.get(&pa).is_some() {
            return Err(EINVAL);
        }
        self.clear_leaf(table_pa, i)?;
        Ok(pa)
    }

    /// Maps a zeroed page at guest real address `gra` and makes its first
    /// [`PROCESS_TABLE_SIZE`] bytes the L2's process table: no process
    /// has an entry until the L1 writes one. Returns the process-table
    /// element for it.
    pub(crate) fn map_process_table(&mut self, gra: u64) -> Result<ProcessTable> {
        self.map_new_page(gra)?;
        self.process_table = Some(gra);
        Ok(ProcessTable {
            address: gra,
            gpd_size: PROCESS_TABLE_SIZE,
        })
    }

    /// The process-table element, once [`Self::map_process_table`] has
    /// mapped one.
    pub(crate) fn process_table(&self) -> Option<ProcessTable> {
        self.process_table.map(|address| ProcessTable {
            address,
            gpd_size: PROCESS_TABLE_SIZE,
        })
    }

    /// Maps a new zeroed 64 KiB page at guest real address `gra` (page
    /// aligned, below 2^52) and returns it for the L1 to fill.
    pub(crate) fn map_new_page(&mut self, gra: u64) -> Result<&mut [u8]> {
        Self::check_gra(gra)?;
        let page = L0Mem::zeroed(PAGE_SIZE)?;
        let pa = page.real_address();
        // Allocated before the leaf is set: once it is, nothing can fail.
        let node = RBTreeNode::new(pa, page, GFP_KERNEL_ACCOUNT)?;
        self.map_leaf(gra, pa)?;
        // A new allocation's address is no other live page's, so nothing
        // is replaced; were one, the L0 may still reach it: leaked.
        if let Some(old) = self.pages.insert(node) {
            old.to_key_value().1.leak();
        }
        let page = self.pages.get_mut(&pa).ok_or(EINVAL)?;
        Ok(&mut page[..])
    }

    /// Maps the 64 KiB of L1 memory at real address `pa` (64 KiB aligned)
    /// at guest real address `gra`, without owning it: whoever does keeps
    /// it until it is unmapped ([`Self::unmap_external`]) and the L0 has
    /// dropped its translation, or until the L0 has deleted the guest.
    pub(crate) fn map_external(&mut self, gra: u64, pa: u64) -> Result {
        Self::check_gra(gra)?;
        if !pa.is_multiple_of(PAGE_SIZE as u64) || pa & !RPN_MASK != 0 {
            return Err(EINVAL);
        }
        self.map_leaf(gra, pa)
    }

    /// Points the leaf for `gra` at `pa`, adding the directories that are
    /// missing; `-EBUSY` where something is mapped already.
    fn map_leaf(&mut self, gra: u64, pa: u64) -> Result {
        let mut table_pa = self.root.pa();
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
                entry & NLB_MASK
            } else {
                let bits = LEVEL_BITS[level + 1];
                let t = Table::new(bits)?;
                let new_pa = t.pa();
                // As for pages: a new table's address is no other's.
                if let Some(old) =
                    self.tables
                        .try_create_and_insert(new_pa, t, GFP_KERNEL_ACCOUNT)?
                {
                    let (_, table) = old.to_key_value();
                    table.0.leak();
                }
                // The entry is stored with release ordering (`Table::set`):
                // the L0 sees the new table's zeroes before the entry
                // naming it.
                let pde = VALID | new_pa | u64::from(bits);
                if level == 0 {
                    self.root.set(i, pde)?;
                } else {
                    self.table_at(table_pa).ok_or(EINVAL)?.set(i, pde)?;
                }
                new_pa
            };
            table_pa = next_pa;
        }
        let i = Self::index(gra, LEVEL_BITS.len() - 1);
        let t = self.table_at(table_pa).ok_or(EINVAL)?;
        if t.get(i) & VALID != 0 {
            return Err(EBUSY);
        }
        t.set(i, VALID | LEAF | (pa & RPN_MASK) | REF_CHANGE | RWX)
    }
}
