// SPDX-License-Identifier: GPL-2.0

//! The cases of the review's findings (issue 17): who may use a VM's fds,
//! what a slot costs its VMM, a vCPU whose fd could not be made, mapping
//! many slots, the `kvm_run` mapping, and the errnos where KVM's are
//! known.

use super::*;
use std::time::Instant;

extern "C" {
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn _exit(status: i32) -> !;
    fn dup(fd: i32) -> i32;
    fn close(fd: i32) -> i32;
    fn madvise(addr: *mut u8, len: usize, advice: i32) -> i32;
    fn getrlimit(resource: i32, rlim: *mut Rlimit) -> i32;
    fn setrlimit(resource: i32, rlim: *const Rlimit) -> i32;
    fn capget(hdr: *mut CapHeader, data: *mut CapData) -> i32;
    fn capset(hdr: *mut CapHeader, data: *const CapData) -> i32;
}

const EIO: i32 = 5;
const ENOMEM: i32 = 12;
const ENFILE: i32 = 23;
const EMFILE: i32 = 24;
/// `SIGBUS` (powerpc's is the generic 7).
const SIGBUS: i32 = 7;
/// `MADV_DONTNEED`.
const MADV_DONTNEED: i32 = 4;
/// `RLIMIT_NOFILE` (asm-generic, as on powerpc).
const RLIMIT_NOFILE: i32 = 7;
/// `RLIMIT_MEMLOCK` (asm-generic, as on powerpc).
const RLIMIT_MEMLOCK: i32 = 8;
/// `CAP_IPC_LOCK`: lifts `RLIMIT_MEMLOCK`, so the suite (root) drops it.
const CAP_IPC_LOCK: u32 = 14;
/// `CAP_SYS_ADMIN`: lifts `fs.file-max`.
const CAP_SYS_ADMIN: u32 = 21;
/// `_LINUX_CAPABILITY_VERSION_3`.
const CAP_V3: u32 = 0x2008_0522;

/// `struct rlimit`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Rlimit {
    cur: u64,
    max: u64,
}

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

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

/// A resource limit's soft value, set until dropped.
struct Limit {
    resource: i32,
    old: Rlimit,
}

impl Limit {
    fn set(resource: i32, cur: u64) -> Result<Limit, String> {
        let mut old = Rlimit::default();
        // SAFETY: `old` is a live struct rlimit the kernel writes.
        if unsafe { getrlimit(resource, &mut old) } != 0 {
            return Err(format!("getrlimit: {}", Error::last_os_error()));
        }
        let new = Rlimit { cur, max: old.max };
        // SAFETY: `new` is a live struct rlimit the kernel reads.
        if unsafe { setrlimit(resource, &new) } != 0 {
            return Err(format!("setrlimit: {}", Error::last_os_error()));
        }
        Ok(Limit { resource, old })
    }
}

impl Drop for Limit {
    fn drop(&mut self) {
        // SAFETY: `old` is a live struct rlimit the kernel reads.
        unsafe { setrlimit(self.resource, &self.old) };
    }
}

/// This process without a capability in its effective set, until
/// dropped (it stays permitted, so it can be raised again).
struct WithoutCap {
    old: [CapData; 2],
}

impl WithoutCap {
    fn new(cap: u32) -> Result<WithoutCap, String> {
        let mut hdr = CapHeader {
            version: CAP_V3,
            pid: 0,
        };
        let mut old = [CapData::default(); 2];
        // SAFETY: the header and two data structs (version 3) are live.
        if unsafe { capget(&mut hdr, old.as_mut_ptr()) } != 0 {
            return Err(format!("capget: {}", Error::last_os_error()));
        }
        let mut new = old;
        new[0].effective &= !(1 << cap);
        // SAFETY: as above; the kernel reads them.
        if unsafe { capset(&mut hdr, new.as_ptr()) } != 0 {
            return Err(format!("capset: {}", Error::last_os_error()));
        }
        Ok(WithoutCap { old })
    }
}

impl Drop for WithoutCap {
    fn drop(&mut self) {
        let mut hdr = CapHeader {
            version: CAP_V3,
            pid: 0,
        };
        // SAFETY: as in `new`.
        unsafe { capset(&mut hdr, self.old.as_ptr()) };
    }
}

/// This process's `VmLck` (`/proc/self/status`), in KiB: what is charged
/// to its `RLIMIT_MEMLOCK`.
fn vm_lck() -> Result<u64, String> {
    let s = fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmLck in /proc/self/status".to_string())
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

/// A slot is charged to its VMM's `RLIMIT_MEMLOCK` (`VmLck`) while it is
/// pinned: one over the limit is refused with `-ENOMEM`, as
/// `account_locked_vm()` refuses, with nothing pinned; one within it is
/// charged, and uncharged when deleted.
pub(crate) fn slot_charged_to_memlock() -> Verdict {
    let pins = pinned()?;
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let mem = anon_memory(32 * PAGE)?;
    let lck = vm_lck()?;
    let _caps = WithoutCap::new(CAP_IPC_LOCK)?;
    let _limit = Limit::set(RLIMIT_MEMLOCK, lck * 1024 + 16 * PAGE)?;
    expect(
        "a 2 MiB slot over a 1 MiB RLIMIT_MEMLOCK",
        set_region(&vm, 0, 0, 0, 32 * PAGE, mem),
        Err(ENOMEM),
    )?;
    expect("pinned after it", pinned()?, pins)?;
    expect("VmLck after it", vm_lck()?, lck)?;
    expect(
        "a 1 MiB slot",
        set_region(&vm, 0, 0, 0, 16 * PAGE, mem),
        Ok(0),
    )?;
    expect("VmLck with it", vm_lck()?, lck + 1024)?;
    expect(
        "another page past the limit",
        set_region(&vm, 1, 0, 0x10_0000, PAGE, mem + 16 * PAGE),
        Err(ENOMEM),
    )?;
    expect("deleting the slot", set_region(&vm, 0, 0, 0, 0, 0), Ok(0))?;
    expect("VmLck after deleting it", vm_lck()?, lck)?;
    expect("pinned after deleting it", pinned()?, pins)
}

/// `KVM_CREATE_VCPU` with no fd free (`RLIMIT_NOFILE`) fails with
/// `-EMFILE` and leaves no vCPU behind: once an fd is free, vCPU 0 is
/// made.
pub(crate) fn create_vcpu_without_fds() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let limit = Limit::set(RLIMIT_NOFILE, 64)?;
    let mut dups = Vec::new();
    loop {
        // SAFETY: dup of our own open fd.
        let fd = unsafe { dup(vm.as_raw_fd()) };
        if fd < 0 || dups.len() > 4096 {
            break;
        }
        dups.push(fd);
    }
    let r = kvm_ioctl(vm.as_raw_fd(), kvm::KVM_CREATE_VCPU, 0);
    for fd in dups.into_iter().chain(r.ok()) {
        // SAFETY: fds we opened, closed once.
        unsafe { close(fd) };
    }
    drop(limit);
    expect(
        "KVM_CREATE_VCPU(0) with no fd free",
        r.map(|_| ()),
        Err(EMFILE),
    )?;
    let v0 = create_vcpu(&vm, 0).map_err(|e| format!("KVM_CREATE_VCPU(0) after: errno {e}"))?;
    let v1 = create_vcpu(&vm, 1).map_err(|e| format!("KVM_CREATE_VCPU(1) after: errno {e}"))?;
    drop((v0, v1));
    Ok(())
}

/// `KVM_CREATE_VCPU` with no file free (`fs.file-max` at 1, with
/// `CAP_SYS_ADMIN`, which lifts it, dropped) fails with `-ENFILE` and
/// leaves no vCPU behind: once files can be made, vCPU 0 is made.
pub(crate) fn create_vcpu_without_files() -> Verdict {
    use std::os::unix::fs::FileExt;
    const FILE_MAX: &str = "/proc/sys/fs/file-max";
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    // Opened before: nothing can be opened while the limit holds.
    let max = OpenOptions::new()
        .read(true)
        .write(true)
        .open(FILE_MAX)
        .map_err(|e| format!("{FILE_MAX}: {e}"))?;
    let old = fs::read_to_string(FILE_MAX).map_err(|e| format!("{FILE_MAX}: {e}"))?;
    let r = {
        let _caps = WithoutCap::new(CAP_SYS_ADMIN)?;
        max.write_at(b"1\n", 0)
            .map_err(|e| format!("{FILE_MAX}: {e}"))?;
        // The kernel checks the limit against a per-CPU counter that may
        // lag: open files until it refuses one, so that the next file is
        // refused for certain.
        let mut held = Vec::new();
        let full = loop {
            match File::open("/dev/null") {
                Ok(f) if held.len() < 100_000 => held.push(f),
                Ok(_) => break false,
                Err(e) => break e.raw_os_error() == Some(ENFILE),
            }
        };
        let r = if full {
            kvm_ioctl(vm.as_raw_fd(), kvm::KVM_CREATE_VCPU, 0)
        } else {
            Err(-1)
        };
        drop(held);
        max.write_at(old.as_bytes(), 0)
            .map_err(|e| format!("{FILE_MAX} back to {}: {e}", old.trim()))?;
        r
    };
    if let Ok(fd) = r {
        // SAFETY: the fd just made, closed once.
        unsafe { close(fd) };
    }
    expect(
        "KVM_CREATE_VCPU(0) with no file free",
        r.map(|_| ()),
        Err(ENFILE),
    )?;
    let v0 = create_vcpu(&vm, 0).map_err(|e| format!("KVM_CREATE_VCPU(0) after: errno {e}"))?;
    let v1 = create_vcpu(&vm, 1).map_err(|e| format!("KVM_CREATE_VCPU(1) after: errno {e}"))?;
    drop((v0, v1));
    Ok(())
}

/// 4 GiB of guest memory in 16 slots of 256 MiB (65,536 pages of 64 KiB
/// in the partition-scoped tree), all backed by the same 256 MiB of the
/// VMM's memory (the L1 has less than 4 GiB); then deleted. The times
/// are printed, not asserted.
pub(crate) fn map_4gib_in_slots() -> Verdict {
    const SLOT: u64 = 256 << 20;
    const SLOTS: u64 = 16;
    let pins = pinned()?;
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let mem = anon_memory(SLOT)?;
    let mut each = Vec::new();
    let t = Instant::now();
    for i in 0..SLOTS {
        let s = Instant::now();
        set_region(&vm, i as u32, 0, i * SLOT, SLOT, mem)
            .map_err(|e| format!("slot {i}: errno {e}"))?;
        each.push(s.elapsed().as_millis());
    }
    let mapped = t.elapsed().as_millis();
    expect(
        "pinned with 4 GiB mapped",
        pinned()?,
        pins + SLOTS * SLOT / PAGE,
    )?;
    let t = Instant::now();
    for i in 0..SLOTS {
        set_region(&vm, i as u32, 0, 0, 0, 0)
            .map_err(|e| format!("deleting slot {i}: errno {e}"))?;
    }
    let deleted = t.elapsed().as_millis();
    let each: Vec<String> = each.iter().map(|ms| ms.to_string()).collect();
    println!(
        "# map_4gib_in_slots: {SLOTS} slots of 256 MiB mapped in {mapped} ms (each: {} ms), deleted in {deleted} ms",
        each.join(" ")
    );
    expect("pinned after deleting them", pinned()?, pins)
}

/// The `kvm_run` page after `MADV_DONTNEED` on its mapping: the next
/// touch maps the same page again (KVM's `kvm_vcpu_fault()`), not a
/// `SIGBUS`; tried in a child first, then here.
pub(crate) fn kvm_run_refaults() -> Verdict {
    let r = running(&[SC_1], 0x42)?;
    // SAFETY: the mapped kvm_run page; KVM_RUN is not running.
    unsafe { (*r.run).immediate_exit = 1 };
    expect("KVM_RUN", r.run().map(|_| ()), Err(EINTR))?;
    let run = r.run;
    let zap_and_read = move || {
        // SAFETY: the page-sized mapping of kvm_run, which nothing else
        // uses now.
        if unsafe { madvise(run.cast(), PAGE as usize, MADV_DONTNEED) } != 0 {
            return 2;
        }
        // SAFETY: the same mapping, touched again.
        let reason = unsafe { std::ptr::addr_of!((*run).exit_reason).read_volatile() };
        i32::from(reason != kvm::KVM_EXIT_INTR)
    };
    let child = in_child(zap_and_read)?;
    if child == Err(SIGBUS) {
        return Err("the child's touch after MADV_DONTNEED: SIGBUS".into());
    }
    expect("the child's touch after MADV_DONTNEED", child, Ok(0))?;
    expect("MADV_DONTNEED, then the exit reason", zap_and_read(), 0)?;
    // SAFETY: as above.
    unsafe { (*r.run).immediate_exit = 0 };
    let k = r.run().map_err(|e| format!("KVM_RUN: errno {e}"))?;
    expect(
        "exit after the refault",
        k.exit_reason,
        kvm::KVM_EXIT_PAPR_HCALL,
    )?;
    // SAFETY: the exit reason says which member is filled.
    expect("GPR3", unsafe { k.__bindgen_anon_1.papr_hcall.nr }, 0x42)
}

/// A `kvm_run` mapping given as a slot's memory: `-EFAULT`, as for memory
/// that is not the VMM's own (it is the kernel's), and nothing pinned.
pub(crate) fn kvm_run_is_no_slot_memory() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let vcpu = create_vcpu(&vm, 0).map_err(|e| format!("errno {e}"))?;
    let run = map_run(vcpu.as_raw_fd()).map_err(|e| format!("mmap: errno {e}"))?;
    let pins = pinned()?;
    expect(
        "a slot of the kvm_run mapping",
        set_region(&vm, 0, 0, 0, PAGE, run as u64),
        Err(EFAULT),
    )?;
    expect("pinned after it", pinned()?, pins)
}

/// The errnos KVM (powerpc, kvm-hv) gives: an overlapping slot
/// `-EEXIST`, deleting a slot that does not exist `-EINVAL`; an unknown
/// ioctl `-EINVAL` on the device (`kvm_arch_dev_ioctl()`) and on a vCPU
/// fd (`kvm_arch_vcpu_ioctl()`), `-ENOTTY` on a VM fd
/// (`kvm_arch_vm_ioctl_hv()`); `KVM_GET_API_VERSION` and
/// `KVM_GET_VCPU_MMAP_SIZE` with an argument `-EINVAL`.
pub(crate) fn errnos_as_kvm() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let vcpu = create_vcpu(&vm, 0).map_err(|e| format!("errno {e}"))?;
    let mem = anon_memory(4 * PAGE)?;
    set_region(&vm, 0, 0, 0, 2 * PAGE, mem).map_err(|e| format!("slot 0: errno {e}"))?;
    let pins = pinned()?;
    expect(
        "an overlapping slot",
        set_region(&vm, 1, 0, PAGE, 2 * PAGE, mem + 2 * PAGE),
        Err(EEXIST),
    )?;
    expect("pinned after it", pinned()?, pins)?;
    expect(
        "deleting a slot never made",
        set_region(&vm, 5, 0, 0x100_0000, 0, mem),
        Err(EINVAL),
    )?;
    expect("deleting slot 0", set_region(&vm, 0, 0, 0, 0, 0), Ok(0))?;
    expect(
        "deleting it again",
        set_region(&vm, 0, 0, 0, 0, 0),
        Err(EINVAL),
    )?;
    let (d, v, c) = (dev.as_raw_fd(), vm.as_raw_fd(), vcpu.as_raw_fd());
    let calls: [(&str, RawFd, u32, u64, i32); 9] = [
        ("KVM_RUN on the device", d, kvm::KVM_RUN, 0, EINVAL),
        ("0 on the device", d, 0, 0, EINVAL),
        (
            "KVM_GET_API_VERSION(1)",
            d,
            kvm::KVM_GET_API_VERSION,
            1,
            EINVAL,
        ),
        (
            "KVM_GET_VCPU_MMAP_SIZE(1)",
            d,
            kvm::KVM_GET_VCPU_MMAP_SIZE,
            1,
            EINVAL,
        ),
        (
            "KVM_GET_API_VERSION on a VM",
            v,
            kvm::KVM_GET_API_VERSION,
            0,
            ENOTTY,
        ),
        ("0 on a VM", v, 0, 0, ENOTTY),
        (
            "KVM_GET_API_VERSION on a vCPU",
            c,
            kvm::KVM_GET_API_VERSION,
            0,
            EINVAL,
        ),
        (
            "KVM_CHECK_EXTENSION on a vCPU",
            c,
            kvm::KVM_CHECK_EXTENSION,
            0,
            EINVAL,
        ),
        ("0 on a vCPU", c, 0, 0, EINVAL),
    ];
    for (what, fd, request, arg, errno) in calls {
        expect(what, kvm_ioctl(fd, request, arg), Err(errno))?;
    }
    Ok(())
}

/// `PAPR_NESTED_GET_STATE` with bytes after the last element: refused,
/// `-EINVAL` and MALFORMED, `err_index` the element count (where the
/// bytes start), on both fds.
pub(crate) fn get_state_trailing_bytes() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let vcpu = create_vcpu(&vm, 0).map_err(|e| format!("errno {e}"))?;
    // GPR5 on the vCPU, TB_OFFSET on the VM; each with 4 bytes after it.
    for (what, fd, id) in [("vCPU", &vcpu, 0x1005u16), ("VM", &vm, 0x0004)] {
        let mut g = state::Gsb::request(&[(id, 8)]);
        g.0.extend_from_slice(&[0; 4]);
        let (r, a) = state::state_ioctl(fd, kvm::PAPR_NESTED_GET_STATE, &mut g.0);
        expect(
            &format!("a get on the {what} fd with 4 bytes after the element"),
            (r, a.err_reason, a.err_index, a.err_id),
            (Err(EINVAL), kvm::PAPR_NESTED_ERR_MALFORMED as u16, 1, 0),
        )?;
    }
    Ok(())
}
