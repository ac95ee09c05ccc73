// SPDX-License-Identifier: GPL-2.0

//! papr-vmm: loads an L2 program, a flat binary at guest real 0 or a
//! 64-bit little-endian ELF at its physical addresses, and runs it
//! through KVM's ABI, on `/dev/papr-nested` (default) or `/dev/kvm`
//! (`--kvm`), serving its hypervisor calls (tools/l2/papr.h): the console
//! from stdin and to stdout, its exit status as ours. At the end it prints
//! the exits by reason and the time per exit.
//!
//! ```text
//! papr-vmm [--kvm | --device PATH] [--vcpus N] PROGRAM.{bin,elf}
//! ```
//!
//! With `--vcpus N`, N vCPUs run the program, each on a thread of its own,
//! each starting with GPR3 = its id; the status is the highest of theirs.

#[path = "../../kvm-sys/kvm.rs"]
mod kvm;

use std::fs::{File, OpenOptions};
use std::io::{Error, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Instant;

extern "C" {
    fn ioctl(fd: i32, request: u64, ...) -> i32;
    fn mmap(addr: *mut u8, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut u8;
    fn poll(fds: *mut PollFd, nfds: u64, timeout: i32) -> i32;
}

/// `struct pollfd`.
#[repr(C)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}

/// `POLLIN`.
const POLLIN: i16 = 1;

/// A failed step, said once.
type Fallible<T> = Result<T, String>;

/// `ioctl(fd, request, arg)` with an integer argument.
fn ioctl_val(fd: RawFd, request: u32, arg: u64, what: &str) -> Fallible<i32> {
    // SAFETY: an integer argument: the kernel reads no memory of ours.
    let r = unsafe { ioctl(fd, u64::from(request), arg) };
    if r < 0 {
        return Err(format!("{what}: {}", Error::last_os_error()));
    }
    Ok(r)
}

/// `ioctl(fd, request, &arg)`.
fn ioctl_ptr<T>(fd: RawFd, request: u32, arg: &T, what: &str) -> Fallible<i32> {
    // SAFETY: `arg` is a live `T`, the struct the request reads.
    let r = unsafe { ioctl(fd, u64::from(request), arg as *const T) };
    if r < 0 {
        return Err(format!("{what}: {}", Error::last_os_error()));
    }
    Ok(r)
}

/// A new fd from an ioctl that makes one.
fn new_fd(fd: RawFd, request: u32, arg: u64, what: &str) -> Fallible<OwnedFd> {
    let n = ioctl_val(fd, request, arg, what)?;
    // SAFETY: the kernel gave us this new fd, which nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(n) })
}

/// `len` bytes of memory, anonymous or of `fd` (shared), read-write.
fn map(len: usize, fd: Option<RawFd>, what: &str) -> Fallible<*mut u8> {
    let prot = (kvm::PROT_READ | kvm::PROT_WRITE) as i32;
    let (flags, fd) = match fd {
        Some(fd) => (kvm::MAP_SHARED as i32, fd),
        None => ((kvm::MAP_PRIVATE | kvm::MAP_ANONYMOUS) as i32, -1),
    };
    // SAFETY: a new mapping; nothing of ours is touched.
    let p = unsafe { mmap(std::ptr::null_mut(), len, prot, flags, fd, 0) };
    if p as isize == -1 {
        return Err(format!("{what}: {}", Error::last_os_error()));
    }
    Ok(p)
}

/// The exits seen, by kind.
#[derive(Default)]
struct Counts {
    hcalls: u64,
    console: u64,
    ticks: u64,
    other: u64,
}

/// Big-endian bytes of the registers `regs`, `n` of them, as the console
/// calls pack them.
fn chars(regs: &[u64], n: usize) -> Vec<u8> {
    regs.iter().flat_map(|r| r.to_be_bytes()).take(n).collect()
}

/// What H_GET_TERM_CHAR answers: up to 16 bytes of stdin that are there
/// now, packed big-endian into two registers as the console calls pack
/// them, and how many. The call does not wait (PAPR's does not): nothing
/// there yet, or stdin at its end, is 0 bytes. Read from fd 0 unbuffered,
/// so no byte waits in a buffer that `poll` cannot see.
fn stdin_chars() -> (u64, [u64; 2]) {
    let mut p = PollFd {
        fd: 0,
        events: POLLIN,
        revents: 0,
    };
    // SAFETY: one valid `pollfd`, a timeout of 0: nothing else is touched.
    if unsafe { poll(&mut p, 1, 0) } != 1 || p.revents & POLLIN == 0 {
        return (0, [0; 2]);
    }
    // SAFETY: fd 0 is open for the process's life; ManuallyDrop keeps this
    // `File` from closing it.
    let mut stdin = ManuallyDrop::new(unsafe { File::from_raw_fd(0) });
    let mut b = [0u8; 16];
    let n = stdin.read(&mut b).unwrap_or(0);
    let mut regs = [0u64; 2];
    for (r, chunk) in regs.iter_mut().zip(b.chunks(8)) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        *r = u64::from_be_bytes(w);
    }
    (n as u64, regs)
}

/// The L2's memory and where it starts: `file` as a flat binary at guest
/// real [`kvm::RPN_L2_LOAD_ADDR`], or as an ELF (64-bit, little-endian,
/// PowerPC 64) whose loadable segments go to their physical addresses,
/// starting at its entry point. Everything must fall inside the memory.
fn load(file: &[u8], mem: &mut [u8]) -> Fallible<u64> {
    let base = u64::from(kvm::RPN_L2_LOAD_ADDR);
    let mem_len = mem.len() as u64;
    if !file.starts_with(b"\x7fELF") {
        let dst = mem
            .get_mut(..file.len())
            .ok_or(format!("{} bytes, over {mem_len}", file.len()))?;
        dst.copy_from_slice(file);
        return Ok(base);
    }
    let u16_at = |at: usize| -> Fallible<u64> {
        let b = file.get(at..at + 2).ok_or("ELF: truncated")?;
        Ok(u16::from_le_bytes([b[0], b[1]]).into())
    };
    let u32_at = |at: usize| -> Fallible<u64> {
        let b = file.get(at..at + 4).ok_or("ELF: truncated")?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]).into())
    };
    let u64_at = |at: usize| -> Fallible<u64> {
        let b = file.get(at..at + 8).ok_or("ELF: truncated")?;
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        Ok(u64::from_le_bytes(w))
    };
    // ELFCLASS64, ELFDATA2LSB, EM_PPC64.
    if file.get(4..6) != Some(&[2, 1]) || u16_at(18)? != 21 {
        return Err("ELF: not 64-bit little-endian PowerPC".into());
    }
    let to_usize = |v: u64| usize::try_from(v).map_err(|_| "ELF: offset too large".to_string());
    let (entry, phoff, phentsize, phnum) = (u64_at(24)?, u64_at(32)?, u16_at(54)?, u16_at(56)?);
    for i in 0..phnum {
        let ph = to_usize(phoff + i * phentsize)?;
        // PT_LOAD
        if u32_at(ph)? != 1 {
            continue;
        }
        let (off, paddr, filesz, memsz) = (
            u64_at(ph + 8)?,
            u64_at(ph + 24)?,
            u64_at(ph + 32)?,
            u64_at(ph + 40)?,
        );
        let start = paddr
            .checked_sub(base)
            .ok_or("ELF: a segment below the memory")?;
        let end = start
            .checked_add(memsz)
            .filter(|e| *e <= mem_len && filesz <= memsz);
        end.ok_or(format!("ELF: a segment at {paddr:#x} outside the memory"))?;
        let src = file
            .get(to_usize(off)?..to_usize(off + filesz)?)
            .ok_or("ELF: a segment past the end of the file")?;
        let start = to_usize(start)?;
        mem[start..start + src.len()].copy_from_slice(src);
    }
    if entry < base || entry - base >= mem_len {
        return Err(format!("ELF: entry {entry:#x} outside the memory"));
    }
    Ok(entry)
}

/// One vCPU of the VM: its fd and its mapped `kvm_run`.
struct Vcpu {
    fd: OwnedFd,
    run: *mut kvm::kvm_run,
}

// SAFETY: each `Vcpu` is run by one thread at a time (`run` takes `&self`
// but only one thread is given each), and its kvm_run page is its own.
unsafe impl Sync for Vcpu {}
// SAFETY: as above.
unsafe impl Send for Vcpu {}

impl Vcpu {
    /// vCPU `id`, starting at `entry` in real mode, little-endian, with
    /// GPR3 = its id.
    fn new(vm: &OwnedFd, id: u64, entry: u64, run_size: usize, papr_cap: bool) -> Fallible<Vcpu> {
        let fd = new_fd(vm.as_raw_fd(), kvm::KVM_CREATE_VCPU, id, "KVM_CREATE_VCPU")?;
        if papr_cap {
            let cap = kvm::kvm_enable_cap {
                cap: kvm::KVM_CAP_PPC_PAPR,
                ..Default::default()
            };
            ioctl_ptr(
                fd.as_raw_fd(),
                kvm::KVM_ENABLE_CAP,
                &cap,
                "KVM_ENABLE_CAP(KVM_CAP_PPC_PAPR)",
            )?;
        }
        let run = map(run_size, Some(fd.as_raw_fd()), "mmap of kvm_run")?.cast::<kvm::kvm_run>();
        let mut regs = kvm::kvm_regs {
            pc: entry,
            // 64-bit, little-endian, real mode.
            msr: 1 << 63 | 1,
            ..Default::default()
        };
        regs.gpr[3] = id;
        ioctl_ptr(fd.as_raw_fd(), kvm::KVM_SET_REGS, &regs, "KVM_SET_REGS")?;
        Ok(Vcpu { fd, run })
    }

    /// Runs the vCPU until its program exits; returns its status and
    /// exits.
    fn run(&self) -> Fallible<(i32, Counts)> {
        let mut counts = Counts::default();
        let mut out = std::io::stdout();
        let status = loop {
            ioctl_val(self.fd.as_raw_fd(), kvm::KVM_RUN, 0, "KVM_RUN")?;
            // SAFETY: `run` maps this vCPU's kvm_run page, which the kernel
            // filled before KVM_RUN returned and does not touch until the
            // next; only this thread runs this vCPU.
            let r = unsafe { &mut *self.run };
            match r.exit_reason {
                kvm::KVM_EXIT_PAPR_HCALL => {
                    counts.hcalls += 1;
                    // SAFETY: the exit reason says which member is filled.
                    let h = unsafe { &mut r.__bindgen_anon_1.papr_hcall };
                    h.ret = kvm::RPN_H_SUCCESS as u64;
                    match h.nr as u32 {
                        kvm::RPN_H_PUT_TERM_CHAR => {
                            counts.console += 1;
                            let n = (h.args[1] as usize).min(16);
                            let _ = out.write_all(&chars(&h.args[2..4], n));
                            let _ = out.flush();
                        }
                        kvm::RPN_H_GET_TERM_CHAR => {
                            counts.console += 1;
                            let (n, regs) = stdin_chars();
                            h.args[0] = n;
                            h.args[1..3].copy_from_slice(&regs);
                        }
                        kvm::RPN_H_VMM_TICK => counts.ticks += 1,
                        kvm::RPN_H_VMM_REPORT => println!("papr-vmm: L2 reports {:#x}", h.args[0]),
                        kvm::RPN_H_VMM_EXIT => break h.args[0] as i32,
                        _ => h.ret = kvm::RPN_H_FUNCTION as u64,
                    }
                }
                kvm::KVM_EXIT_INTERNAL_ERROR => {
                    counts.other += 1;
                    // SAFETY: the exit reason says which member is filled.
                    let e = unsafe { &r.__bindgen_anon_1.internal };
                    let d = &e.data;
                    eprintln!(
                        "papr-vmm: exit {:#x} the VMM cannot serve: {:#x} at NIA {:#x} (suberror {})",
                        d[0], d[1], d[2], e.suberror
                    );
                    break 128 + 3;
                }
                other => {
                    eprintln!("papr-vmm: unexpected exit reason {other}");
                    break 128 + 4;
                }
            }
        };
        Ok((status, counts))
    }
}

fn run(device: &str, papr_cap: bool, vcpus_wanted: u64, program: &str) -> Fallible<i32> {
    let code = std::fs::read(program).map_err(|e| format!("{program}: {e}"))?;
    let mem_size = kvm::RPN_L2_MEM_SIZE as usize;
    let dev: File = OpenOptions::new()
        .read(true)
        .write(true)
        .open(device)
        .map_err(|e| format!("{device}: {e}"))?;
    let api = ioctl_val(
        dev.as_raw_fd(),
        kvm::KVM_GET_API_VERSION,
        0,
        "KVM_GET_API_VERSION",
    )?;
    if api != kvm::KVM_API_VERSION as i32 {
        return Err(format!("{device}: API version {api}"));
    }
    let vm = new_fd(
        dev.as_raw_fd(),
        kvm::KVM_CREATE_VM,
        kvm::KVM_VM_PPC_HV.into(),
        "KVM_CREATE_VM",
    )?;
    let mem = map(mem_size, None, "guest memory")?;
    // SAFETY: `mem` is `mem_size` fresh bytes of ours, mapped for the
    // process's life; no other reference to them exists yet.
    let entry = load(&code, unsafe {
        std::slice::from_raw_parts_mut(mem, mem_size)
    })
    .map_err(|e| format!("{program}: {e}"))?;
    let region = kvm::kvm_userspace_memory_region {
        slot: 0,
        flags: 0,
        guest_phys_addr: kvm::RPN_L2_LOAD_ADDR.into(),
        memory_size: mem_size as u64,
        userspace_addr: mem as u64,
    };
    ioctl_ptr(
        vm.as_raw_fd(),
        kvm::KVM_SET_USER_MEMORY_REGION,
        &region,
        "KVM_SET_USER_MEMORY_REGION",
    )?;
    let run_size = ioctl_val(
        dev.as_raw_fd(),
        kvm::KVM_GET_VCPU_MMAP_SIZE,
        0,
        "KVM_GET_VCPU_MMAP_SIZE",
    )?;
    let mut vcpus = Vec::new();
    for id in 0..vcpus_wanted {
        vcpus.push(Vcpu::new(&vm, id, entry, run_size as usize, papr_cap)?);
    }
    let start = Instant::now();
    let results: Vec<Fallible<(i32, Counts)>> = std::thread::scope(|s| {
        let handles: Vec<_> = vcpus.iter().map(|v| s.spawn(|| v.run())).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a vCPU thread panicked".into()))
            })
            .collect()
    });
    let mut counts = Counts::default();
    let mut status = 0;
    for r in results {
        let (st, c) = r?;
        status = status.max(st);
        counts.hcalls += c.hcalls;
        counts.console += c.console;
        counts.ticks += c.ticks;
        counts.other += c.other;
    }
    let elapsed = start.elapsed();
    let exits = counts.hcalls + counts.other;
    let per_exit_ns = elapsed.as_nanos() / u128::from(exits.max(1));
    let per_s = (u128::from(exits) * 1_000_000_000) / elapsed.as_nanos().max(1);
    eprintln!(
        "papr-vmm: {vcpus_wanted} vCPUs, {exits} exits ({} hypervisor calls: {} console, {} ticks; {} other) in {} us: {per_exit_ns} ns per exit, {per_s} exits/s; status {status}",
        counts.hcalls,
        counts.console,
        counts.ticks,
        counts.other,
        elapsed.as_micros()
    );
    Ok(status)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut device = "/dev/papr-nested".to_string();
    let mut papr_cap = false;
    let mut vcpus = 1u64;
    let mut program = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--kvm" => {
                device = "/dev/kvm".to_string();
                papr_cap = true;
            }
            "--device" => device = it.next().unwrap_or_default(),
            "--vcpus" => vcpus = it.next().and_then(|n| n.parse().ok()).unwrap_or(0),
            _ => program = Some(a),
        }
    }
    let (Some(program), 1..) = (program, vcpus) else {
        eprintln!("usage: papr-vmm [--kvm | --device PATH] [--vcpus N] PROGRAM.{{bin,elf}}");
        std::process::exit(2);
    };
    match run(&device, papr_cap, vcpus, &program) {
        Ok(status) => std::process::exit(status),
        Err(e) => {
            eprintln!("papr-vmm: {e}");
            std::process::exit(1);
        }
    }
}
