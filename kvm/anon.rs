// SPDX-License-Identifier: GPL-2.0

//! File descriptors of the module's own objects (a VM, a vCPU), on
//! anonymous inodes, as KVM hands out its VM and vCPU fds.
//!
//! The 7.3 kernel crate has no anonymous-inode abstraction; this is the
//! minimal one the interface needs: one `file_operations` per kind of
//! object, owned by this module, whose private data is the object (an
//! [`Arc`]) and the address space of the process that made the fd, taken
//! back on release.
//!
//! As in KVM (`kvm->mm != current->mm`), only that process may use the
//! fd: an ioctl or an `mmap()` from any other (one that inherited the fd
//! across `fork()`, or was sent it) fails with `-EIO`.

use core::{marker::PhantomData, mem::MaybeUninit, ptr, ptr::NonNull};
use kernel::{
    bindings,
    error::{from_err_ptr, from_result},
    fs::{file::FileDescriptorReservation, File},
    mm::{virt::VmaNew, Mm},
    page::Page,
    prelude::*,
    sync::{aref::ARef, Arc, ArcBorrow},
};

/// An object that userspace reaches through an fd of its own.
pub(crate) trait AnonFile: Send + Sync + Sized + 'static {
    /// The anonymous inode's name, shown in `/proc/<pid>/fd` (`anon_inode:<name>`).
    const NAME: &'static CStr;

    /// Handles an ioctl on the fd.
    fn ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize>;

    /// Whether the fd can be mapped ([`AnonFile::mmap_page`]).
    const HAS_MMAP: bool = false;

    /// The page at page offset `pgoff` of the fd's mapping; `None` where
    /// there is none. A mapping is refused (`-EINVAL`) unless each of its
    /// pages has one; each is mapped at `mmap()`, and again on a fault
    /// after it was zapped (`MADV_DONTNEED`).
    fn mmap_page(_this: &Self, _pgoff: usize) -> Option<&Page> {
        None
    }
}

/// What an fd's file holds.
///
/// # Invariants
///
/// `mm` is the address space of the task that made the fd.
struct Held<T> {
    obj: Arc<T>,
    mm: ARef<Mm>,
}

impl<T> Held<T> {
    /// Whether the current task is of the process that made the fd.
    fn is_current(&self) -> bool {
        kernel::current!()
            .mm()
            .is_some_and(|mm| ptr::eq(mm.as_raw(), self.mm.as_raw()))
    }
}

/// The `file_operations` of [`AnonFile`] `T`'s fds.
struct Ops<T>(PhantomData<T>);

impl<T: AnonFile> Ops<T> {
    /// The fds' operations. Their owner is this module, so an open fd holds
    /// it: it cannot be unloaded while userspace has one.
    const VTABLE: bindings::file_operations = bindings::file_operations {
        unlocked_ioctl: Some(Self::ioctl),
        mmap: if T::HAS_MMAP { Some(Self::mmap) } else { None },
        compat_ioctl: bindings::compat_ptr_ioctl,
        release: Some(Self::release),
        llseek: Some(bindings::noop_llseek),
        owner: kernel::module::this_module::<crate::LocalModule>().as_ptr(),
        ..pin_init::zeroed()
    };

    /// The operations of a mapping of the fd: pages come back on a fault.
    const VM_OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
        fault: Some(Self::fault),
        ..pin_init::zeroed()
    };

    /// The [`Held`] of `file`.
    ///
    /// # Safety
    ///
    /// `file` is a file made by [`Reservation::install`] for a `T`, and is
    /// not released during `'a`.
    unsafe fn held<'a>(file: *const bindings::file) -> &'a Held<T> {
        // SAFETY: the caller's contract: the private data is the
        // `KBox<Held<T>>` that `install` put there, which `release` takes
        // back only once the file is released.
        unsafe { &*(*file).private_data.cast::<Held<T>>() }
    }

    /// `unlocked_ioctl`: `-EIO` from any process but the fd's maker.
    ///
    /// # Safety
    ///
    /// `file` is a file made by [`Reservation::install`] for a `T`, and not
    /// yet released.
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: the caller's contract; an ioctl holds the file.
        let held = unsafe { Self::held(file) };
        from_result(|| {
            if !held.is_current() {
                return Err(EIO);
            }
            T::ioctl(held.obj.as_arc_borrow(), cmd, arg).map(|r| r as c_long)
        })
    }

    /// `mmap`: the pages of [`AnonFile::mmap_page`], on a VMA that cannot
    /// grow (`VM_DONTEXPAND`) and that `get_user_pages()` refuses
    /// (`VM_IO`: they are the kernel's pages, never a slot's memory);
    /// `-EIO` from any process but the fd's maker.
    ///
    /// # Safety
    ///
    /// `file` is a file made by [`Reservation::install`] for a `T`, and not
    /// yet released; `vma` is a VMA undergoing its initial setup for this
    /// call.
    unsafe extern "C" fn mmap(
        file: *mut bindings::file,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: the caller's contract; `mmap` is called with the file
        // held.
        let held = unsafe { Self::held(file) };
        // SAFETY: the caller's contract: `vma` is being set up, for this call.
        let vma = unsafe { VmaNew::from_raw(vma) };
        from_result(|| {
            if !held.is_current() {
                return Err(EIO);
            }
            // SAFETY: the VMA is being set up for this call; reading its
            // page offset races with nothing.
            let pgoff = unsafe { (*vma.as_ptr()).vm_pgoff };
            let pages = (vma.end() - vma.start()) / bindings::PAGE_SIZE;
            vma.set_dontexpand();
            vma.set_io();
            let mixed = vma.set_mixedmap();
            for i in 0..pages {
                let off = pgoff.checked_add(i).ok_or(EINVAL)?;
                let page = T::mmap_page(&held.obj, off).ok_or(EINVAL)?;
                mixed.vm_insert_page(vma.start() + i * bindings::PAGE_SIZE, page)?;
            }
            // SAFETY: the VMA is being set up for this call, seen by no one
            // else yet; `VM_OPS` is a constant, so it outlives the VMA, and
            // its `fault` expects this VMA: its file is a `T`'s, which the
            // VMA holds for as long as it exists.
            unsafe { (*vma.as_ptr()).vm_ops = &Self::VM_OPS };
            Ok(0)
        })
    }

    /// `vm_operations_struct.fault`: maps the page again where it was
    /// zapped, as KVM's `kvm_vcpu_fault()` does; `SIGBUS` for an offset
    /// with no page.
    ///
    /// # Safety
    ///
    /// `vmf` is a fault on a VMA set up by [`Self::mmap`], under its lock
    /// (the mmap or the VMA's read lock).
    unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: `vmf` is live for the call (the caller's contract).
        let f = unsafe { (*vmf).__bindgen_anon_1 };
        // SAFETY: the VMA is live while it faults, and holds its file,
        // made by `install` for a `T` (`Self::mmap` set up only such VMAs).
        let held = unsafe { Self::held((*f.vma).vm_file) };
        let Some(page) = T::mmap_page(&held.obj, f.pgoff) else {
            return bindings::vm_fault_reason_VM_FAULT_SIGBUS;
        };
        // SAFETY: the VMA has `VM_MIXEDMAP` (set by `Self::mmap`), with
        // which `vm_insert_page()` may be called from its fault handler;
        // `address` is the faulting page's, inside the VMA; `page` is an
        // order-0 page of the object, which the VMA holds through its file,
        // and which the mapping takes a reference to.
        let r = unsafe { bindings::vm_insert_page(f.vma, f.address, page.as_ptr()) };
        match kernel::error::to_result(r) {
            // Mapped, here or by a racing fault on the same page.
            Ok(()) => bindings::vm_fault_reason_VM_FAULT_NOPAGE,
            Err(e) if e == EBUSY => bindings::vm_fault_reason_VM_FAULT_NOPAGE,
            Err(e) if e == ENOMEM => bindings::vm_fault_reason_VM_FAULT_OOM,
            Err(_) => bindings::vm_fault_reason_VM_FAULT_SIGBUS,
        }
    }

    /// `release`: drops the fd's reference to the object.
    ///
    /// # Safety
    ///
    /// `file` is a file made by [`Reservation::new`] for a `T`, released
    /// once.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: the caller's contract: `file` is live until this returns.
        let held = unsafe { (*file).private_data.cast::<Held<T>>() };
        // A reservation dropped unused: no private data, nothing to drop.
        if !held.is_null() {
            // SAFETY: the private data is the pointer `KBox::into_raw` gave
            // `install`; the file is released once, so it is taken back
            // once.
            drop(unsafe { KBox::from_raw(held) });
        }
        0
    }
}

/// An fd of ours made ready for an object not made yet: the fd number
/// reserved, the file made and the memory of its private data allocated,
/// so that what can fail (no fd free: `-EMFILE`; no file: `-ENFILE`; no
/// memory) fails before the object is made, which for a vCPU is at the
/// L0, which cannot delete it again. Dropped unused, it gives all of it
/// back.
///
/// # Invariants
///
/// - `file` was made by `anon_inode_getfile()` with `Ops::<T>::VTABLE` and
///   no private data (null), and no one else can reach it: `fd`, the
///   reserved fd number `nr`, is not installed yet.
/// - `mm` is the address space of the task that made the reservation, the
///   current task for as long as it exists (it cannot leave its task).
pub(crate) struct Reservation<T: AnonFile> {
    fd: FileDescriptorReservation,
    nr: i32,
    file: ARef<File>,
    held: KBox<MaybeUninit<Held<T>>>,
    mm: ARef<Mm>,
}

impl<T: AnonFile> Reservation<T> {
    /// Reserves an fd (`O_CLOEXEC`) of the current task, with its file
    /// (`O_RDWR`).
    pub(crate) fn new() -> Result<Reservation<T>> {
        let fd = FileDescriptorReservation::get_unused_fd_flags(bindings::O_CLOEXEC)?;
        let nr = i32::try_from(fd.reserved_fd()).map_err(|_| EBADF)?;
        let mm = ARef::from(&**kernel::current!().mm().ok_or(ESRCH)?);
        let held = KBox::new_uninit(GFP_KERNEL_ACCOUNT)?;
        // SAFETY: `NAME` is a NUL-terminated string; `VTABLE` is a
        // `file_operations` whose callbacks take a null private data for a
        // file never installed (only `release` can see it); the flags are
        // valid open flags.
        let file = from_err_ptr(unsafe {
            bindings::anon_inode_getfile(
                T::NAME.as_char_ptr(),
                &Ops::<T>::VTABLE,
                ptr::null_mut(),
                bindings::O_RDWR as c_int,
            )
        })?;
        let file = NonNull::new(file).ok_or(ENOMEM)?;
        // SAFETY: `anon_inode_getfile()` gave us the file's one reference,
        // which the `ARef` takes over; the file is new, so no `fdget_pos()`
        // is active on it.
        let file = unsafe { ARef::from_raw(file.cast::<File>()) };
        // INVARIANT: the file was just made, with no private data, and the
        // fd is not installed; `mm` is the current task's.
        Ok(Reservation {
            fd,
            nr,
            file,
            held,
            mm,
        })
    }

    /// Hands `obj` to userspace as the reserved fd, which holds a reference
    /// to it until it is closed, and the address space of the task that
    /// made the reservation: only its process may use the fd. Cannot fail.
    /// Returns the fd number.
    pub(crate) fn install(self, obj: Arc<T>) -> i32 {
        let Reservation {
            fd,
            nr,
            file,
            held,
            mm,
        } = self;
        // INVARIANT: `mm` is the address space of the task making the fd.
        let raw = KBox::into_raw(KBox::write(held, Held { obj, mm }));
        // SAFETY: no one else can reach the file before `fd_install()`
        // (type invariant), so the write races with nothing; from here on
        // its private data is the `KBox<Held<T>>` the callbacks expect,
        // taken back by `release`.
        unsafe { (*file.as_ptr()).private_data = raw.cast() };
        fd.fd_install(file);
        nr
    }
}

/// Hands `obj` to userspace as a new fd (`O_RDWR | O_CLOEXEC`) of the
/// current task, as [`Reservation::install`]. Returns the fd number.
pub(crate) fn install<T: AnonFile>(obj: Arc<T>) -> Result<i32> {
    Ok(Reservation::new()?.install(obj))
}
