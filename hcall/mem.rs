// SPDX-License-Identifier: GPL-2.0

//! Memory the L0 reads or writes: state buffers, run buffers, a VPA, the
//! L2's page tables and pages.

use crate::platform::linear_map_pa;
use core::ops::{Deref, DerefMut};
use kernel::prelude::*;

/// L1 memory whose real address may be handed to the L0.
///
/// Only this type's real address ([`L0Mem::real_address`]) goes to the
/// L0: a call that hands the L0 memory takes an `L0Mem`, or is `unsafe`.
///
/// # Invariants
///
/// - `buf` is one kmalloc allocation of `buf.len()` bytes, at least one:
///   physically contiguous, in the L1's linear map, and naturally aligned
///   where its size is a power of two (kmalloc's guarantee).
/// - `pa` is the real address of `buf`'s first byte.
/// - The storage never moves nor changes size while the `L0Mem` lives: no
///   method grows, shrinks or replaces `buf`, and [`Deref`] hands out the
///   bytes as a slice only.
///
/// Whoever registers the memory with the L0 keeps the `L0Mem` alive, or
/// leaks it ([`L0Mem::leak`]), for as long as the L0 may use it.
pub(crate) struct L0Mem {
    buf: KVec<u8>,
    pa: u64,
}

impl L0Mem {
    /// `len` zeroed bytes (`-EINVAL` for 0), charged to the current task's
    /// memory cgroup (`GFP_KERNEL_ACCOUNT`), as KVM charges what a VMM
    /// makes it allocate.
    pub(crate) fn zeroed(len: usize) -> Result<L0Mem> {
        if len == 0 {
            return Err(EINVAL);
        }
        let buf = KVec::from_elem(0u8, len, GFP_KERNEL_ACCOUNT)?;
        let pa = linear_map_pa(buf.as_ptr() as usize, buf.len())?;
        // INVARIANT: `from_elem` made one kmalloc allocation of exactly
        // `len` bytes, and `pa` is its real address.
        Ok(L0Mem { buf, pa })
    }

    /// The real address the L0 is given.
    pub(crate) fn real_address(&self) -> u64 {
        self.pa
    }

    /// Gives the memory up for good, for when the L0 may still use it and
    /// the L1 cannot make it stop: never freed, never reused. The caller
    /// logs why.
    pub(crate) fn leak(self) {
        core::mem::forget(self);
    }
}

impl Deref for L0Mem {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buf
    }
}

impl DerefMut for L0Mem {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }
}
