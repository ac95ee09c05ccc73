// SPDX-License-Identifier: GPL-2.0

//! The userspace suite of `/dev/papr-nested`: each case checks one ioctl
//! path or one lifetime rule of the interface, against the real module
//! and the real L0, and prints a KTAP line.
//!
//! `kvm-api-tests` runs them all; `kvm-api-tests hold N` (used by the
//! suite itself) creates N VMs, says so on stdout and waits to be killed.

#[path = "../../kvm-sys/hcall_inst.rs"]
mod hcall_inst;
#[path = "../../kvm-sys/kvm.rs"]
mod kvm;
mod qemu_abi;
mod review;
mod state;

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Error};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::{Command, Stdio};

/// The module's device.
const DEVICE: &str = "/dev/papr-nested";
/// Guests the module holds at the L0 now.
const GUESTS: &str = "/sys/kernel/debug/rust_papr_nested/guests";
/// Pages of user memory the module holds pinned now.
const PINNED: &str = "/sys/kernel/debug/rust_papr_nested/pinned";
/// The L2's (and this L1's) page size: slots are made of such pages.
const PAGE: u64 = 64 << 10;

extern "C" {
    fn ioctl(fd: i32, request: u64, ...) -> i32;
    fn fcntl(fd: i32, cmd: i32, ...) -> i32;
    fn mmap(addr: *mut u8, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut u8;
    fn munmap(addr: *mut u8, len: usize) -> i32;
}

/// `F_GETFD` and `FD_CLOEXEC` (asm-generic/fcntl.h, as on every Linux).
const F_GETFD: i32 = 1;
const FD_CLOEXEC: i32 = 1;

/// `ioctl(fd, request, arg)`: the value it returns, or the errno.
fn kvm_ioctl(fd: RawFd, request: u32, arg: u64) -> Result<i32, i32> {
    // SAFETY: every request this suite makes takes an integer argument (no
    // pointer), so the kernel reads no memory of ours.
    let r = unsafe { ioctl(fd, u64::from(request), arg) };
    if r < 0 {
        Err(Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(r)
    }
}

/// `ioctl(fd, request, &arg)` for the requests that take a struct.
fn kvm_ioctl_ptr<T>(fd: RawFd, request: u32, arg: &T) -> Result<i32, i32> {
    // SAFETY: `arg` is a live `T`, the struct the request reads.
    let r = unsafe { ioctl(fd, u64::from(request), arg as *const T) };
    if r < 0 {
        Err(Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(r)
    }
}

/// `len` bytes of fresh anonymous memory (64 KiB aligned, as mmap gives
/// on this L1), never unmapped: the suite is short-lived.
fn anon_memory(len: u64) -> Result<u64, String> {
    let prot = (kvm::PROT_READ | kvm::PROT_WRITE) as i32;
    let flags = (kvm::MAP_PRIVATE | kvm::MAP_ANONYMOUS) as i32;
    // SAFETY: a new private anonymous mapping; nothing of ours is touched.
    let p = unsafe { mmap(std::ptr::null_mut(), len as usize, prot, flags, -1, 0) };
    if p as isize == -1 {
        return Err(format!("mmap: {}", Error::last_os_error()));
    }
    Ok(p as u64)
}

/// `KVM_SET_USER_MEMORY_REGION` on `vm`.
fn set_region(
    vm: &OwnedFd,
    slot: u32,
    flags: u32,
    gpa: u64,
    size: u64,
    uaddr: u64,
) -> Result<i32, i32> {
    let r = kvm::kvm_userspace_memory_region {
        slot,
        flags,
        guest_phys_addr: gpa,
        memory_size: size,
        userspace_addr: uaddr,
    };
    kvm_ioctl_ptr(vm.as_raw_fd(), kvm::KVM_SET_USER_MEMORY_REGION, &r)
}

/// Pages the module holds pinned.
fn pinned() -> Result<u64, String> {
    let s = fs::read_to_string(PINNED).map_err(|e| format!("{PINNED}: {e}"))?;
    s.trim().parse().map_err(|e| format!("{PINNED}: {e}"))
}

/// Opens the device.
fn device() -> io::Result<File> {
    device_at(DEVICE)
}

/// Opens the KVM device at `path`: ours, or kvm-hv's `/dev/kvm`.
fn device_at(path: &str) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

/// `KVM_CREATE_VM(ty)` on `dev`: the VM fd, or the errno.
fn create_vm(dev: &File, ty: u64) -> Result<OwnedFd, i32> {
    let fd = kvm_ioctl(dev.as_raw_fd(), kvm::KVM_CREATE_VM, ty)?;
    // SAFETY: the kernel gave us this new fd, which nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Guests the module holds at the L0.
fn guests() -> Result<u64, String> {
    let s = fs::read_to_string(GUESTS).map_err(|e| format!("{GUESTS}: {e}"))?;
    s.trim().parse().map_err(|e| format!("{GUESTS}: {e}"))
}

/// A case's verdict: `Err` says what was seen.
type Verdict = Result<(), String>;

/// Fails with `what` unless `seen == want`.
fn expect<T: PartialEq + std::fmt::Debug>(what: &str, seen: T, want: T) -> Verdict {
    if seen == want {
        Ok(())
    } else {
        Err(format!("{what}: {seen:?}, want {want:?}"))
    }
}

const EINVAL: i32 = 22;
const ENOENT: i32 = 2;
const ENOTTY: i32 = 25;

fn api_version() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let v = kvm_ioctl(dev.as_raw_fd(), kvm::KVM_GET_API_VERSION, 0);
    expect("KVM_GET_API_VERSION", v, Ok(kvm::KVM_API_VERSION as i32))
}

fn capabilities_are_what_is_implemented() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let yes = [
        kvm::KVM_CAP_USER_MEMORY,
        kvm::KVM_CAP_IMMEDIATE_EXIT,
        kvm::KVM_CAP_ONE_REG,
        kvm::KVM_CAP_PPC_PAPR,
        kvm::KVM_CAP_PPC_IRQ_LEVEL,
        kvm::KVM_CAP_PPC_UNSET_IRQ,
        kvm::KVM_CAP_PPC_SEGSTATE,
        kvm::KVM_CAP_PPC_GET_SMMU_INFO,
        kvm::KVM_CAP_PPC_MMU_RADIX,
        kvm::KVM_CAP_PPC_HIOR,
        // One thread per core until the VM is given more.
        kvm::KVM_CAP_PPC_SMT,
    ];
    // Numbers, not flags: no limit is 0.
    let some = [
        kvm::KVM_CAP_NR_VCPUS,
        kvm::KVM_CAP_MAX_VCPUS,
        kvm::KVM_CAP_NR_MEMSLOTS,
    ];
    let no = [
        kvm::KVM_CAP_PPC_HTAB_FD,
        kvm::KVM_CAP_SYNC_MMU,
        kvm::KVM_CAP_PPC_GET_PVINFO,
        kvm::KVM_CAP_IRQCHIP,
        9999,
    ];
    for fd in [dev.as_raw_fd(), vm.as_raw_fd()] {
        for cap in yes {
            let r = kvm_ioctl(fd, kvm::KVM_CHECK_EXTENSION, cap.into());
            expect(&format!("KVM_CHECK_EXTENSION({cap})"), r, Ok(1))?;
        }
        for cap in some {
            match kvm_ioctl(fd, kvm::KVM_CHECK_EXTENSION, cap.into()) {
                Ok(n) if n > 0 => {}
                r => return Err(format!("KVM_CHECK_EXTENSION({cap}): {r:?}, want > 0")),
            }
        }
        for cap in no {
            let r = kvm_ioctl(fd, kvm::KVM_CHECK_EXTENSION, cap.into());
            expect(&format!("KVM_CHECK_EXTENSION({cap})"), r, Ok(0))?;
        }
    }
    Ok(())
}

fn enable_cap_papr() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let vcpu = create_vcpu(&vm, 0).map_err(|e| format!("errno {e}"))?;
    let cap = |cap, flags| kvm::kvm_enable_cap {
        cap,
        flags,
        ..Default::default()
    };
    let enable = |c: &kvm::kvm_enable_cap| kvm_ioctl_ptr(vcpu.as_raw_fd(), kvm::KVM_ENABLE_CAP, c);
    expect(
        "KVM_CAP_PPC_PAPR",
        enable(&cap(kvm::KVM_CAP_PPC_PAPR, 0)),
        Ok(0),
    )?;
    expect(
        "KVM_CAP_PPC_PAPR, flag 1",
        enable(&cap(kvm::KVM_CAP_PPC_PAPR, 1)),
        Err(EINVAL),
    )?;
    expect(
        "KVM_CAP_ONE_REG",
        enable(&cap(kvm::KVM_CAP_ONE_REG, 0)),
        Err(EINVAL),
    )
}

fn create_vm_types() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let before = guests()?;
    let a = create_vm(&dev, 0).map_err(|e| format!("type 0: errno {e}"))?;
    let b = create_vm(&dev, kvm::KVM_VM_PPC_HV.into())
        .map_err(|e| format!("KVM_VM_PPC_HV: errno {e}"))?;
    expect("guests with two VMs", guests()?, before + 2)?;
    for ty in [2, 0xffff_ffff, u64::MAX] {
        expect(
            &format!("type {ty:#x}"),
            create_vm(&dev, ty).err(),
            Some(EINVAL),
        )?;
    }
    expect("guests after refused types", guests()?, before + 2)?;
    drop((a, b));
    expect("guests after closing both", guests()?, before)
}

fn unknown_ioctls() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    expect(
        "KVM_RUN on the device",
        kvm_ioctl(dev.as_raw_fd(), kvm::KVM_RUN, 0),
        Err(EINVAL),
    )?;
    expect(
        "KVM_GET_API_VERSION on a VM",
        kvm_ioctl(vm.as_raw_fd(), kvm::KVM_GET_API_VERSION, 0),
        Err(ENOTTY),
    )?;
    expect("0 on a VM", kvm_ioctl(vm.as_raw_fd(), 0, 0), Err(ENOTTY))?;
    let r = kvm_ioctl(vm.as_raw_fd(), kvm::KVM_CHECK_EXTENSION, 9999);
    expect("KVM_CHECK_EXTENSION(9999) on a VM", r, Ok(0))
}

fn vm_fd_is_cloexec() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    // SAFETY: F_GETFD takes no argument and touches no memory of ours.
    let flags = unsafe { fcntl(vm.as_raw_fd(), F_GETFD) };
    expect("FD_CLOEXEC", flags & FD_CLOEXEC, FD_CLOEXEC)
}

fn vm_outlives_device_fd() -> Verdict {
    let before = guests()?;
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    drop(dev);
    let r = kvm_ioctl(vm.as_raw_fd(), kvm::KVM_CHECK_EXTENSION, 0);
    expect("the VM after its device fd closed", r, Ok(0))?;
    expect("guests", guests()?, before + 1)?;
    drop(vm);
    expect("guests after the VM fd", guests()?, before)
}

fn rmmod_refused_while_vm_open() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    drop(dev);
    let st = Command::new("rmmod")
        .arg("rust_papr_nested")
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("rmmod: {e}"))?;
    expect("rmmod with a VM fd open succeeded", st.success(), false)?;
    drop(vm);
    Ok(())
}

/// This binary again with `args`, once it has printed `ready`: a child
/// that holds VMs until it is killed.
fn child(args: &[&str], ready: &str) -> Result<std::process::Child, String> {
    let mut child = Command::new("/proc/self/exe")
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let mut line = String::new();
    let out = child.stdout.take().ok_or("no stdout")?;
    BufReader::new(out)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    expect("the child", line.trim(), ready)?;
    Ok(child)
}

fn process_death_deletes_guests() -> Verdict {
    let before = guests()?;
    let pins = pinned()?;
    let mut child = child(&["hold", "3"], "holding 3")?;
    expect("guests while it holds them", guests()?, before + 3)?;
    expect("pinned while it holds them", pinned()?, pins + 6)?;
    child.kill().map_err(|e| format!("kill: {e}"))?;
    child.wait().map_err(|e| format!("wait: {e}"))?;
    expect("guests after SIGKILL", guests()?, before)?;
    expect("pinned after SIGKILL", pinned()?, pins)
}

const EFAULT: i32 = 14;

fn memory_region_bad_input() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    // Eight pages, the last four unmapped again: a hole right after `mem`.
    let mem = anon_memory(8 * PAGE)?;
    // SAFETY: the upper half of the mapping just made; nothing uses it.
    if unsafe { munmap((mem + 4 * PAGE) as *mut u8, 4 * PAGE as usize) } != 0 {
        return Err(format!("munmap: {}", Error::last_os_error()));
    }
    let pins = pinned()?;
    let max = 1u64 << 32;
    type Bad = (&'static str, u32, u32, u64, u64, u64, i32);
    let bad: [Bad; 12] = [
        ("a flag", 0, 1, 0, PAGE, mem, EINVAL),
        ("address space 1", 1 << 16, 0, 0, PAGE, mem, EINVAL),
        ("unaligned gpa", 0, 0, 0x1000, PAGE, mem, EINVAL),
        ("unaligned size", 0, 0, 0, PAGE + 0x1000, mem, EINVAL),
        ("unaligned uaddr", 0, 0, 0, PAGE, mem + 0x1000, EINVAL),
        (
            "gpa wrapping",
            0,
            0,
            u64::MAX - PAGE + 1,
            2 * PAGE,
            mem,
            EINVAL,
        ),
        ("past 2^52", 0, 0, 1 << 52, PAGE, mem, EINVAL),
        ("too large", 0, 0, 0, 2 * max, mem, EINVAL),
        (
            "uaddr wrapping",
            0,
            0,
            0,
            2 * PAGE,
            u64::MAX - PAGE + 1,
            EINVAL,
        ),
        ("deleting no slot", 7, 0, 0, 0, 0, EINVAL),
        ("unmapped memory", 0, 0, 0, PAGE, 0x1000_0000, EFAULT),
        ("memory past the mapping", 0, 0, 0, 8 * PAGE, mem, EFAULT),
    ];
    for (what, slot, flags, gpa, size, uaddr, errno) in bad {
        let r = set_region(&vm, slot, flags, gpa, size, uaddr);
        expect(what, r, Err(errno))?;
    }
    expect("pinned after the refusals", pinned()?, pins)?;
    set_region(&vm, 0, 0, 0, 2 * PAGE, mem).map_err(|e| format!("slot 0: errno {e}"))?;
    let overlap = set_region(&vm, 1, 0, PAGE, 2 * PAGE, mem + 2 * PAGE);
    expect("an overlapping slot", overlap, Err(EEXIST))?;
    expect("pinned with slot 0", pinned()?, pins + 2)
}

fn memory_region_lifecycle() -> Verdict {
    let pins = pinned()?;
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let mem = anon_memory(8 * PAGE)?;
    set_region(&vm, 0, 0, 0, 4 * PAGE, mem).map_err(|e| format!("slot 0: errno {e}"))?;
    expect("pinned with slot 0", pinned()?, pins + 4)?;
    set_region(&vm, 1, 0, 0x10_0000, 2 * PAGE, mem + 4 * PAGE)
        .map_err(|e| format!("slot 1: errno {e}"))?;
    expect("pinned with slots 0 and 1", pinned()?, pins + 6)?;
    expect(
        "the same slot again",
        set_region(&vm, 0, 0, 0, 4 * PAGE, mem),
        Ok(0),
    )?;
    expect("pinned after the same slot", pinned()?, pins + 6)?;
    set_region(&vm, 0, 0, 0, 2 * PAGE, mem).map_err(|e| format!("resize: errno {e}"))?;
    expect("pinned after shrinking slot 0", pinned()?, pins + 4)?;
    // A replacement that cannot be had (memory not mapped) keeps the old
    // slot: still there, unchanged, as the same values again show.
    expect(
        "replacing slot 0 with unmapped memory",
        set_region(&vm, 0, 0, 0, 2 * PAGE, 0x1000_0000),
        Err(EFAULT),
    )?;
    expect("pinned after the refused replacement", pinned()?, pins + 4)?;
    expect(
        "slot 0 as it was",
        set_region(&vm, 0, 0, 0, 2 * PAGE, mem),
        Ok(0),
    )?;
    expect("pinned after slot 0 again", pinned()?, pins + 4)?;
    expect("deleting slot 1", set_region(&vm, 1, 0, 0, 0, 0), Ok(0))?;
    expect("pinned after deleting slot 1", pinned()?, pins + 2)?;
    expect(
        "deleting it again",
        set_region(&vm, 1, 0, 0, 0, 0),
        Err(EINVAL),
    )?;
    // Where slot 1 was is free again.
    set_region(&vm, 2, 0, 0x10_0000, PAGE, mem + 4 * PAGE)
        .map_err(|e| format!("slot 2: errno {e}"))?;
    drop(vm);
    expect("pinned after closing the VM", pinned()?, pins)
}

const EEXIST: i32 = 17;

/// `KVM_CREATE_VCPU(id)` on `vm`: the vCPU fd, or the errno.
fn create_vcpu(vm: &OwnedFd, id: u64) -> Result<OwnedFd, i32> {
    let fd = kvm_ioctl(vm.as_raw_fd(), kvm::KVM_CREATE_VCPU, id)?;
    // SAFETY: the kernel gave us this new fd, which nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `KVM_GET_REGS` on `vcpu`.
fn get_regs(vcpu: &OwnedFd) -> Result<kvm::kvm_regs, i32> {
    let mut r = kvm::kvm_regs::default();
    // SAFETY: `r` is a live `kvm_regs`, which the request writes.
    let rc = unsafe {
        ioctl(
            vcpu.as_raw_fd(),
            u64::from(kvm::KVM_GET_REGS),
            &mut r as *mut kvm::kvm_regs,
        )
    };
    if rc < 0 {
        return Err(Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    Ok(r)
}

/// `KVM_SET_REGS` on `vcpu`.
fn set_regs(vcpu: &OwnedFd, r: &kvm::kvm_regs) -> Result<i32, i32> {
    kvm_ioctl_ptr(vcpu.as_raw_fd(), kvm::KVM_SET_REGS, r)
}

/// Registers with a distinct value in every field `kvm_regs` maps.
fn distinct_regs() -> kvm::kvm_regs {
    let mut r = kvm::kvm_regs {
        pc: 0x1000,
        cr: 0x2400_0042,
        ctr: 0xc7c7,
        lr: 0x1234_5678,
        xer: 0x2000_0000,
        // 64-bit, little-endian.
        msr: 1 << 63 | 1,
        srr0: 0x5000,
        srr1: 0x5001,
        pid: 7,
        sprg0: 0xa0,
        sprg1: 0xa1,
        sprg2: 0xa2,
        sprg3: 0xa3,
        sprg4: 0xa4,
        sprg5: 0xa5,
        sprg6: 0xa6,
        sprg7: 0xa7,
        ..Default::default()
    };
    for (i, g) in r.gpr.iter_mut().enumerate() {
        *g = 0x0101_0101_0101_0101 * (i as u64 + 1);
    }
    r
}

/// Whether `a` and `b` are the same registers, but `pid`, which
/// `KVM_SET_REGS` leaves (as kvm-hv: PIDR is set through ONE_REG).
fn regs_eq(a: &kvm::kvm_regs, b: &kvm::kvm_regs) -> bool {
    let named = |r: &kvm::kvm_regs| {
        [
            r.pc, r.cr, r.ctr, r.lr, r.xer, r.msr, r.srr0, r.srr1, r.sprg0, r.sprg1, r.sprg2,
            r.sprg3, r.sprg4, r.sprg5, r.sprg6, r.sprg7,
        ]
    };
    named(a) == named(b) && a.gpr == b.gpr
}

fn create_vcpus() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let before = guests()?;
    let mut vcpus = Vec::new();
    for id in 0..4 {
        vcpus.push(create_vcpu(&vm, id).map_err(|e| format!("vCPU {id}: errno {e}"))?);
    }
    expect("vCPU 1 again", create_vcpu(&vm, 1).err(), Some(EEXIST))?;
    expect(
        "vCPU 9, out of order",
        create_vcpu(&vm, 9).err(),
        Some(EINVAL),
    )?;
    expect(
        "vCPU u64::MAX",
        create_vcpu(&vm, u64::MAX).err(),
        Some(EINVAL),
    )?;
    vcpus.push(create_vcpu(&vm, 4).map_err(|e| format!("vCPU 4: errno {e}"))?);
    expect("guests (vCPUs are not guests)", guests()?, before)?;
    // SAFETY: F_GETFD takes no argument and touches no memory of ours.
    let flags = unsafe { fcntl(vcpus[0].as_raw_fd(), F_GETFD) };
    expect("FD_CLOEXEC", flags & FD_CLOEXEC, FD_CLOEXEC)
}

fn regs_round_trip() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let vcpu = create_vcpu(&vm, 0).map_err(|e| format!("errno {e}"))?;
    // A fresh vCPU's registers come from the L0.
    get_regs(&vcpu).map_err(|e| format!("KVM_GET_REGS: errno {e}"))?;
    let want = distinct_regs();
    expect("KVM_SET_REGS", set_regs(&vcpu, &want), Ok(0))?;
    let got = get_regs(&vcpu).map_err(|e| format!("KVM_GET_REGS: errno {e}"))?;
    if !regs_eq(&got, &want) {
        return Err(format!("KVM_GET_REGS gave {got:x?}"));
    }
    // The pid of KVM_SET_REGS is not PIDR: a new vCPU's is 0.
    expect("pid", got.pid, 0)
}

fn regs_refused_whole() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let vcpu = create_vcpu(&vm, 0).map_err(|e| format!("errno {e}"))?;
    let good = distinct_regs();
    expect("KVM_SET_REGS", set_regs(&vcpu, &good), Ok(0))?;
    // A value a word register cannot hold: nothing is set.
    let mut cr = distinct_regs();
    cr.cr = 1 << 32;
    cr.gpr[3] = 0xbad;
    expect("a 33-bit CR", set_regs(&vcpu, &cr), Err(EINVAL))?;
    let got = get_regs(&vcpu).map_err(|e| format!("KVM_GET_REGS: errno {e}"))?;
    if !regs_eq(&got, &good) {
        return Err(format!(
            "a refused KVM_SET_REGS changed something: {got:x?}"
        ));
    }
    // The MSR bits userspace may not set (the L0's) are dropped, not
    // refused, as kvm-hv masks them: the rest is set.
    let mut hv = distinct_regs();
    hv.msr |= MSR_HV | MSR_S | MSR_ME;
    hv.gpr[3] = 0x33;
    expect("MSR with HV, S and ME", set_regs(&vcpu, &hv), Ok(0))?;
    let got = get_regs(&vcpu).map_err(|e| format!("KVM_GET_REGS: errno {e}"))?;
    expect("MSR after", got.msr, good.msr)?;
    expect("GPR3 after", got.gpr[3], 0x33)
}

/// MSR[HV], MSR[S] and MSR[ME]: the L0's, never userspace's.
const MSR_HV: u64 = 1 << 60;
const MSR_S: u64 = 1 << 22;
const MSR_ME: u64 = 1 << 12;

fn every_close_order() -> Verdict {
    let (before, pins) = (guests()?, pinned()?);
    // The device, a VM made from it with a slot, and a vCPU that has run,
    // closed in each of the six orders: the guest lives while the VM fd or
    // the vCPU fd is open, and goes, with the pinned slot, with the last.
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for order in orders {
        let dev = device().map_err(|e| e.to_string())?;
        let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
        let mem = anon_memory(PAGE)?;
        // SAFETY: `mem` is a fresh page of ours.
        unsafe { (mem as *mut u32).write(SC_1.to_le()) };
        set_region(&vm, 0, 0, 0, PAGE, mem).map_err(|e| format!("slot: errno {e}"))?;
        let (vcpu, run) = ready_vcpu(&dev, &vm, 0, 0)?;
        expect(
            "KVM_RUN",
            kvm_ioctl(vcpu.as_raw_fd(), kvm::KVM_RUN, 0),
            Ok(0),
        )?;
        // The kvm_run mapping holds the vCPU's file too: gone first.
        // SAFETY: the one-page mapping ready_vcpu made; nothing uses it.
        if unsafe { munmap(run.cast(), PAGE as usize) } != 0 {
            return Err(format!("munmap: {}", Error::last_os_error()));
        }
        let mut fds = [Some(OwnedFd::from(dev)), Some(vm), Some(vcpu)];
        for i in order {
            drop(fds[i].take());
            let held = fds[1].is_some() || fds[2].is_some();
            let want = if held { before + 1 } else { before };
            expect(
                &format!("guests, order {order:?}, {i} closed"),
                guests()?,
                want,
            )?;
        }
        expect(&format!("pinned, order {order:?}"), pinned()?, pins)?;
    }
    Ok(())
}

fn vcpu_fd_holds_vm() -> Verdict {
    let before = guests()?;
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let vcpu = create_vcpu(&vm, 0).map_err(|e| format!("errno {e}"))?;
    drop((dev, vm));
    expect("guests with only the vCPU fd", guests()?, before + 1)?;
    get_regs(&vcpu).map_err(|e| format!("KVM_GET_REGS: errno {e}"))?;
    drop(vcpu);
    expect("guests after the vCPU fd", guests()?, before)
}

/// `KVM_GET_ONE_REG(id)` on `fd` into `buf` (the register's size).
fn get_one(fd: &OwnedFd, id: u64, buf: &mut [u8]) -> Result<i32, i32> {
    let r = kvm::kvm_one_reg {
        id,
        addr: buf.as_mut_ptr() as u64,
    };
    kvm_ioctl_ptr(fd.as_raw_fd(), kvm::KVM_GET_ONE_REG, &r)
}

/// `KVM_SET_ONE_REG(id)` on `fd` from `buf`.
fn set_one(fd: &OwnedFd, id: u64, buf: &[u8]) -> Result<i32, i32> {
    let r = kvm::kvm_one_reg {
        id,
        addr: buf.as_ptr() as u64,
    };
    kvm_ioctl_ptr(fd.as_raw_fd(), kvm::KVM_SET_ONE_REG, &r)
}

/// A 64-bit register of `fd`.
fn get_u64(fd: &OwnedFd, id: u64) -> Result<u64, i32> {
    let mut b = [0u8; 8];
    get_one(fd, id, &mut b)?;
    Ok(u64::from_ne_bytes(b))
}

/// `id` with its size field replaced by `size` (a `KVM_REG_SIZE_*`).
fn resized(id: u64, size: u64) -> u64 {
    id & !kvm::KVM_REG_SIZE_MASK | size
}

fn one_reg_vcpu_round_trip() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let vcpu = create_vcpu(&vm, 0).map_err(|e| format!("errno {e}"))?;
    // A register never set comes from the L0: a new vCPU's TAR is 0.
    expect(
        "TAR of a new vCPU",
        get_u64(&vcpu, kvm::KVM_REG_PPC_TAR),
        Ok(0),
    )?;
    let dscr = 0x1fu64.to_ne_bytes();
    expect(
        "set DSCR",
        set_one(&vcpu, kvm::KVM_REG_PPC_DSCR, &dscr),
        Ok(0),
    )?;
    expect("DSCR", get_u64(&vcpu, kvm::KVM_REG_PPC_DSCR), Ok(0x1f))?;
    // A word register: four bytes.
    let dsisr = 0x4200_0000u32.to_ne_bytes();
    expect(
        "set DSISR",
        set_one(&vcpu, kvm::KVM_REG_PPC_DSISR, &dsisr),
        Ok(0),
    )?;
    let mut w = [0u8; 4];
    expect(
        "get DSISR",
        get_one(&vcpu, kvm::KVM_REG_PPC_DSISR, &mut w),
        Ok(0),
    )?;
    expect("DSISR", w, dsisr)?;
    // KVM's PID is a doubleword register over a word element.
    expect(
        "set PID",
        set_one(&vcpu, kvm::KVM_REG_PPC_PID, &7u64.to_ne_bytes()),
        Ok(0),
    )?;
    expect("PID", get_u64(&vcpu, kvm::KVM_REG_PPC_PID), Ok(7))?;
    let wide = (1u64 << 32).to_ne_bytes();
    expect(
        "a 33-bit PID",
        set_one(&vcpu, kvm::KVM_REG_PPC_PID, &wide),
        Err(EINVAL),
    )?;
    expect("PID after", get_u64(&vcpu, kvm::KVM_REG_PPC_PID), Ok(7))?;
    // 128-bit: VSR1 and VR2 (VSR34), first doubleword first.
    for (what, id) in [
        ("VSR1", kvm::KVM_REG_PPC_VSR0 + 1),
        ("VR2", kvm::KVM_REG_PPC_VR0 + 2),
    ] {
        let mut v = [0u8; 16];
        v[..8].copy_from_slice(&0x0123_4567_89ab_cdefu64.to_ne_bytes());
        v[8..].copy_from_slice(&(id ^ 0xfedc).to_ne_bytes());
        expect(&format!("set {what}"), set_one(&vcpu, id, &v), Ok(0))?;
        let mut got = [0u8; 16];
        expect(&format!("get {what}"), get_one(&vcpu, id, &mut got), Ok(0))?;
        expect(what, got, v)?;
    }
    Ok(())
}

fn one_reg_vm_wide() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    // The logical PVR the L0 gave the new guest, set back as it is.
    let mut pvr = [0u8; 4];
    expect(
        "get ARCH_COMPAT",
        get_one(&vm, kvm::KVM_REG_PPC_ARCH_COMPAT, &mut pvr),
        Ok(0),
    )?;
    println!(
        "# one_reg_vm_wide: the L0's logical PVR: {:#010x}",
        u32::from_ne_bytes(pvr)
    );
    expect(
        "set ARCH_COMPAT",
        set_one(&vm, kvm::KVM_REG_PPC_ARCH_COMPAT, &pvr),
        Ok(0),
    )?;
    let off = (5u64 << 24).to_ne_bytes();
    expect(
        "set TB_OFFSET",
        set_one(&vm, kvm::KVM_REG_PPC_TB_OFFSET, &off),
        Ok(0),
    )?;
    expect(
        "TB_OFFSET",
        get_u64(&vm, kvm::KVM_REG_PPC_TB_OFFSET),
        Ok(5 << 24),
    )?;
    // TB_OFFSET and ARCH_COMPAT are the guest's on a vCPU fd too (QEMU
    // syncs them there, as kvm-hv has them per virtual core); a vCPU's
    // registers are on its own fd only.
    let vcpu = create_vcpu(&vm, 0).map_err(|e| format!("errno {e}"))?;
    expect(
        "TB_OFFSET on the vCPU fd",
        get_u64(&vcpu, kvm::KVM_REG_PPC_TB_OFFSET),
        Ok(5 << 24),
    )?;
    expect(
        "set ARCH_COMPAT on the vCPU fd",
        set_one(&vcpu, kvm::KVM_REG_PPC_ARCH_COMPAT, &pvr),
        Ok(0),
    )?;
    let mut got = [0u8; 4];
    expect(
        "get ARCH_COMPAT on the vCPU fd",
        get_one(&vcpu, kvm::KVM_REG_PPC_ARCH_COMPAT, &mut got),
        Ok(0),
    )?;
    expect("ARCH_COMPAT on the vCPU fd", got, pvr)?;
    expect(
        "DSCR on the VM fd",
        get_u64(&vm, kvm::KVM_REG_PPC_DSCR),
        Err(EINVAL),
    )?;
    expect(
        "set DSCR on the VM fd",
        set_one(&vm, kvm::KVM_REG_PPC_DSCR, &off),
        Err(EINVAL),
    )
}

fn one_reg_refused() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let vcpu = create_vcpu(&vm, 0).map_err(|e| format!("errno {e}"))?;
    let mut b = [0u8; 16];
    for fd in [&vm, &vcpu] {
        // Unknown: -EINVAL, as kvm-hv answers: an ID KVM does not have,
        // one of another architecture, the transactional memory registers
        // (there is no TM).
        for (what, id) in [
            ("made up", kvm::KVM_REG_PPC | kvm::KVM_REG_SIZE_U64 | 0x7ff),
            ("not powerpc", kvm::KVM_REG_SIZE_U64 | 0x9),
            ("TFHAR", kvm::KVM_REG_PPC_TFHAR),
        ] {
            expect(&format!("get {what}"), get_one(fd, id, &mut b), Err(EINVAL))?;
            expect(&format!("set {what}"), set_one(fd, id, &b), Err(EINVAL))?;
        }
        // A known register with the wrong size: a 32-bit DSCR, a 128-bit
        // TB_OFFSET.
        for (what, id) in [
            (
                "32-bit DSCR",
                resized(kvm::KVM_REG_PPC_DSCR, kvm::KVM_REG_SIZE_U32),
            ),
            (
                "128-bit TB_OFFSET",
                resized(kvm::KVM_REG_PPC_TB_OFFSET, kvm::KVM_REG_SIZE_U128),
            ),
        ] {
            expect(&format!("get {what}"), get_one(fd, id, &mut b), Err(EINVAL))?;
            expect(&format!("set {what}"), set_one(fd, id, &b), Err(EINVAL))?;
        }
    }
    // The vCPU's registers are not on the VM fd.
    for (what, id) in [
        ("VPA_ADDR", kvm::KVM_REG_PPC_VPA_ADDR),
        ("HIOR", kvm::KVM_REG_PPC_HIOR),
        ("32-bit LPCR", kvm::KVM_REG_PPC_LPCR),
    ] {
        expect(
            &format!("get {what} on the VM fd"),
            get_one(&vm, id, &mut b),
            Err(EINVAL),
        )?;
    }
    // Bits the L1 may not set, LPCR[HR] (bit 63 - 43), are left as they
    // are, not refused: as kvm-hv, a set of LPCR changes only the bits
    // userspace may change.
    let before =
        get_u64(&vcpu, kvm::KVM_REG_PPC_LPCR_64).map_err(|e| format!("LPCR: errno {e}"))?;
    let hr = (before ^ 1u64 << 20).to_ne_bytes();
    expect(
        "LPCR with HR flipped",
        set_one(&vcpu, kvm::KVM_REG_PPC_LPCR_64, &hr),
        Ok(0),
    )?;
    expect(
        "LPCR after",
        get_u64(&vcpu, kvm::KVM_REG_PPC_LPCR_64),
        Ok(before),
    )?;
    // Bad addresses: in the struct, and for the register.
    let bad = kvm::kvm_one_reg {
        id: kvm::KVM_REG_PPC_DSCR,
        addr: 8,
    };
    for req in [kvm::KVM_GET_ONE_REG, kvm::KVM_SET_ONE_REG] {
        expect(
            "register at address 8",
            kvm_ioctl_ptr(vcpu.as_raw_fd(), req, &bad),
            Err(EFAULT),
        )?;
        expect(
            "struct at address 8",
            kvm_ioctl(vcpu.as_raw_fd(), req, 8),
            Err(EFAULT),
        )?;
    }
    Ok(())
}

const EINTR: i32 = 4;
/// `sc 1`, little-endian as the L2 reads it.
const SC_1: u32 = 0x4400_0022;
/// `b .`
const B_SELF: u32 = 0x4800_0000;

/// A VM with `code` at guest real 0 (one 64 KiB slot), vCPU 0 set to run
/// it in real mode with GPR3 = `r3`, and its mapped `kvm_run`.
struct Running {
    vm: OwnedFd,
    vcpu: OwnedFd,
    run: *mut kvm::kvm_run,
    /// Where the slot is in our memory: guest real 0 is here.
    mem: u64,
}

fn running(code: &[u32], r3: u64) -> Result<Running, String> {
    running_on(DEVICE, &[(0, code)], r3)
}

/// [`running`] on the device at `path`, with each `(at, code)` of `code`
/// at guest real `at`.
fn running_on(path: &str, code: &[(u64, &[u32])], r3: u64) -> Result<Running, String> {
    let dev = device_at(path).map_err(|e| format!("{path}: {e}"))?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("{path}: KVM_CREATE_VM: errno {e}"))?;
    let mem = anon_memory(PAGE)?;
    for (at, words) in code {
        if at % 4 != 0 || at + 4 * words.len() as u64 > PAGE {
            return Err(format!("code at {at:#x} is not within the slot"));
        }
        for (i, w) in words.iter().enumerate() {
            // SAFETY: `mem` is a fresh page of ours, and the words are
            // within it (checked above), aligned.
            unsafe { ((mem + at) as *mut u32).add(i).write(w.to_le()) };
        }
    }
    set_region(&vm, 0, 0, 0, PAGE, mem).map_err(|e| format!("{path}: slot: errno {e}"))?;
    let (vcpu, run) = ready_vcpu(&dev, &vm, 0, r3).map_err(|e| format!("{path}: {e}"))?;
    Ok(Running { vm, vcpu, run, mem })
}

/// vCPU `id` of `vm`, a PAPR guest (`KVM_CAP_PPC_PAPR`, which kvm-hv needs
/// before it runs one), set to run from 0 in real mode, little-endian,
/// with GPR3 = `r3`, and its mapped `kvm_run`.
fn ready_vcpu(
    dev: &File,
    vm: &OwnedFd,
    id: u64,
    r3: u64,
) -> Result<(OwnedFd, *mut kvm::kvm_run), String> {
    let vcpu = create_vcpu(vm, id).map_err(|e| format!("vCPU {id}: errno {e}"))?;
    let papr = kvm::kvm_enable_cap {
        cap: kvm::KVM_CAP_PPC_PAPR,
        ..Default::default()
    };
    kvm_ioctl_ptr(vcpu.as_raw_fd(), kvm::KVM_ENABLE_CAP, &papr)
        .map_err(|e| format!("KVM_ENABLE_CAP(KVM_CAP_PPC_PAPR): errno {e}"))?;
    let mut regs = kvm::kvm_regs {
        msr: 1 << 63 | 1,
        ..Default::default()
    };
    regs.gpr[3] = r3;
    set_regs(&vcpu, &regs).map_err(|e| format!("KVM_SET_REGS: errno {e}"))?;
    let size = kvm_ioctl(dev.as_raw_fd(), kvm::KVM_GET_VCPU_MMAP_SIZE, 0)
        .map_err(|e| format!("KVM_GET_VCPU_MMAP_SIZE: errno {e}"))?;
    let prot = (kvm::PROT_READ | kvm::PROT_WRITE) as i32;
    let shared = kvm::MAP_SHARED as i32;
    // SAFETY: a new shared mapping of the vCPU fd; nothing of ours is touched.
    let run = unsafe {
        mmap(
            std::ptr::null_mut(),
            size as usize,
            prot,
            shared,
            vcpu.as_raw_fd(),
            0,
        )
    };
    if run as isize == -1 {
        return Err(format!("mmap of kvm_run: {}", Error::last_os_error()));
    }
    Ok((vcpu, run.cast()))
}

impl Running {
    /// `KVM_RUN`, and the `kvm_run` it filled.
    fn run(&self) -> Result<&mut kvm::kvm_run, i32> {
        kvm_ioctl(self.vcpu.as_raw_fd(), kvm::KVM_RUN, 0)?;
        // SAFETY: the mapped kvm_run page, filled before KVM_RUN returned.
        Ok(unsafe { &mut *self.run })
    }
}

fn run_mmap() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let size = kvm_ioctl(dev.as_raw_fd(), kvm::KVM_GET_VCPU_MMAP_SIZE, 0);
    expect("KVM_GET_VCPU_MMAP_SIZE", size, Ok(PAGE as i32))?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let vcpu = create_vcpu(&vm, 0).map_err(|e| format!("errno {e}"))?;
    let prot = (kvm::PROT_READ | kvm::PROT_WRITE) as i32;
    let shared = kvm::MAP_SHARED as i32;
    for (what, len, off) in [
        ("two pages", 2 * PAGE, 0),
        ("offset one page", PAGE, PAGE as i64),
    ] {
        // SAFETY: a new mapping attempt; nothing of ours is touched.
        let p = unsafe {
            mmap(
                std::ptr::null_mut(),
                len as usize,
                prot,
                shared,
                vcpu.as_raw_fd(),
                off,
            )
        };
        let errno = Error::last_os_error().raw_os_error();
        expect(what, (p as isize, errno), (-1, Some(EINVAL)))?;
    }
    // SAFETY: as above.
    let p = unsafe {
        mmap(
            std::ptr::null_mut(),
            PAGE as usize,
            prot,
            shared,
            vm.as_raw_fd(),
            0,
        )
    };
    expect("mmap of a VM fd", p as isize, -1)
}

fn run_without_memory() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    drop(vm);
    let r = running(&[], 0)?;
    // The slot holds zeros at 0, which are no instruction: the L2 faults
    // or is refused there, and the VMM hears of it, the run does not hang.
    let k = r.run().map_err(|e| format!("KVM_RUN: errno {e}"))?;
    expect("exit reason", k.exit_reason, kvm::KVM_EXIT_INTERNAL_ERROR)?;
    // SAFETY: the exit reason says which member is filled.
    let e = unsafe { k.__bindgen_anon_1.internal };
    expect(
        "suberror",
        e.suberror,
        kvm::KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
    )?;
    expect("NIA", e.data[2], 0)
}

fn run_hcall_round_trip() -> Verdict {
    let r = running(&[SC_1, SC_1, B_SELF], 0x1234)?;
    let k = r.run().map_err(|e| format!("KVM_RUN 1: errno {e}"))?;
    expect("exit 1", k.exit_reason, kvm::KVM_EXIT_PAPR_HCALL)?;
    // SAFETY: the exit reason says which member is filled.
    let h = unsafe { &mut k.__bindgen_anon_1.papr_hcall };
    expect("nr at exit 1", h.nr, 0x1234)?;
    h.ret = 0x99;
    h.args[0] = 0x55;
    h.args[8] = 0x88;
    let k = r.run().map_err(|e| format!("KVM_RUN 2: errno {e}"))?;
    expect("exit 2", k.exit_reason, kvm::KVM_EXIT_PAPR_HCALL)?;
    // SAFETY: as above.
    let h = unsafe { k.__bindgen_anon_1.papr_hcall };
    expect("nr (GPR3 = ret) at exit 2", h.nr, 0x99)?;
    expect("args[0] (GPR4) at exit 2", h.args[0], 0x55)?;
    expect("args[8] (GPR12) at exit 2", h.args[8], 0x88)
}

fn run_immediate_exit() -> Verdict {
    let r = running(&[SC_1], 7)?;
    // SAFETY: the mapped kvm_run page; KVM_RUN is not running.
    unsafe { (*r.run).immediate_exit = 1 };
    expect("KVM_RUN", r.run().map(|_| ()), Err(EINTR))?;
    // SAFETY: as above.
    expect(
        "exit reason",
        unsafe { (*r.run).exit_reason },
        kvm::KVM_EXIT_INTR,
    )?;
    // SAFETY: as above.
    unsafe { (*r.run).immediate_exit = 0 };
    let k = r.run().map_err(|e| format!("KVM_RUN: errno {e}"))?;
    expect("then the call", k.exit_reason, kvm::KVM_EXIT_PAPR_HCALL)
}

fn sigkill_mid_run() -> Verdict {
    let before = guests()?;
    let pins = pinned()?;
    let mut child = child(&["spin"], "spinning")?;
    std::thread::sleep(std::time::Duration::from_millis(300));
    let t = std::time::Instant::now();
    child.kill().map_err(|e| format!("kill: {e}"))?;
    child.wait().map_err(|e| format!("wait: {e}"))?;
    let ms = t.elapsed().as_millis();
    println!("# sigkill_mid_run: the spinning vCPU's process was gone {ms} ms after SIGKILL");
    if ms >= 1000 {
        return Err(format!("{ms} ms to die"));
    }
    expect("guests after SIGKILL", guests()?, before)?;
    expect("pinned after SIGKILL", pinned()?, pins)
}

/// A vCPU's mapped `kvm_run`, to hand to its thread.
struct RunPtr(*mut kvm::kvm_run);

// SAFETY: each `RunPtr` goes to one thread, which alone uses that vCPU.
unsafe impl Send for RunPtr {}

fn four_vcpus_four_threads() -> Verdict {
    let r = running(&[SC_1, B_SELF], 0)?;
    let dev = device().map_err(|e| e.to_string())?;
    let mut threads = Vec::new();
    for id in 1..4u64 {
        let (vcpu, p) = ready_vcpu(&dev, &r.vm, id, 0x100 + id)?;
        let run = RunPtr(p);
        threads.push(std::thread::spawn(move || {
            let run = run;
            let rc = kvm_ioctl(vcpu.as_raw_fd(), kvm::KVM_RUN, 0);
            // SAFETY: this thread's vCPU's kvm_run, filled by KVM_RUN.
            let k = unsafe { &*run.0 };
            // SAFETY: plain integers, whichever member is filled.
            (rc, k.exit_reason, unsafe {
                k.__bindgen_anon_1.papr_hcall.nr
            })
        }));
    }
    // vCPU 0 on this thread, with GPR3 = 0.
    let k = r.run().map_err(|e| format!("vCPU 0: errno {e}"))?;
    expect("vCPU 0", k.exit_reason, kvm::KVM_EXIT_PAPR_HCALL)?;
    for (i, t) in threads.into_iter().enumerate() {
        let got = t.join().map_err(|_| "a vCPU thread panicked".to_string())?;
        let id = i as u64 + 1;
        expect(
            &format!("vCPU {id}"),
            got,
            (Ok(0), kvm::KVM_EXIT_PAPR_HCALL, 0x100 + id),
        )?;
    }
    Ok(())
}

/// The states (`R`, `S`, `D`, ...) of the threads of process `pid`.
fn thread_states(pid: u32) -> Result<Vec<char>, String> {
    let dir = format!("/proc/{pid}/task");
    let mut states = Vec::new();
    for e in fs::read_dir(&dir).map_err(|e| format!("{dir}: {e}"))? {
        let e = e.map_err(|e| e.to_string())?;
        let stat = fs::read_to_string(e.path().join("stat")).map_err(|e| e.to_string())?;
        // "tid (comm) S ...": the state follows the last ')'.
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .ok_or(format!("{}: {stat}", e.path().display()))?;
        states.push(state);
    }
    Ok(states)
}

fn vcpus_run_at_once() -> Verdict {
    let before = guests()?;
    let mut child = child(&["spin", "4"], "spinning 4")?;
    // Four vCPU threads in KVM_RUN, each L2 in `b .`. Were their runs
    // serialised (one lock for the VM, as before), three would sleep on
    // it (`D`) at any moment; each runs in its own H_GUEST_RUN_VCPU.
    let (mut samples, mut blocked) = (0, 0);
    let mut seen = Vec::new();
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(10));
        let states = thread_states(child.id())?;
        samples += states.len();
        blocked += states.iter().filter(|s| **s == 'D').count();
        seen = states;
    }
    child.kill().map_err(|e| format!("kill: {e}"))?;
    child.wait().map_err(|e| format!("wait: {e}"))?;
    println!(
        "# vcpus_run_at_once: {blocked} of {samples} samples of the 4 vCPU threads blocked (last: {seen:?})"
    );
    expect("vCPU threads", seen.len(), 4)?;
    if blocked * 10 > samples {
        return Err(format!("{blocked} of {samples} samples blocked"));
    }
    expect("guests after", guests()?, before)
}

fn slot_deleted_under_a_running_vcpu() -> Verdict {
    let pins = pinned()?;
    let r = running(&[B_SELF], 0)?;
    let vcpu = r.vcpu.as_raw_fd();
    let run = RunPtr(r.run);
    let t = std::thread::spawn(move || {
        let run = run;
        let rc = kvm_ioctl(vcpu, kvm::KVM_RUN, 0);
        // SAFETY: this vCPU's kvm_run, filled by KVM_RUN.
        let k = unsafe { &*run.0 };
        // SAFETY: plain integers, whichever member is filled.
        (rc, k.exit_reason, unsafe {
            k.__bindgen_anon_1.internal.data[2]
        })
    });
    std::thread::sleep(std::time::Duration::from_millis(100));
    // The slot the L2 runs from goes while it runs: the call returns once
    // the run under way has ended, and the L2 cannot run on from it.
    expect("delete the slot", set_region(&r.vm, 0, 0, 0, 0, 0), Ok(0))?;
    let got = t
        .join()
        .map_err(|_| "the vCPU thread panicked".to_string())?;
    expect(
        "KVM_RUN after the slot went",
        got,
        (Ok(0), kvm::KVM_EXIT_INTERNAL_ERROR, 0),
    )?;
    // SAFETY: the mapped kvm_run; KVM_RUN has returned.
    let vector = unsafe { (*r.run).__bindgen_anon_1.internal.data[0] };
    println!("# slot_deleted_under_a_running_vcpu: the L2 then exited with vector {vector:#x}");
    drop(r);
    expect("pinned after", pinned()?, pins)
}

/// `spin [N]`: N vCPUs (1 if not given) of one VM in `b .`, each on its
/// own thread, run until killed.
fn spin(n: u64) -> ! {
    let r = running(&[B_SELF], 0).expect("a VM spinning");
    let dev = device().expect("open the device");
    for id in 1..n {
        let (vcpu, p) = ready_vcpu(&dev, &r.vm, id, 0).expect("a vCPU");
        let run = RunPtr(p);
        std::thread::spawn(move || {
            let _run = run;
            loop {
                let _ = kvm_ioctl(vcpu.as_raw_fd(), kvm::KVM_RUN, 0);
            }
        });
    }
    if n > 1 {
        println!("spinning {n}");
    } else {
        println!("spinning");
    }
    loop {
        let _ = r.run();
    }
}

/// `hold N`: N VMs, each with a slot of two pages, then wait to be
/// killed.
fn hold(n: usize) -> ! {
    let dev = device().expect("open the device");
    let vms: Vec<OwnedFd> = (0..n)
        .map(|_| create_vm(&dev, 0).expect("KVM_CREATE_VM"))
        .collect();
    for vm in &vms {
        let mem = anon_memory(2 * PAGE).expect("mmap");
        set_region(vm, 0, 0, 0, 2 * PAGE, mem).expect("KVM_SET_USER_MEMORY_REGION");
    }
    println!("holding {}", vms.len());
    loop {
        std::thread::park();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("spin") {
        spin(args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1));
    }
    if args.get(1).map(String::as_str) == Some("hold") {
        hold(args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1));
    }
    let cases: [(&str, fn() -> Verdict); 60] = [
        ("api_version", api_version),
        (
            "capabilities_are_what_is_implemented",
            capabilities_are_what_is_implemented,
        ),
        ("enable_cap_papr", enable_cap_papr),
        ("create_vm_types", create_vm_types),
        ("unknown_ioctls", unknown_ioctls),
        ("vm_fd_is_cloexec", vm_fd_is_cloexec),
        ("vm_outlives_device_fd", vm_outlives_device_fd),
        ("rmmod_refused_while_vm_open", rmmod_refused_while_vm_open),
        ("memory_region_bad_input", memory_region_bad_input),
        ("memory_region_lifecycle", memory_region_lifecycle),
        ("create_vcpus", create_vcpus),
        ("regs_round_trip", regs_round_trip),
        ("regs_refused_whole", regs_refused_whole),
        ("vcpu_fd_holds_vm", vcpu_fd_holds_vm),
        ("every_close_order", every_close_order),
        ("one_reg_vcpu_round_trip", one_reg_vcpu_round_trip),
        ("one_reg_vm_wide", one_reg_vm_wide),
        ("one_reg_refused", one_reg_refused),
        (
            "batch_round_trip_every_id",
            state::batch_round_trip_every_id,
        ),
        (
            "batch_refusals_name_the_element",
            state::batch_refusals_name_the_element,
        ),
        ("batch_hcall_counts", state::batch_hcall_counts),
        (
            "snapshot_refusals_change_nothing",
            state::snapshot_refusals_change_nothing,
        ),
        ("snapshot_vs_one_reg_walk", state::snapshot_vs_one_reg_walk),
        ("run_mmap", run_mmap),
        ("run_without_memory", run_without_memory),
        ("run_hcall_round_trip", run_hcall_round_trip),
        ("run_immediate_exit", run_immediate_exit),
        ("four_vcpus_four_threads", four_vcpus_four_threads),
        ("vcpus_run_at_once", vcpus_run_at_once),
        (
            "slot_deleted_under_a_running_vcpu",
            slot_deleted_under_a_running_vcpu,
        ),
        ("sigkill_mid_run", sigkill_mid_run),
        ("process_death_deletes_guests", process_death_deletes_guests),
        ("other_process_gets_eio", review::other_process_gets_eio),
        ("slot_charged_to_memlock", review::slot_charged_to_memlock),
        ("create_vcpu_without_fds", review::create_vcpu_without_fds),
        (
            "create_vcpu_without_files",
            review::create_vcpu_without_files,
        ),
        ("map_4gib_in_slots", review::map_4gib_in_slots),
        ("kvm_run_refaults", review::kvm_run_refaults),
        (
            "kvm_run_is_no_slot_memory",
            review::kvm_run_is_no_slot_memory,
        ),
        ("errnos_as_kvm", review::errnos_as_kvm),
        ("get_state_trailing_bytes", review::get_state_trailing_bytes),
        ("capabilities_qemu_asks", qemu_abi::capabilities_qemu_asks),
        ("mmu_info_as_kvm_hv", qemu_abi::mmu_info_as_kvm_hv),
        ("vsx_layout_as_kvm_hv", qemu_abi::vsx_layout_as_kvm_hv),
        ("regs_after_run", qemu_abi::regs_after_run),
        ("sregs_as_kvm_hv", qemu_abi::sregs_as_kvm_hv),
        ("one_reg_qemu_ids", qemu_abi::one_reg_qemu_ids),
        (
            "hcall_confer_prod_in_kernel",
            qemu_abi::hcall_confer_prod_in_kernel,
        ),
        ("hcall_prod_then_cede", qemu_abi::hcall_prod_then_cede),
        ("hcall_cede_until_dec", qemu_abi::hcall_cede_until_dec),
        ("hcall_cede_woken", qemu_abi::hcall_cede_woken),
        ("hcall_register_vpa", qemu_abi::hcall_register_vpa),
        ("hcall_set_mode", qemu_abi::hcall_set_mode),
        ("configure_v3_mmu", qemu_abi::configure_v3_mmu),
        ("enable_cap_qemu", qemu_abi::enable_cap_qemu),
        ("smt_mode", qemu_abi::smt_mode),
        ("interrupt_while_running", qemu_abi::interrupt_while_running),
        (
            "mmio_and_ioeventfd_as_kvm_hv",
            qemu_abi::mmio_and_ioeventfd_as_kvm_hv,
        ),
        ("ioeventfd_refusals", qemu_abi::ioeventfd_refusals),
        ("mmio_not_emulated", qemu_abi::mmio_not_emulated),
    ];
    println!("KTAP version 1");
    println!("# Subtest: papr_nested_kvm_api");
    println!("1..{}", cases.len());
    let mut failed = 0;
    for (i, (name, case)) in cases.iter().enumerate() {
        match case() {
            Ok(()) => println!("ok {} {}", i + 1, name),
            Err(why) => {
                failed += 1;
                println!("# {name}: {why}");
                println!("not ok {} {}", i + 1, name);
            }
        }
    }
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
