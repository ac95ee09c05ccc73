// SPDX-License-Identifier: GPL-2.0

//! The userspace suite of `/dev/papr-nested`: each case checks one ioctl
//! path or one lifetime rule of the interface, against the real module
//! and the real L0, and prints a KTAP line.
//!
//! `kvm-api-tests` runs them all; `kvm-api-tests hold N` (used by the
//! suite itself) creates N VMs, says so on stdout and waits to be killed.

mod kvm;

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Error};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::{Command, Stdio};

/// The module's device.
const DEVICE: &str = "/dev/papr-nested";
/// Guests the module holds at the L0 now.
const GUESTS: &str = "/sys/kernel/debug/rust_papr_nested/guests";

extern "C" {
    fn ioctl(fd: i32, request: u64, ...) -> i32;
    fn fcntl(fd: i32, cmd: i32, ...) -> i32;
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

/// Opens the device.
fn device() -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(DEVICE)
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
const ENOTTY: i32 = 25;

fn api_version() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    let v = kvm_ioctl(dev.as_raw_fd(), kvm::KVM_GET_API_VERSION, 0);
    expect("KVM_GET_API_VERSION", v, Ok(kvm::KVM_API_VERSION as i32))
}

fn nothing_advertised_yet() -> Verdict {
    let dev = device().map_err(|e| e.to_string())?;
    for cap in [
        kvm::KVM_CAP_PPC_PAPR,
        kvm::KVM_CAP_USER_MEMORY,
        kvm::KVM_CAP_NR_VCPUS,
        9999,
    ] {
        let r = kvm_ioctl(dev.as_raw_fd(), kvm::KVM_CHECK_EXTENSION, cap.into());
        expect(&format!("KVM_CHECK_EXTENSION({cap})"), r, Ok(0))?;
    }
    Ok(())
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
        Err(ENOTTY),
    )?;
    expect(
        "KVM_GET_API_VERSION on a VM",
        kvm_ioctl(vm.as_raw_fd(), kvm::KVM_GET_API_VERSION, 0),
        Err(ENOTTY),
    )?;
    expect("0 on a VM", kvm_ioctl(vm.as_raw_fd(), 0, 0), Err(ENOTTY))?;
    let r = kvm_ioctl(
        vm.as_raw_fd(),
        kvm::KVM_CHECK_EXTENSION,
        kvm::KVM_CAP_PPC_PAPR.into(),
    );
    expect("KVM_CHECK_EXTENSION on a VM", r, Ok(0))
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

fn process_death_deletes_guests() -> Verdict {
    let before = guests()?;
    let mut child = Command::new("/proc/self/exe")
        .args(["hold", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let mut line = String::new();
    let out = child.stdout.take().ok_or("no stdout")?;
    BufReader::new(out)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    expect("the child", line.trim(), "holding 3")?;
    expect("guests while it holds them", guests()?, before + 3)?;
    child.kill().map_err(|e| format!("kill: {e}"))?;
    child.wait().map_err(|e| format!("wait: {e}"))?;
    expect("guests after SIGKILL", guests()?, before)
}

/// `hold N`: N VMs, then wait to be killed.
fn hold(n: usize) -> ! {
    let dev = device().expect("open the device");
    let vms: Vec<OwnedFd> = (0..n)
        .map(|_| create_vm(&dev, 0).expect("KVM_CREATE_VM"))
        .collect();
    println!("holding {}", vms.len());
    loop {
        std::thread::park();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("hold") {
        hold(args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1));
    }
    let cases: [(&str, fn() -> Verdict); 8] = [
        ("api_version", api_version),
        ("nothing_advertised_yet", nothing_advertised_yet),
        ("create_vm_types", create_vm_types),
        ("unknown_ioctls", unknown_ioctls),
        ("vm_fd_is_cloexec", vm_fd_is_cloexec),
        ("vm_outlives_device_fd", vm_outlives_device_fd),
        ("rmmod_refused_while_vm_open", rmmod_refused_while_vm_open),
        ("process_death_deletes_guests", process_death_deletes_guests),
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
