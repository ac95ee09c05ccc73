// SPDX-License-Identifier: GPL-2.0

//! File descriptors of the module's own objects (a VM, later a vCPU), on
//! anonymous inodes, as KVM hands out its VM and vCPU fds.
//!
//! The 7.3 kernel crate has no anonymous-inode abstraction; this is the
//! minimal one the interface needs: one `file_operations` per kind of
//! object, owned by this module, whose private data is an [`Arc`] of the
//! object, taken back on release.

use core::marker::PhantomData;
use kernel::{
    bindings,
    error::from_result,
    mm::virt::VmaNew,
    prelude::*,
    sync::{Arc, ArcBorrow},
};

/// An object that userspace reaches through an fd of its own.
pub(crate) trait AnonFile: Send + Sync + Sized + 'static {
    /// The anonymous inode's name, shown in `/proc/<pid>/fd` (`anon_inode:<name>`).
    const NAME: &'static CStr;

    /// Handles an ioctl on the fd.
    fn ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize>;

    /// Whether the fd can be mapped ([`AnonFile::mmap`]).
    const HAS_MMAP: bool = false;

    /// Sets up a mapping of the fd, for `mmap()`.
    fn mmap(_this: ArcBorrow<'_, Self>, _vma: &VmaNew) -> Result {
        Err(ENODEV)
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

    /// `unlocked_ioctl`.
    ///
    /// # Safety
    ///
    /// `file` is a file made by [`install`] for a `T`, and not yet released.
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: `file` is live (the caller's contract), so its private data
        // is the `Arc<T>` that `install` put there, which `release` takes
        // back only after the last ioctl has returned.
        let this = unsafe { ArcBorrow::from_raw((*file).private_data.cast::<T>()) };
        from_result(|| T::ioctl(this, cmd, arg).map(|r| r as c_long))
    }

    /// `mmap`.
    ///
    /// # Safety
    ///
    /// `file` is a file made by [`install`] for a `T`, and not yet released;
    /// `vma` is a VMA undergoing its initial setup for this call.
    unsafe extern "C" fn mmap(
        file: *mut bindings::file,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: as for `ioctl`: the private data is the live `Arc<T>`.
        let this = unsafe { ArcBorrow::from_raw((*file).private_data.cast::<T>()) };
        // SAFETY: the caller's contract: `vma` is being set up, for this call.
        let vma = unsafe { VmaNew::from_raw(vma) };
        from_result(|| T::mmap(this, vma).map(|()| 0))
    }

    /// `release`: drops the fd's reference to the object.
    ///
    /// # Safety
    ///
    /// `file` is a file made by [`install`] for a `T`, released once.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: the private data is the pointer `Arc::into_raw` gave
        // `install`; the file is released once, so it is taken back once.
        drop(unsafe { Arc::from_raw((*file).private_data.cast::<T>()) });
        0
    }
}

/// Hands `obj` to userspace as a new fd (`O_RDWR | O_CLOEXEC`) of the
/// current task, which holds a reference to it until the fd is closed.
/// Returns the fd number.
pub(crate) fn install<T: AnonFile>(obj: Arc<T>) -> Result<i32> {
    let raw = Arc::into_raw(obj);
    // SAFETY: `NAME` is a NUL-terminated string; `VTABLE` is a static
    // `file_operations` whose callbacks expect exactly this private data,
    // an `Arc<T>` turned raw; the flags are valid open flags.
    let fd = unsafe {
        bindings::anon_inode_getfd(
            T::NAME.as_char_ptr(),
            &Ops::<T>::VTABLE,
            raw.cast_mut().cast(),
            (bindings::O_RDWR | bindings::O_CLOEXEC) as c_int,
        )
    };
    if fd < 0 {
        // SAFETY: no file was made, so the reference `raw` stands for is
        // still ours, and taken back once.
        drop(unsafe { Arc::from_raw(raw) });
        return Err(Error::from_errno(fd));
    }
    Ok(fd)
}
