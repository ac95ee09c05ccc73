// SPDX-License-Identifier: GPL-2.0

//! papr-vmm: loads an L2 program, a flat binary at guest real 0 or a
//! 64-bit little-endian ELF at its physical addresses, and runs it
//! through KVM's ABI, on `/dev/papr-nested` (default) or `/dev/kvm`
//! (`--kvm`), serving its hypervisor calls (tools/l2/papr.h): the console
//! from stdin and to stdout, its exit status as ours. At the end it prints
//! the exits by reason and the time per exit.
//!
//! ```text
//! papr-vmm [--kvm | --device PATH] [--vcpus N] [--snapshot-at EXITS FILE] PROGRAM.{bin,elf}
//! papr-vmm [--device PATH] --restore FILE
//! ```
//!
//! `--snapshot-at` stops each vCPU after that many exits and saves the
//! VM's and the vCPUs' snapshots (our ioctls, `asm/papr-nested.h`) and
//! the memory to FILE; `--restore` makes a new VM from FILE and runs on
//! (Documentation/kvm-api.rst, "The VMM").
//!
//! With `--vcpus N`, N vCPUs run the program, each on a thread of its own,
//! each starting with GPR3 = its id; the status is the highest of theirs.

#[path = "../../kvm-sys/hcall_inst.rs"]
mod hcall_inst;
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
    /// vCPU `id`, with its `kvm_run` mapped (and, for kvm-hv, PAPR
    /// enabled): registers as the kernel made them.
    fn create(vm: &OwnedFd, id: u64, run_size: usize, papr_cap: bool) -> Fallible<Vcpu> {
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
        Ok(Vcpu { fd, run })
    }

    /// Starts the vCPU at `entry` in real mode, little-endian, with GPR3 =
    /// `id`.
    fn start_at(&self, id: u64, entry: u64) -> Fallible<()> {
        let mut regs = kvm::kvm_regs {
            pc: entry,
            // 64-bit, little-endian, real mode.
            msr: 1 << 63 | 1,
            ..Default::default()
        };
        regs.gpr[3] = id;
        ioctl_ptr(
            self.fd.as_raw_fd(),
            kvm::KVM_SET_REGS,
            &regs,
            "KVM_SET_REGS",
        )?;
        Ok(())
    }

    /// Runs the vCPU until its program exits (`Some(status)`) or, with
    /// `stop_after`, until it has made that many exits (`None`): the last
    /// exit's answer is then put into its registers (KVM_RUN with
    /// `immediate_exit`), so that its state can be saved as it stands.
    fn run(&self, stop_after: Option<u64>) -> Fallible<(Option<i32>, Counts)> {
        let mut counts = Counts::default();
        let mut out = std::io::stdout();
        let status = loop {
            if stop_after.is_some_and(|n| counts.hcalls + counts.other >= n) {
                self.settle()?;
                break None;
            }
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
                        kvm::RPN_H_VMM_EXIT => break Some(h.args[0] as i32),
                        _ => h.ret = kvm::RPN_H_FUNCTION as u64,
                    }
                }
                kvm::KVM_EXIT_MMIO => {
                    counts.other += 1;
                    // SAFETY: the exit reason says which member is filled.
                    let m = unsafe { &r.__bindgen_anon_1.mmio };
                    let what = if m.is_write != 0 { "write" } else { "read" };
                    eprintln!(
                        "papr-vmm: MMIO {what} of {} bytes at {:#x}: the VMM has no device there",
                        m.len, m.phys_addr
                    );
                    break Some(128 + 3);
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
                    break Some(128 + 3);
                }
                other => {
                    eprintln!("papr-vmm: unexpected exit reason {other}");
                    break Some(128 + 4);
                }
            }
        };
        Ok((status, counts))
    }

    /// Has the kernel put the last hypervisor call's answer into the
    /// registers without running: KVM_RUN with `immediate_exit`, which
    /// returns `-EINTR` (KVM's way to finish an exit before saving).
    fn settle(&self) -> Fallible<()> {
        // SAFETY: this vCPU's kvm_run page; KVM_RUN is not running.
        unsafe { (*self.run).immediate_exit = 1 };
        // SAFETY: an integer argument: the kernel reads no memory of ours.
        let r = unsafe { ioctl(self.fd.as_raw_fd(), u64::from(kvm::KVM_RUN), 0u64) };
        let errno = Error::last_os_error().raw_os_error();
        // SAFETY: as above.
        unsafe { (*self.run).immediate_exit = 0 };
        if r != -1 || errno != Some(4) {
            return Err(format!("KVM_RUN with immediate_exit: {r}, {errno:?}"));
        }
        Ok(())
    }

    /// FNV-1a of `struct kvm_regs`: the registers the program ends with.
    fn regs_digest(&self) -> Fallible<u64> {
        let mut regs = kvm::kvm_regs::default();
        // SAFETY: `regs` is a live struct the kernel writes.
        let r = unsafe {
            ioctl(
                self.fd.as_raw_fd(),
                u64::from(kvm::KVM_GET_REGS),
                &mut regs as *mut kvm::kvm_regs,
            )
        };
        if r < 0 {
            return Err(format!("KVM_GET_REGS: {}", Error::last_os_error()));
        }
        let words = [
            regs.pc, regs.cr, regs.ctr, regs.lr, regs.xer, regs.msr, regs.srr0, regs.srr1,
            regs.pid, regs.sprg0, regs.sprg1, regs.sprg2, regs.sprg3,
        ];
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for b in words
            .iter()
            .chain(regs.gpr.iter())
            .flat_map(|w| w.to_le_bytes())
        {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        Ok(h)
    }
}

/// One of our state ioctls (`asm/papr-nested.h`) on `fd` with `buf`:
/// the bytes it left there.
fn state_call(fd: &OwnedFd, request: u32, buf: &mut [u8], what: &str) -> Fallible<usize> {
    let mut a = kvm::papr_nested_state {
        buf: buf.as_mut_ptr() as u64,
        len: buf.len() as u32,
        ..Default::default()
    };
    // SAFETY: `a` is live and names `buf`, live and `len` bytes long.
    let r = unsafe { ioctl(fd.as_raw_fd(), u64::from(request), &mut a as *mut _) };
    if r < 0 {
        return Err(format!(
            "{what}: {} (element {}, ID {:#06x}, reason {})",
            Error::last_os_error(),
            a.err_index,
            a.err_id,
            a.err_reason
        ));
    }
    Ok(a.len as usize)
}

/// A snapshot of `fd` (the VM's or a vCPU's).
fn snapshot(fd: &OwnedFd, what: &str) -> Fallible<Vec<u8>> {
    let mut buf = vec![0u8; 64 << 10];
    let len = state_call(fd, kvm::PAPR_NESTED_SNAPSHOT, &mut buf, what)?;
    buf.truncate(len);
    Ok(buf)
}

/// H_GUEST_GET_STATE and H_GUEST_SET_STATE calls the kernel has counted
/// (CONFIG_HCALL_STATS), where debugfs shows them; 0 otherwise.
fn state_hcalls() -> u64 {
    hcall_inst::calls(&[0x478, 0x47C]).unwrap_or(0)
}

/// papr-vmm's save file: what `--snapshot-at` writes and `--restore`
/// reads. Little-endian:
///
/// ```text
/// "PVMM" | version u32 (1) | vCPUs u32 | 0 u32 | memory bytes u64
/// | VM snapshot: bytes u32, bytes
/// | per vCPU: exited u32 (0 or 1) | status i32 | snapshot bytes u32, bytes
/// | the memory
/// ```
///
/// The snapshots are the module's (`PAPR_NESTED_SNAPSHOT`), checked by it
/// on restore; an exited vCPU has none.
struct SaveFile {
    vm: Vec<u8>,
    vcpus: Vec<(Option<i32>, Vec<u8>)>,
    memory: Vec<u8>,
}

impl SaveFile {
    const MAGIC: &'static [u8; 4] = b"PVMM";

    fn write(&self, path: &str) -> Fallible<()> {
        let mut f = Vec::new();
        f.extend_from_slice(Self::MAGIC);
        for w in [1u32, self.vcpus.len() as u32, 0] {
            f.extend_from_slice(&w.to_le_bytes());
        }
        f.extend_from_slice(&(self.memory.len() as u64).to_le_bytes());
        f.extend_from_slice(&(self.vm.len() as u32).to_le_bytes());
        f.extend_from_slice(&self.vm);
        for (status, snap) in &self.vcpus {
            f.extend_from_slice(&u32::from(status.is_some()).to_le_bytes());
            f.extend_from_slice(&status.unwrap_or(0).to_le_bytes());
            f.extend_from_slice(&(snap.len() as u32).to_le_bytes());
            f.extend_from_slice(snap);
        }
        f.extend_from_slice(&self.memory);
        std::fs::write(path, f).map_err(|e| format!("{path}: {e}"))
    }

    fn read(path: &str) -> Fallible<SaveFile> {
        let f = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        let mut at = 0;
        let mut take = |n: usize| -> Fallible<&[u8]> {
            let b = f.get(at..at + n).ok_or(format!("{path}: truncated"))?;
            at += n;
            Ok(b)
        };
        let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if take(4)? != Self::MAGIC || word(take(4)?) != 1 {
            return Err(format!("{path}: not a papr-vmm save file of version 1"));
        }
        let vcpus = word(take(4)?);
        take(4)?;
        let mut m = [0u8; 8];
        m.copy_from_slice(take(8)?);
        let mem_len = u64::from_le_bytes(m) as usize;
        let n = word(take(4)?) as usize;
        let vm = take(n)?.to_vec();
        let mut list = Vec::new();
        for _ in 0..vcpus {
            let exited = word(take(4)?) != 0;
            let status = word(take(4)?) as i32;
            let n = word(take(4)?) as usize;
            list.push((exited.then_some(status), take(n)?.to_vec()));
        }
        let memory = take(mem_len)?.to_vec();
        Ok(SaveFile {
            vm,
            vcpus: list,
            memory,
        })
    }
}

/// What to do: run a program, and maybe save it after some exits, or
/// restore a saved one and run it on.
enum Start {
    Program {
        path: String,
        snapshot_at: Option<(u64, String)>,
    },
    Restore(String),
}

fn run(device: &str, papr_cap: bool, vcpus_wanted: u64, start: &Start) -> Fallible<i32> {
    let mem_size = kvm::RPN_L2_MEM_SIZE as usize;
    let saved = match start {
        Start::Restore(path) => Some(SaveFile::read(path)?),
        Start::Program { .. } => None,
    };
    let vcpus_wanted = saved
        .as_ref()
        .map_or(vcpus_wanted, |s| s.vcpus.len() as u64);
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
    let mem = map(mem_size, None, "guest memory")?;
    // SAFETY: `mem` is `mem_size` fresh bytes of ours, mapped for the
    // process's life; this is the only reference to them the VMM keeps.
    let memory = unsafe { std::slice::from_raw_parts_mut(mem, mem_size) };
    let entry = match (start, &saved) {
        (Start::Program { path, .. }, _) => {
            let code = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
            load(&code, memory).map_err(|e| format!("{path}: {e}"))?
        }
        (Start::Restore(path), Some(s)) => {
            if s.memory.len() != mem_size {
                return Err(format!(
                    "{path}: {} bytes of memory, not {mem_size}",
                    s.memory.len()
                ));
            }
            memory.copy_from_slice(&s.memory);
            0
        }
        (Start::Restore(_), None) => unreachable!(),
    };
    let vm = new_fd(
        dev.as_raw_fd(),
        kvm::KVM_CREATE_VM,
        kvm::KVM_VM_PPC_HV.into(),
        "KVM_CREATE_VM",
    )?;
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
        vcpus.push(Vcpu::create(&vm, id, run_size as usize, papr_cap)?);
    }
    // Whether each vCPU runs, or had exited with a status when saved.
    let mut done: Vec<Option<i32>> = vec![None; vcpus.len()];
    match &saved {
        None => {
            for (id, v) in vcpus.iter().enumerate() {
                v.start_at(id as u64, entry)?;
            }
        }
        Some(s) => {
            // The guest's state once its vCPUs exist (QEMU's L0 applies a
            // guest-wide TB offset to the vCPUs it has), then each vCPU's.
            let (t, hcalls) = (Instant::now(), state_hcalls());
            let mut ioctls = 1;
            let mut vm_snap = s.vm.clone();
            state_call(
                &vm,
                kvm::PAPR_NESTED_RESTORE,
                &mut vm_snap,
                "restoring the VM",
            )?;
            for (i, (v, (status, snap))) in vcpus.iter().zip(&s.vcpus).enumerate() {
                done[i] = *status;
                if status.is_none() {
                    let mut snap = snap.clone();
                    state_call(
                        &v.fd,
                        kvm::PAPR_NESTED_RESTORE,
                        &mut snap,
                        "restoring a vCPU",
                    )?;
                    ioctls += 1;
                }
            }
            eprintln!(
                "papr-vmm: restored {} vCPUs and the guest's state with {ioctls} ioctls, {} H_GUEST_{{GET,SET}}_STATE, in {} us",
                vcpus.len(),
                state_hcalls() - hcalls,
                t.elapsed().as_micros()
            );
        }
    }
    let stop_after = match start {
        Start::Program {
            snapshot_at: Some((n, _)),
            ..
        } => Some(*n),
        _ => None,
    };
    let began = Instant::now();
    let results: Vec<Fallible<(Option<i32>, Counts)>> = std::thread::scope(|s| {
        let handles: Vec<_> = vcpus
            .iter()
            .zip(&done)
            .map(|(v, d)| {
                let d = *d;
                s.spawn(move || match d {
                    Some(st) => Ok((Some(st), Counts::default())),
                    None => v.run(stop_after),
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a vCPU thread panicked".into()))
            })
            .collect()
    });
    let elapsed = began.elapsed();
    let mut counts = Counts::default();
    let mut ended = Vec::new();
    for r in results {
        let (st, c) = r?;
        ended.push(st);
        counts.hcalls += c.hcalls;
        counts.console += c.console;
        counts.ticks += c.ticks;
        counts.other += c.other;
    }
    let exits = counts.hcalls + counts.other;
    let per_exit_ns = elapsed.as_nanos() / u128::from(exits.max(1));
    let per_s = (u128::from(exits) * 1_000_000_000) / elapsed.as_nanos().max(1);
    let status = ended.iter().flatten().copied().max().unwrap_or(0);
    eprintln!(
        "papr-vmm: {vcpus_wanted} vCPUs, {exits} exits ({} hypervisor calls: {} console, {} ticks; {} other) in {} us: {per_exit_ns} ns per exit, {per_s} exits/s; status {status}",
        counts.hcalls,
        counts.console,
        counts.ticks,
        counts.other,
        elapsed.as_micros()
    );
    if let Start::Program {
        snapshot_at: Some((n, path)),
        ..
    } = start
    {
        let (t, hcalls) = (Instant::now(), state_hcalls());
        let vm_snap = snapshot(&vm, "the VM's snapshot")?;
        let mut list = Vec::new();
        for (v, st) in vcpus.iter().zip(&ended) {
            let snap = match st {
                Some(_) => Vec::new(),
                None => snapshot(&v.fd, "a vCPU's snapshot")?,
            };
            list.push((*st, snap));
        }
        let us = t.elapsed().as_micros();
        let hcalls = state_hcalls() - hcalls;
        let ioctls = 1 + ended.iter().filter(|s| s.is_none()).count();
        let vcpu_bytes = list.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
        SaveFile {
            vm: vm_snap.clone(),
            vcpus: list,
            memory: memory.to_vec(),
        }
        .write(path)?;
        eprintln!(
            "papr-vmm: saved after {n} exits per vCPU: {} vCPUs ({vcpu_bytes} bytes of state each), the guest's {} bytes, with {ioctls} ioctls, {hcalls} H_GUEST_{{GET,SET}}_STATE, in {us} us; {mem_size} bytes of memory, to {path}",
            vcpus.len(),
            vm_snap.len()
        );
        return Ok(0);
    }
    for (i, (v, st)) in vcpus.iter().zip(&ended).enumerate() {
        if done[i].is_none() && st.is_some() {
            eprintln!("papr-vmm: vCPU {i} registers {:#018x}", v.regs_digest()?);
        }
    }
    Ok(status)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut device = "/dev/papr-nested".to_string();
    let mut papr_cap = false;
    let mut vcpus = 1u64;
    let mut program = None;
    let mut snapshot_at = None;
    let mut restore = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--kvm" => {
                device = "/dev/kvm".to_string();
                papr_cap = true;
            }
            "--device" => device = it.next().unwrap_or_default(),
            "--vcpus" => vcpus = it.next().and_then(|n| n.parse().ok()).unwrap_or(0),
            "--snapshot-at" => {
                let n = it.next().and_then(|n| n.parse::<u64>().ok());
                snapshot_at = n.zip(it.next());
                if snapshot_at.is_none() {
                    vcpus = 0;
                }
            }
            "--restore" => restore = it.next(),
            _ => program = Some(a),
        }
    }
    let start = match (program, restore) {
        (Some(path), None) if vcpus > 0 => Start::Program { path, snapshot_at },
        (None, Some(file)) if snapshot_at.is_none() => Start::Restore(file),
        _ => {
            eprintln!(
                "usage: papr-vmm [--kvm | --device PATH] [--vcpus N] [--snapshot-at EXITS FILE] PROGRAM.{{bin,elf}}\n       papr-vmm [--device PATH] --restore FILE"
            );
            std::process::exit(2);
        }
    };
    match run(&device, papr_cap, vcpus, &start) {
        Ok(status) => std::process::exit(status),
        Err(e) => {
            eprintln!("papr-vmm: {e}");
            std::process::exit(1);
        }
    }
}
