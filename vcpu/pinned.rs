// SPDX-License-Identifier: GPL-2.0

//! Userspace memory pinned for an L2: a VMM's memory slot, whose pages
//! the L0 reaches through the L2's partition-scoped tree.

use super::pgtable;
use core::{mem::ManuallyDrop, ptr};
use kernel::{
    bindings,
    error::to_result,
    mm::Mm,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{ordering::Relaxed, Atomic},
    },
};

/// Pages this module has pinned and not yet unpinned (debugfs `pinned`).
static PINNED: Atomic<u64> = Atomic::new(0);

/// How many pages this module holds pinned now.
pub(crate) fn pinned() -> u64 {
    PINNED.load(Relaxed)
}

// The L1's pages are the L2's: one pinned page is one leaf of the tree.
const _: () = assert!(bindings::PAGE_SIZE == pgtable::PAGE_SIZE);

/// Pages charged to an address space's locked memory (`locked_vm`, which
/// `RLIMIT_MEMLOCK` bounds and `/proc/<pid>/status` shows as `VmLck`), as
/// VFIO and KVM's TCE tables charge what they pin; uncharged when dropped,
/// from whatever task, even after the process has gone.
///
/// # Invariants
///
/// `pages` pages were charged to `mm` by `account_locked_vm()` for this
/// value, and are uncharged only by [`Drop`].
struct Charge {
    mm: ARef<Mm>,
    pages: usize,
}

impl Charge {
    /// Charges `pages` pages to the current task's address space:
    /// `-ENOMEM` past its `RLIMIT_MEMLOCK`, unless it has `CAP_IPC_LOCK`.
    fn new(pages: usize) -> Result<Charge> {
        let mm = ARef::from(&**kernel::current!().mm().ok_or(EFAULT)?);
        let n = c_ulong::try_from(pages).map_err(|_| ENOMEM)?;
        // SAFETY: `mm` is a live address space (the reference is held).
        to_result(unsafe { bindings::account_locked_vm(mm.as_raw(), n, true) })?;
        // INVARIANT: `pages` pages were just charged to `mm`.
        Ok(Charge { mm, pages })
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        // SAFETY: `mm` is live (the reference is held); `pages` pages were
        // charged to it for this value (type invariant), uncharged once,
        // here. An address space whose process has exited is still one: its
        // `locked_vm` is kept until it is freed.
        unsafe { bindings::account_locked_vm(self.mm.as_raw(), self.pages as c_ulong, false) };
    }
}

/// Pages of the current task's memory, pinned long-term for writing, with
/// their real addresses, charged to its `RLIMIT_MEMLOCK`.
///
/// # Invariants
///
/// - Every `pages[i]` was pinned by `pin_user_pages_fast(FOLL_WRITE |
///   FOLL_LONGTERM)` for this value, once, and is unpinned only by
///   [`Drop`]: the page stays allocated and in place until then.
/// - `pas[i]` is the real address of `pages[i]`.
/// - `charge` is of as many pages.
pub(crate) struct PinnedPages {
    pages: KVec<*mut bindings::page>,
    pas: KVec<u64>,
    charge: Charge,
}

// SAFETY: the pointers are to pages the kernel keeps pinned for this value;
// any task may read their addresses or unpin them.
unsafe impl Send for PinnedPages {}

// SAFETY: a shared `&PinnedPages` only reads the page count and the real
// addresses; nothing is written through it.
unsafe impl Sync for PinnedPages {}

impl PinnedPages {
    /// Pins the `n` pages from user address `uaddr` (page aligned) of the
    /// current task, charged to its locked memory first. `-ENOMEM` past its
    /// `RLIMIT_MEMLOCK` (as `mlock()` and VFIO), `-EFAULT` where some are not
    /// mapped writable (or are mapped `VM_IO`, such as a `kvm_run` page);
    /// nothing stays pinned or charged on failure.
    pub(crate) fn pin(uaddr: usize, n: usize) -> Result<PinnedPages> {
        if n == 0 || !uaddr.is_multiple_of(pgtable::PAGE_SIZE) {
            return Err(EINVAL);
        }
        let mut pages = KVec::from_elem(ptr::null_mut::<bindings::page>(), n, GFP_KERNEL_ACCOUNT)?;
        let mut pas = KVec::with_capacity(n, GFP_KERNEL_ACCOUNT)?;
        let charge = Charge::new(n)?;
        let flags = bindings::FOLL_WRITE | bindings::FOLL_LONGTERM;
        let mut done = 0;
        while done < n {
            let start = uaddr + done * pgtable::PAGE_SIZE;
            let want = c_int::try_from(n - done).unwrap_or(c_int::MAX);
            // SAFETY: `pages` has room for `n - done` pointers from index
            // `done`, and `want` is at most that.
            let r = unsafe {
                bindings::pin_user_pages_fast(
                    start as c_ulong,
                    want,
                    flags as c_uint,
                    pages.as_mut_ptr().add(done),
                )
            };
            if r <= 0 {
                // SAFETY: the first `done` pointers are pages pinned above,
                // each once, and unpinned only here.
                unsafe { bindings::unpin_user_pages(pages.as_mut_ptr(), done as c_ulong) };
                return Err(if r < 0 { Error::from_errno(r) } else { EFAULT });
            }
            done += r as usize;
        }
        for page in pages.iter() {
            // SAFETY: `page` is pinned, so allocated; this kernel has no
            // highmem (PPC64), so the mapping is the page's place in the
            // linear map, valid for as long as the page is.
            let addr = unsafe { bindings::kmap_local_page(*page) };
            // SAFETY: `addr` came from `kmap_local_page` just above.
            unsafe { bindings::kunmap_local(addr) };
            let pa = crate::platform::linear_map_pa(addr as usize, pgtable::PAGE_SIZE);
            match pa {
                // Room for `n` was reserved: no allocation.
                Ok(pa) => pas.push(pa, GFP_KERNEL_ACCOUNT)?,
                Err(e) => {
                    // SAFETY: all `n` pages were pinned above, once each.
                    unsafe { bindings::unpin_user_pages(pages.as_mut_ptr(), n as c_ulong) };
                    return Err(e);
                }
            }
        }
        PINNED.fetch_add(n as u64, Relaxed);
        // INVARIANT: all `n` pages are pinned for this value; `pas` holds
        // their real addresses, in order; `charge` is of `n` pages.
        Ok(PinnedPages { pages, pas, charge })
    }

    /// How many pages.
    pub(crate) fn len(&self) -> usize {
        self.pages.len()
    }

    /// The real address of page `i`.
    pub(crate) fn real_address(&self, i: usize) -> Option<u64> {
        self.pas.get(i).copied()
    }

    /// Gives the pages up for good, pinned, for when the L0 may still use
    /// them. Their charge is dropped: the VMM cannot get them back, so its
    /// limit no longer counts them. The caller logs why.
    pub(crate) fn leak(self) {
        let this = ManuallyDrop::new(self);
        // SAFETY: `charge` is read out once, and `this` is never dropped:
        // the pages and their vectors stay as they are, for good.
        drop(unsafe { ptr::read(&this.charge) });
    }
}

impl Drop for PinnedPages {
    fn drop(&mut self) {
        let n = self.pages.len();
        // SAFETY: every pointer is a page pinned for this value, once (type
        // invariant), unpinned here, once.
        unsafe { bindings::unpin_user_pages(self.pages.as_mut_ptr(), n as c_ulong) };
        PINNED.fetch_sub(n as u64, Relaxed);
    }
}
