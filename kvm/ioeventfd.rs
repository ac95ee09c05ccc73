// SPDX-License-Identifier: GPL-2.0

//! `KVM_IOEVENTFD`: eventfds a VMM binds to guest writes. An L2 store to
//! an address outside every slot that matches one signals its eventfd and
//! completes in the kernel: the L2 goes on without an exit to the VMM
//! (`super::mmio`), as KVM's MMIO bus does for a virtio notify.

use core::ptr::NonNull;
use kernel::{
    bindings,
    prelude::*,
    transmute::FromBytes,
    uaccess::{UserPtr, UserSlice},
    uapi,
};

/// `struct kvm_ioeventfd`.
#[repr(transparent)]
struct Args(uapi::kvm_ioeventfd);

// SAFETY: integers only (`__u64` datamatch and addr, `__u32` len, `__s32`
// fd, `__u32` flags, 36 pad bytes): every bit pattern is a value.
unsafe impl FromBytes for Args {}

/// The flags, from the uapi's bit numbers.
const DATAMATCH: u32 = 1 << uapi::kvm_ioeventfd_flag_nr_datamatch;
const PIO: u32 = 1 << uapi::kvm_ioeventfd_flag_nr_pio;
const DEASSIGN: u32 = 1 << uapi::kvm_ioeventfd_flag_nr_deassign;
/// Every flag KVM knows; of these, the s390 virtio-ccw notification and
/// the fast-MMIO bit are refused here.
const KNOWN: u32 = (1 << uapi::kvm_ioeventfd_flag_nr_max) - 1;
const TAKEN: u32 = DATAMATCH | PIO | DEASSIGN;

/// A reference to an eventfd's context.
///
/// # Invariants
///
/// `ctx` is a reference `eventfd_ctx_fdget()` returned, put once, when
/// this is dropped.
struct EventFd {
    ctx: NonNull<bindings::eventfd_ctx>,
}

// SAFETY: an eventfd context may be signalled and put from any thread
// (it has its own lock and reference count).
unsafe impl Send for EventFd {}
// SAFETY: as above: `signal` takes `&self` and is thread-safe.
unsafe impl Sync for EventFd {}

impl EventFd {
    /// The eventfd of fd `fd` of the current task; `-EBADF` and the other
    /// errors of `eventfd_ctx_fdget()` (`-EINVAL`: not an eventfd).
    fn get(fd: i32) -> Result<EventFd> {
        // SAFETY: `eventfd_ctx_fdget()` takes any number and returns a
        // reference or an `ERR_PTR`.
        let p = unsafe { bindings::eventfd_ctx_fdget(fd) };
        let addr = p as isize;
        if (-(bindings::MAX_ERRNO as isize)..0).contains(&addr) {
            return Err(Error::from_errno(addr as i32));
        }
        let ctx = NonNull::new(p).ok_or(EINVAL)?;
        // INVARIANT: a reference from `eventfd_ctx_fdget()`.
        Ok(EventFd { ctx })
    }

    /// Adds 1 to the eventfd's counter, waking its readers.
    fn signal(&self) {
        // SAFETY: `ctx` is a live reference (type invariant).
        unsafe { bindings::eventfd_signal_mask(self.ctx.as_ptr(), 0) };
    }
}

impl Drop for EventFd {
    fn drop(&mut self) {
        // SAFETY: the reference is ours and put once (type invariant).
        unsafe { bindings::eventfd_ctx_put(self.ctx.as_ptr()) };
    }
}

/// One binding: writes of `len` bytes (0: any) at `addr`, of value
/// `datamatch` if given, signal `event`.
struct IoEventFd {
    addr: u64,
    len: u32,
    datamatch: Option<u64>,
    /// A port I/O binding: kept, and never matched (POWER has no port I/O;
    /// KVM accepts them on every architecture, and QEMU probes with them).
    pio: bool,
    event: EventFd,
}

impl IoEventFd {
    /// The same binding as KVM's `ioeventfd_check_collision()` sees it:
    /// the same space, address and length, and a data match that overlaps.
    fn collides(&self, other: &IoEventFd) -> bool {
        self.pio == other.pio
            && self.addr == other.addr
            && (self.len == 0
                || other.len == 0
                || (self.len == other.len
                    && (self.datamatch.is_none()
                        || other.datamatch.is_none()
                        || self.datamatch == other.datamatch)))
    }
}

/// A VM's bindings.
#[derive(Default)]
pub(super) struct IoEventFds(KVec<IoEventFd>);

impl IoEventFds {
    /// `KVM_IOEVENTFD`, checked as `kvm_ioeventfd()`: flags KVM knows
    /// (`-EINVAL` for the s390 and fast-MMIO ones), a length of 0, 1, 2, 4
    /// or 8 (0 without a data match only), no wrap. Assigning one that
    /// collides with another is `-EEXIST`; deassigning one that does not
    /// exist (same space, address, length, eventfd and data match) is
    /// `-ENOENT`.
    pub(super) fn ioctl(&mut self, arg: usize) -> Result<isize> {
        let a = UserSlice::new(UserPtr::from_addr(arg), size_of::<Args>())
            .reader()
            .read::<Args>()?
            .0;
        if a.flags & !KNOWN != 0 || a.flags & !TAKEN != 0 {
            return Err(EINVAL);
        }
        if !matches!(a.len, 0 | 1 | 2 | 4 | 8) || (a.len == 0 && a.flags & DATAMATCH != 0) {
            return Err(EINVAL);
        }
        a.addr.checked_add(a.len.into()).ok_or(EINVAL)?;
        let event = EventFd::get(a.fd)?;
        let new = IoEventFd {
            addr: a.addr,
            len: a.len,
            datamatch: (a.flags & DATAMATCH != 0).then_some(a.datamatch),
            pio: a.flags & PIO != 0,
            event,
        };
        if a.flags & DEASSIGN != 0 {
            let at = self
                .0
                .iter()
                .position(|e| {
                    e.pio == new.pio
                        && e.addr == new.addr
                        && e.len == new.len
                        && e.datamatch == new.datamatch
                        && e.event.ctx == new.event.ctx
                })
                .ok_or(ENOENT)?;
            self.0.remove(at).map_err(|_| ENOENT)?;
            return Ok(0);
        }
        if self.0.iter().any(|e| e.collides(&new)) {
            return Err(EEXIST);
        }
        self.0.push(new, GFP_KERNEL_ACCOUNT)?;
        Ok(0)
    }

    /// An L2 store of `data` (`len` bytes, as memory holds them) at guest
    /// real `addr`: signals the binding it matches, if one does, and says
    /// whether one did. The data match compares the bytes read as a
    /// native-endian integer of `len` bytes, as KVM's MMIO bus does.
    pub(super) fn write(&self, addr: u64, data: &[u8; 8], len: usize) -> bool {
        let mut native = [0u8; 8];
        let n = len.min(8);
        let value = if cfg!(target_endian = "little") {
            native[..n].copy_from_slice(&data[..n]);
            u64::from_le_bytes(native)
        } else {
            native[8 - n..].copy_from_slice(&data[..n]);
            u64::from_be_bytes(native)
        };
        let hit = self.0.iter().find(|e| {
            !e.pio
                && e.addr == addr
                && (e.len == 0 || e.len as usize == len)
                && e.datamatch.is_none_or(|d| e.len == 0 || d == value)
        });
        if let Some(e) = hit {
            e.event.signal();
        }
        hit.is_some()
    }
}
