// SPDX-License-Identifier: GPL-2.0

//! The cases of the review's findings (issue 17): who may use a VM's fds,
//! what a slot costs its VMM, a vCPU whose fd could not be made, mapping
//! many slots, the `kvm_run` mapping, and the errnos where KVM's are
//! known.

use super::*;

extern "C" {
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn _exit(status: i32) -> !;
}

const EIO: i32 = 5;

/// Runs `f` in a child process (fork) that exits with what `f` returns,
/// and waits for it: `Ok(status)` for an exit, `Err(signal)` for a
/// death by signal. `f` makes system calls only: the child is a copy of a
/// process that may have had other threads.
fn in_child(f: impl FnOnce() -> i32) -> Result<Result<i32, i32>, String> {
    // SAFETY: the child runs `f`, which only makes system calls, and exits
    // without unwinding or running this process's destructors.
    let pid = unsafe { fork() };
    if pid < 0 {
        return Err(format!("fork: {}", Error::last_os_error()));
    }
    if pid == 0 {
        let code = f();
        // SAFETY: the child ends here, with no destructor run.
        unsafe { _exit(code) };
    }
    let mut status = 0;
    // SAFETY: `status` is a live int the kernel writes.
    if unsafe { waitpid(pid, &mut status, 0) } != pid {
        return Err(format!("waitpid: {}", Error::last_os_error()));
    }
    if status & 0x7f == 0 {
        Ok(Ok((status >> 8) & 0xff))
    } else {
        Ok(Err(status & 0x7f))
    }
}

/// A shared mapping of `vcpu`'s `kvm_run` (one page at offset 0), or the
/// errno.
fn map_run(vcpu: RawFd) -> Result<*mut kvm::kvm_run, i32> {
    let prot = (kvm::PROT_READ | kvm::PROT_WRITE) as i32;
    // SAFETY: a new shared mapping of the vCPU fd; nothing of ours is
    // touched.
    let p = unsafe {
        mmap(
            std::ptr::null_mut(),
            PAGE as usize,
            prot,
            kvm::MAP_SHARED as i32,
            vcpu,
            0,
        )
    };
    if p as isize == -1 {
        return Err(Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    Ok(p.cast())
}

/// The VM's and its vCPU's ioctls (and the vCPU fd's mmap) from another
/// process, which inherited the fds: `-EIO`, as KVM gives any process
/// but the VM's creator. The creator's go on working, and the child can
/// make a VM of its own from the device fd it inherited.
pub(crate) fn other_process_gets_eio() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let r = running(&[SC_1], 0x77)?;
    let (vm, vcpu) = (r.vm.as_raw_fd(), r.vcpu.as_raw_fd());
    let mem = anon_memory(PAGE)?;
    let pins = pinned()?;
    let child = in_child(|| {
        let region = kvm::kvm_userspace_memory_region {
            slot: 1,
            flags: 0,
            guest_phys_addr: 0x10_0000,
            memory_size: PAGE,
            userspace_addr: mem,
        };
        let mut regs = kvm::kvm_regs::default();
        // SAFETY: `regs` is a live struct kvm_regs, which the request
        // writes.
        let got = unsafe { ioctl(vcpu, u64::from(kvm::KVM_GET_REGS), &mut regs as *mut _) };
        let got = if got < 0 {
            Err(Error::last_os_error().raw_os_error().unwrap_or(0))
        } else {
            Ok(got)
        };
        let steps = [
            kvm_ioctl(
                vm,
                kvm::KVM_CHECK_EXTENSION,
                kvm::KVM_CAP_USER_MEMORY.into(),
            ),
            kvm_ioctl_ptr(vm, kvm::KVM_SET_USER_MEMORY_REGION, &region),
            kvm_ioctl(vm, kvm::KVM_CREATE_VCPU, 1),
            kvm_ioctl(vcpu, kvm::KVM_RUN, 0),
            got,
            kvm_ioctl_ptr(vcpu, kvm::KVM_SET_REGS, &regs),
            map_run(vcpu).map(|_| 0),
        ];
        if let Some(i) = steps.iter().position(|s| *s != Err(EIO)) {
            return i as i32 + 1;
        }
        // Its own VM works.
        let Ok(own) = kvm_ioctl(dev.as_raw_fd(), kvm::KVM_CREATE_VM, 0) else {
            return 100;
        };
        if kvm_ioctl(
            own,
            kvm::KVM_CHECK_EXTENSION,
            kvm::KVM_CAP_USER_MEMORY.into(),
        ) != Ok(1)
        {
            return 101;
        }
        0
    })?;
    expect(
        "the child's first call not refused with EIO (0: all were)",
        child,
        Ok(0),
    )?;
    expect("pinned after the child", pinned()?, pins)?;
    let k = r
        .run()
        .map_err(|e| format!("KVM_RUN in the creator: errno {e}"))?;
    expect(
        "exit in the creator",
        k.exit_reason,
        kvm::KVM_EXIT_PAPR_HCALL,
    )?;
    // SAFETY: the exit reason says which member is filled.
    expect(
        "GPR3 in the creator",
        unsafe { k.__bindgen_anon_1.papr_hcall.nr },
        0x77,
    )?;
    expect(
        "vCPU 1 from the creator",
        create_vcpu(&r.vm, 1).map(|_| ()),
        Ok(()),
    )
}
