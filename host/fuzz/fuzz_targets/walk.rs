// SPDX-License-Identifier: GPL-2.0

//! Fuzz the process-scoped radix walk with any guest memory image and
//! any arguments, as an L2 could set them up. It must never panic, read
//! unaligned, read more than the root and `MAX_LEVELS` entries, or return
//! a translation that does not map the EA's page offset.
//!
//! Input: EA (8 bytes), PID (4), process table base (8) and size (8),
//! flags (1), then the memory image as big-endian doublewords from guest
//! real address 0. With flag bit 1 the image repeats through the whole
//! address space, so that wild pointers still find entries; without it,
//! reads beyond the image fail.

#![no_main]

use std::cell::Cell;

use libfuzzer_sys::fuzz_target;
use rpn_gsb::emul::radix::{MAX_LEVELS, PTE_LEAF, PTE_RPN_MASK, PTE_VALID, REAL_MODE_MASK};
use rpn_gsb::emul::{fetch_instruction, translate, GuestMemory};

struct Image<'a> {
    bytes: &'a [u8],
    wrap: bool,
    reads: Cell<usize>,
}

impl GuestMemory for Image<'_> {
    fn read_be64(&self, gra: u64) -> Option<u64> {
        assert_eq!(gra % 8, 0, "unaligned read at {gra:#x}");
        self.reads.set(self.reads.get() + 1);
        let dws = (self.bytes.len() / 8) as u64;
        let index = if self.wrap && dws > 0 {
            gra / 8 % dws
        } else {
            gra / 8
        };
        let at = usize::try_from(index.checked_mul(8)?).ok()?;
        let b = self.bytes.get(at..at.checked_add(8)?)?;
        Some(u64::from_be_bytes(b.try_into().ok()?))
    }
}

fn take<const N: usize>(data: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = data.split_first_chunk::<N>()?;
    *data = rest;
    Some(*head)
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let (Some(ea), Some(pid), Some(base), Some(size), Some([flags])) = (
        take::<8>(&mut data).map(u64::from_be_bytes),
        take::<4>(&mut data).map(u32::from_be_bytes),
        take::<8>(&mut data).map(u64::from_be_bytes),
        take::<8>(&mut data).map(u64::from_be_bytes),
        take::<1>(&mut data),
    ) else {
        return;
    };
    let relocate = flags & 1 != 0;
    let mem = Image {
        bytes: data,
        wrap: flags & 2 != 0,
        reads: Cell::new(0),
    };
    let table = (base, size);
    let r = translate(&mem, ea, pid, table, relocate);
    assert!(mem.reads.get() <= 1 + usize::from(MAX_LEVELS));
    // The same memory, the same answer.
    assert_eq!(translate(&mem, ea, pid, table, relocate), r);
    if let Ok(t) = r {
        let offset = (1u64 << t.page_shift) - 1;
        assert_eq!(t.gra & offset, ea & offset);
        match t.pte {
            None => {
                assert!(!relocate);
                assert_eq!(t.gra, ea & REAL_MODE_MASK);
            }
            Some(pte) => {
                assert!(relocate);
                assert!((12..=52).contains(&t.page_shift));
                assert_eq!(pte & (PTE_VALID | PTE_LEAF), PTE_VALID | PTE_LEAF);
                assert_eq!(t.gra & !offset, pte & PTE_RPN_MASK);
                assert!(matches!(ea >> 62, 0 | 3));
            }
        }
    }
    mem.reads.set(0);
    let _ = fetch_instruction(&mem, ea, pid, table, relocate, flags & 4 != 0);
    assert!(mem.reads.get() <= 2 + usize::from(MAX_LEVELS));
});
