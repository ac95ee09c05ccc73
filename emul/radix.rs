// SPDX-License-Identifier: GPL-2.0

//! The L2's process-scoped translation: effective address to guest real
//! address through the radix tree the L2 keeps in its own memory (Power
//! ISA v3.1 Book III, Radix Tree Translation), as kvm-hv's
//! `kvmppc_mmu_radix_xlate` and `kvmppc_mmu_walk_radix_tree` do it.
//!
//! ```text
//!   process table entry, doubleword 0 (at base + 16 * PID):
//!     bit 0  1-2   3  4-55  56-58  59-63
//!         -  RTS1  -  RPDB  RTS2   RPDS      tree of 31 + RTS EA bits,
//!                                           root at RPDB * 256 with
//!                                           2^RPDS entries
//!   directory entry:
//!     bit 0  1  2-3  4-55  56-58  59-63
//!         V  L  -    NLB   -      NLS       L = 0: next level at
//!                                           NLB * 256, 2^NLS entries
//!   leaf (L = 1):
//!     bit 0  1  ...  7-51  ...  55 56 ... 60 61 62 63
//!         V  L       RPN        R  C      EAA: privileged, read,
//!                                         read/write, execute
//! ```
//!
//! Every level takes the next NLS (RPDS at the root) bits of the EA, most
//! significant first; the bits left below the leaf are the page offset.
//! Linux's layout with 64 KiB pages has a 52-bit tree of 13, 9, 9 and 5
//! bits; with 4 KiB pages 13, 9, 9 and 9; a leaf one level up maps 2 MiB
//! (1 GiB two levels up). Addresses in the tables are guest real.

/// The L2's memory, as the walk reads it.
pub trait GuestMemory {
    /// The big-endian doubleword at guest real address `gra`, or `None`
    /// where `gra` is outside every memory slot. [`translate`] and
    /// [`super::fetch_instruction`] only ask for 8-byte aligned `gra`.
    fn read_be64(&self, gra: u64) -> Option<u64>;
}

/// V: the entry is valid.
pub const PTE_VALID: u64 = 1 << 63;
/// L: the entry is a leaf (a page), not a directory.
pub const PTE_LEAF: u64 = 1 << 62;
/// RPDB and NLB: the base of a directory, bits 4-55 (256-byte units).
pub const DIR_BASE_MASK: u64 = 0x0fff_ffff_ffff_ff00;
/// RPDS and NLS: log2 of a directory's entries, bits 59-63.
pub const DIR_SIZE_MASK: u64 = 0x1f;
/// RPN: the real page number of a leaf, bits 7-51.
pub const PTE_RPN_MASK: u64 = 0x01ff_ffff_ffff_f000;
/// R: the page was referenced.
#[cfg_attr(
    CONFIG_RUST,
    expect(
        dead_code,
        reason = "the leaf's bits, for the caller of `Translation::pte` and the tests"
    )
)]
pub const PTE_REFERENCED: u64 = 1 << 8;
/// C: the page was changed.
#[cfg_attr(
    CONFIG_RUST,
    expect(
        dead_code,
        reason = "the leaf's bits, for the caller of `Translation::pte` and the tests"
    )
)]
pub const PTE_CHANGED: u64 = 1 << 7;
/// EAA bit 0: privileged (MSR\[PR\] = 0) accesses only.
#[cfg_attr(
    CONFIG_RUST,
    expect(
        dead_code,
        reason = "the leaf's bits, for the caller of `Translation::pte` and the tests"
    )
)]
pub const PTE_PRIVILEGED: u64 = 1 << 3;
/// EAA bit 1: loads are permitted.
#[cfg_attr(
    CONFIG_RUST,
    expect(
        dead_code,
        reason = "the leaf's bits, for the caller of `Translation::pte` and the tests"
    )
)]
pub const PTE_READ: u64 = 1 << 2;
/// EAA bit 2: loads and stores are permitted.
#[cfg_attr(
    CONFIG_RUST,
    expect(
        dead_code,
        reason = "the leaf's bits, for the caller of `Translation::pte` and the tests"
    )
)]
pub const PTE_READ_WRITE: u64 = 1 << 1;
/// EAA bit 3: instruction fetches are permitted.
#[cfg_attr(
    CONFIG_RUST,
    expect(
        dead_code,
        reason = "the leaf's bits, for the caller of `Translation::pte` and the tests"
    )
)]
pub const PTE_EXECUTE: u64 = 1;

/// The most levels a walk takes, the root included: Linux's and kvm-hv's
/// trees have 4, and no walk reads more entries than this.
pub const MAX_LEVELS: u8 = 4;
/// The fewest entries a directory may have is 2^5 (the ISA's minimum
/// NLS and RPDS).
pub const MIN_DIR_BITS: u32 = 5;
/// The smallest page is 4 KiB: a directory may not take EA bits below
/// bit 12.
pub const MIN_PAGE_SHIFT: u32 = 12;
/// In real mode, the guest real address is the EA without its 4 high bits.
pub const REAL_MODE_MASK: u64 = 0x0fff_ffff_ffff_ffff;

/// Where an effective address goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// The guest real address of the EA.
    pub gra: u64,
    /// log2 of the bytes mapped with the EA: the EA and `gra` agree in
    /// their low `page_shift` bits and the rest of the page maps alike.
    /// 12 (4 KiB) to 52; 60 in real mode, which maps the EA's low 60 bits.
    pub page_shift: u32,
    /// The leaf entry, for its R, C and EAA bits; `None` in real mode.
    pub pte: Option<u64>,
}

/// Why an effective address has no translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkError {
    /// EA quadrant 1 or 2 (bits 0-1), which a guest cannot use.
    Quadrant {
        /// The quadrant, EA bits 0-1.
        quadrant: u8,
    },
    /// The process table's base is not 4 KiB aligned.
    TableMisaligned {
        /// The base, a guest real address.
        base: u64,
    },
    /// The PID's entry is not inside the process table.
    PidOutsideTable {
        /// The PID.
        pid: u32,
    },
    /// A read was outside every memory slot.
    Unreadable {
        /// The guest real address read.
        gra: u64,
    },
    /// The EA has bits set between the quadrant and the tree's size.
    OutOfRange {
        /// EA bits the tree covers, 31 + RTS.
        tree_bits: u32,
    },
    /// A directory has fewer than 2^5 entries, or its entries would map
    /// less than 4 KiB.
    DirectorySize {
        /// The level, the root being 0.
        level: u8,
        /// Its RPDS or NLS.
        bits: u32,
    },
    /// A directory's base is not aligned to its size.
    DirectoryMisaligned {
        /// The level, the root being 0.
        level: u8,
        /// The base, a guest real address.
        base: u64,
    },
    /// An entry on the way is not valid: the L2 would take a page fault.
    NotValid {
        /// The level, the root being 0.
        level: u8,
    },
    /// A leaf in the root directory (512 GiB in Linux's layout), which
    /// kvm-hv refuses too.
    LeafAtRoot,
    /// A leaf whose RPN has bits set below its page size.
    LeafMisaligned {
        /// The level, the root being 0.
        level: u8,
    },
    /// No leaf within [`MAX_LEVELS`] levels.
    TooDeep,
}

/// Translates the effective address `ea` of the L2, as the processor
/// would for a guest (MSR\[HV\] = 0).
///
/// `relocate` is MSR\[IR\] for an instruction fetch, MSR\[DR\] for data.
/// Without it, the address is real: `ea` less its 4 high bits. With it,
/// quadrant 0 (EA bits 0-1) translates through the tree of `pid` (PIDR)
/// and quadrant 3 through that of PID 0; `process_table` is the process
/// table's guest real base and its size in bytes.
///
/// Every read goes through `mem` and may fail; at most [`MAX_LEVELS`] + 1
/// doublewords are read. Access permissions are not checked: the caller
/// has [`Translation::pte`].
pub fn translate(
    mem: &impl GuestMemory,
    ea: u64,
    pid: u32,
    process_table: (u64, u64),
    relocate: bool,
) -> Result<Translation, WalkError> {
    if !relocate {
        return Ok(Translation {
            gra: ea & REAL_MODE_MASK,
            page_shift: 60,
            pte: None,
        });
    }
    let pid = match ea >> 62 {
        0 => pid,
        3 => 0,
        q => return Err(WalkError::Quadrant { quadrant: q as u8 }),
    };
    let (base, size) = process_table;
    if base & 0xfff != 0 {
        return Err(WalkError::TableMisaligned { base });
    }
    // An entry is 16 bytes; its first doubleword holds the root.
    let offset = u64::from(pid) * 16;
    // offset is below 2^36: no overflow.
    if offset + 16 > size {
        return Err(WalkError::PidOutsideTable { pid });
    }
    let gra = base
        .checked_add(offset)
        .ok_or(WalkError::PidOutsideTable { pid })?;
    let root = mem.read_be64(gra).ok_or(WalkError::Unreadable { gra })?;
    walk(mem, ea, root)
}

/// Walks the tree whose root `root` describes (a process table entry's
/// first doubleword) for `ea`.
fn walk(mem: &impl GuestMemory, ea: u64, root: u64) -> Result<Translation, WalkError> {
    // RTS1 is the high two bits of RTS, RTS2 the low three.
    let rts = (((root >> 61) & 3) << 3) | ((root >> 5) & 7);
    // 31 to 62.
    let tree_bits = 31 + rts as u32;
    if (ea & !(3 << 62)) >> tree_bits != 0 {
        return Err(WalkError::OutOfRange { tree_bits });
    }
    let mut base = root & DIR_BASE_MASK;
    let mut bits = (root & DIR_SIZE_MASK) as u32;
    // The EA bits not yet used: the next level takes those just below.
    let mut shift = tree_bits;
    for level in 0..MAX_LEVELS {
        if bits < MIN_DIR_BITS || bits + MIN_PAGE_SHIFT > shift {
            return Err(WalkError::DirectorySize { level, bits });
        }
        shift -= bits;
        // The directory holds 2^bits doublewords; bits is at most 31.
        if base & ((1 << (bits + 3)) - 1) != 0 {
            return Err(WalkError::DirectoryMisaligned { level, base });
        }
        let index = (ea >> shift) & ((1 << bits) - 1);
        // Aligned as it is, the base has no bits where the index goes.
        let gra = base | (index << 3);
        let pte = mem.read_be64(gra).ok_or(WalkError::Unreadable { gra })?;
        if pte & PTE_VALID == 0 {
            return Err(WalkError::NotValid { level });
        }
        if pte & PTE_LEAF != 0 {
            if level == 0 {
                return Err(WalkError::LeafAtRoot);
            }
            // Below the root, shift is 12 to 52 (62 - 5 - 5).
            let offset_mask = (1 << shift) - 1;
            let rpn = pte & PTE_RPN_MASK;
            if rpn & offset_mask != 0 {
                return Err(WalkError::LeafMisaligned { level });
            }
            return Ok(Translation {
                gra: rpn | (ea & offset_mask),
                page_shift: shift,
                pte: Some(pte),
            });
        }
        base = pte & DIR_BASE_MASK;
        bits = (pte & DIR_SIZE_MASK) as u32;
    }
    Err(WalkError::TooDeep)
}
