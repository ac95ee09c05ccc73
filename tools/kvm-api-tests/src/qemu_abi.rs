// SPDX-License-Identifier: GPL-2.0

//! The cases of what QEMU's pseries machine asks of KVM's ABI
//! (/work/shared/reference/qemu-on-kvm-hv.md): the capabilities, the MMU
//! and processor ioctls, the segment registers, the ONE_REG IDs it syncs,
//! `KVM_INTERRUPT` and the hypervisor calls the kernel answers. Where
//! kvm-hv is loaded in the L1 (`/dev/kvm`), the same program runs against
//! it too, and the answers are compared: ours should be kvm-hv's, but for
//! the differences each case names.

use super::*;
use std::sync::{mpsc, Once};
use std::time::{Duration, Instant};

/// kvm-hv's device, where it is loaded.
const KVM_HV: &str = "/dev/kvm";

/// Whether kvm-hv is there to compare with.
fn kvm_hv() -> bool {
    std::path::Path::new(KVM_HV).exists()
}

/// The devices a comparison runs on: ours first, then kvm-hv's.
fn devices() -> Vec<&'static str> {
    let mut d = vec![DEVICE];
    if kvm_hv() {
        d.push(KVM_HV);
    } else {
        println!("# no {KVM_HV}: only {DEVICE} is checked");
    }
    d
}

/// PAPR statuses.
const H_SUCCESS: u64 = 0;
const H_PARAMETER: u64 = -4i64 as u64;
const H_RESOURCE: u64 = -16i64 as u64;
const H_P3: u64 = -56i64 as u64;

/// Hypervisor call numbers (asm/hvcall.h).
const H_REGISTER_VPA: u64 = 0xdc;
const H_LOGICAL_CI_LOAD: u64 = 0x3c;
const H_SET_MODE: u64 = 0x31c;

/// MSR bits the programs run with.
const MSR_SF: u64 = 1 << 63;
const MSR_LE: u64 = 1;
const MSR_EE: u64 = 0x8000;
const MSR_FP: u64 = 0x2000;
const MSR_VEC: u64 = 0x200_0000;
const MSR_VSX: u64 = 0x80_0000;

/// `ioctl(fd, request, buf)` for a request that writes a struct of
/// `len` bytes: the bytes it wrote, or the errno.
fn ioctl_out(fd: &OwnedFd, request: u32, len: usize) -> Result<Vec<u8>, i32> {
    let mut b = vec![0u8; len];
    // SAFETY: `b` is `len` writable bytes, the size of the struct the
    // request writes.
    let r = unsafe { ioctl(fd.as_raw_fd(), u64::from(request), b.as_mut_ptr()) };
    if r < 0 {
        return Err(Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    Ok(b)
}

/// A `T` (plain integers) from the first bytes of `b`.
fn from_bytes<T: Copy>(b: &[u8]) -> T {
    assert!(b.len() >= std::mem::size_of::<T>());
    // SAFETY: `b` holds at least a `T`'s bytes (asserted), and every `T`
    // this is used for is integers only, for which any bytes are a value.
    unsafe { b.as_ptr().cast::<T>().read_unaligned() }
}

/// A VM of the device at `path`, and the device.
fn vm_of(path: &str) -> Result<(File, OwnedFd), String> {
    let dev = device_at(path).map_err(|e| format!("{path}: {e}"))?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("{path}: KVM_CREATE_VM: errno {e}"))?;
    Ok((dev, vm))
}

/// A VM of the device at `path` with vCPU 0 (a PAPR guest, as QEMU makes
/// it), and the device.
fn vcpu_of(path: &str) -> Result<(File, OwnedFd, OwnedFd), String> {
    let (dev, vm) = vm_of(path)?;
    let vcpu = create_vcpu(&vm, 0).map_err(|e| format!("{path}: KVM_CREATE_VCPU: errno {e}"))?;
    let papr = kvm::kvm_enable_cap {
        cap: kvm::KVM_CAP_PPC_PAPR,
        ..Default::default()
    };
    kvm_ioctl_ptr(vcpu.as_raw_fd(), kvm::KVM_ENABLE_CAP, &papr)
        .map_err(|e| format!("{path}: KVM_ENABLE_CAP(PAPR): errno {e}"))?;
    Ok((dev, vm, vcpu))
}

/// Where kvm-hv's answer is not ours, and why.
type Difference = (u32, &'static str);

/// The capabilities where we answer other than kvm-hv (nestedv2 on this
/// L1), and why. QEMU 7.2 takes each of these answers: it falls back (or
/// does without) for every 0 here.
const CAP_DIFFERENCES: [Difference; 15] = [
    (
        kvm::KVM_CAP_SYNC_MMU,
        "slots are pinned: a later change of the VMM's mapping does not reach the L2",
    ),
    (
        kvm::KVM_CAP_IRQFD,
        "no in-kernel interrupt controller to route to",
    ),
    (
        kvm::KVM_CAP_SET_GUEST_DEBUG,
        "no guest debugging (gdbstub only)",
    ),
    (
        kvm::KVM_CAP_SPAPR_TCE,
        "TCE tables stay in QEMU, which falls back",
    ),
    (kvm::KVM_CAP_SPAPR_TCE_64, "as SPAPR_TCE"),
    (kvm::KVM_CAP_SPAPR_TCE_VFIO, "as SPAPR_TCE"),
    (
        kvm::KVM_CAP_PPC_HTAB_FD,
        "no hashed page table: the L2 is radix",
    ),
    (kvm::KVM_CAP_SPAPR_RESIZE_HPT, "no hashed page table"),
    (
        kvm::KVM_CAP_PPC_RPT_INVALIDATE,
        "H_RPT_INVALIDATE is not answered in the kernel",
    ),
    (kvm::KVM_CAP_BINARY_STATS_FD, "no statistics fd"),
    (
        kvm::KVM_CAP_IRQ_XICS,
        "no in-kernel XICS: QEMU emulates the controller",
    ),
    (
        kvm::KVM_CAP_PPC_RTAS,
        "no in-kernel RTAS (that is for the in-kernel XICS)",
    ),
    (
        kvm::KVM_CAP_DEVICE_CTRL,
        "no KVM devices (the in-kernel controllers)",
    ),
    (
        kvm::KVM_CAP_PPC_FIXUP_HCALL,
        "nothing to fix up: a PR/BookE feature",
    ),
    (
        kvm::KVM_CAP_MAX_VCPU_ID,
        "kvm-hv's ids count virtual SMT threads (8 x NR_CPUS); ours NR_CPUS",
    ),
];

/// `KVM_CHECK_EXTENSION(cap)` on `fd` (a device or VM fd).
fn check(fd: RawFd, cap: u32) -> Result<i32, i32> {
    kvm_ioctl(fd, kvm::KVM_CHECK_EXTENSION, cap.into())
}

/// What we answer to `KVM_CHECK_EXTENSION(cap)`: as `capability::check`.
#[derive(Clone, Copy)]
enum Want {
    Is(i32),
    /// `min(online CPUs, NR_CPUS)`.
    OnlineCpus,
    /// `NR_CPUS` (CONFIG_NR_CPUS).
    NrCpus,
}

/// Every capability QEMU 7.2 asks of kvm-hv (in its order), and the ones
/// that are implemented, with what we answer.
const CAPS: [(&str, u32, Want); 65] = [
    ("IMMEDIATE_EXIT", kvm::KVM_CAP_IMMEDIATE_EXIT, Want::Is(1)),
    ("NR_MEMSLOTS", kvm::KVM_CAP_NR_MEMSLOTS, Want::Is(32767)),
    (
        "MULTI_ADDRESS_SPACE",
        kvm::KVM_CAP_MULTI_ADDRESS_SPACE,
        Want::Is(0),
    ),
    ("NR_VCPUS", kvm::KVM_CAP_NR_VCPUS, Want::OnlineCpus),
    ("MAX_VCPUS", kvm::KVM_CAP_MAX_VCPUS, Want::NrCpus),
    ("USER_MEMORY", kvm::KVM_CAP_USER_MEMORY, Want::Is(1)),
    (
        "DESTROY_MEMORY_REGION_WORKS",
        kvm::KVM_CAP_DESTROY_MEMORY_REGION_WORKS,
        Want::Is(1),
    ),
    (
        "JOIN_MEMORY_REGIONS_WORKS",
        kvm::KVM_CAP_JOIN_MEMORY_REGIONS_WORKS,
        Want::Is(1),
    ),
    ("COALESCED_MMIO", kvm::KVM_CAP_COALESCED_MMIO, Want::Is(0)),
    (
        "MANUAL_DIRTY_LOG_PROTECT2",
        kvm::KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
        Want::Is(0),
    ),
    (
        "X86_ROBUST_SINGLESTEP",
        kvm::KVM_CAP_X86_ROBUST_SINGLESTEP,
        Want::Is(0),
    ),
    ("NESTED_STATE", kvm::KVM_CAP_NESTED_STATE, Want::Is(0)),
    ("SIGNAL_MSI", kvm::KVM_CAP_SIGNAL_MSI, Want::Is(0)),
    ("PCI_2_3", kvm::KVM_CAP_PCI_2_3, Want::Is(0)),
    (
        "IRQ_INJECT_STATUS",
        kvm::KVM_CAP_IRQ_INJECT_STATUS,
        Want::Is(0),
    ),
    ("READONLY_MEM", kvm::KVM_CAP_READONLY_MEM, Want::Is(0)),
    ("IOEVENTFD", kvm::KVM_CAP_IOEVENTFD, Want::Is(1)),
    ("IRQFD", kvm::KVM_CAP_IRQFD, Want::Is(0)),
    ("IRQFD_RESAMPLE", kvm::KVM_CAP_IRQFD_RESAMPLE, Want::Is(0)),
    ("VM_ATTRIBUTES", kvm::KVM_CAP_VM_ATTRIBUTES, Want::Is(0)),
    (
        "IOEVENTFD_ANY_LENGTH",
        kvm::KVM_CAP_IOEVENTFD_ANY_LENGTH,
        Want::Is(1),
    ),
    ("SET_GUEST_DEBUG", kvm::KVM_CAP_SET_GUEST_DEBUG, Want::Is(0)),
    (
        "SET_GUEST_DEBUG2",
        kvm::KVM_CAP_SET_GUEST_DEBUG2,
        Want::Is(0),
    ),
    ("PPC_UNSET_IRQ", kvm::KVM_CAP_PPC_UNSET_IRQ, Want::Is(1)),
    ("PPC_SEGSTATE", kvm::KVM_CAP_PPC_SEGSTATE, Want::Is(1)),
    ("PPC_BOOKE_SREGS", kvm::KVM_CAP_PPC_BOOKE_SREGS, Want::Is(0)),
    (
        "PPC_SMT_POSSIBLE",
        kvm::KVM_CAP_PPC_SMT_POSSIBLE,
        Want::Is(15),
    ),
    ("SPAPR_TCE", kvm::KVM_CAP_SPAPR_TCE, Want::Is(0)),
    ("SPAPR_TCE_64", kvm::KVM_CAP_SPAPR_TCE_64, Want::Is(0)),
    ("SPAPR_MULTITCE", kvm::KVM_CAP_SPAPR_MULTITCE, Want::Is(1)),
    ("SPAPR_TCE_VFIO", kvm::KVM_CAP_SPAPR_TCE_VFIO, Want::Is(0)),
    ("ONE_REG", kvm::KVM_CAP_ONE_REG, Want::Is(1)),
    ("PPC_HIOR", kvm::KVM_CAP_PPC_HIOR, Want::Is(1)),
    ("PPC_EPR", kvm::KVM_CAP_PPC_EPR, Want::Is(0)),
    (
        "PPC_BOOKE_WATCHDOG",
        kvm::KVM_CAP_PPC_BOOKE_WATCHDOG,
        Want::Is(0),
    ),
    ("PPC_HTAB_FD", kvm::KVM_CAP_PPC_HTAB_FD, Want::Is(0)),
    ("PPC_FIXUP_HCALL", kvm::KVM_CAP_PPC_FIXUP_HCALL, Want::Is(0)),
    ("PPC_SMT", kvm::KVM_CAP_PPC_SMT, Want::Is(1)),
    ("PPC_HTM", kvm::KVM_CAP_PPC_HTM, Want::Is(0)),
    ("PPC_MMU_RADIX", kvm::KVM_CAP_PPC_MMU_RADIX, Want::Is(1)),
    ("PPC_MMU_HASH_V3", kvm::KVM_CAP_PPC_MMU_HASH_V3, Want::Is(0)),
    ("PPC_IRQ_XIVE", kvm::KVM_CAP_PPC_IRQ_XIVE, Want::Is(0)),
    (
        "SPAPR_RESIZE_HPT",
        kvm::KVM_CAP_SPAPR_RESIZE_HPT,
        Want::Is(0),
    ),
    (
        "PPC_GET_CPU_CHAR",
        kvm::KVM_CAP_PPC_GET_CPU_CHAR,
        Want::Is(1),
    ),
    ("PPC_NESTED_HV", kvm::KVM_CAP_PPC_NESTED_HV, Want::Is(0)),
    ("PPC_FWNMI", kvm::KVM_CAP_PPC_FWNMI, Want::Is(1)),
    ("PPC_IRQ_LEVEL", kvm::KVM_CAP_PPC_IRQ_LEVEL, Want::Is(1)),
    (
        "PPC_RPT_INVALIDATE",
        kvm::KVM_CAP_PPC_RPT_INVALIDATE,
        Want::Is(0),
    ),
    ("IRQCHIP", kvm::KVM_CAP_IRQCHIP, Want::Is(0)),
    ("S390_IRQCHIP", kvm::KVM_CAP_S390_IRQCHIP, Want::Is(0)),
    ("SYNC_MMU", kvm::KVM_CAP_SYNC_MMU, Want::Is(0)),
    ("BINARY_STATS_FD", kvm::KVM_CAP_BINARY_STATS_FD, Want::Is(0)),
    ("IRQ_XICS", kvm::KVM_CAP_IRQ_XICS, Want::Is(0)),
    ("PPC_RTAS", kvm::KVM_CAP_PPC_RTAS, Want::Is(0)),
    ("DEVICE_CTRL", kvm::KVM_CAP_DEVICE_CTRL, Want::Is(0)),
    ("MAX_VCPU_ID", kvm::KVM_CAP_MAX_VCPU_ID, Want::NrCpus),
    (
        "PPC_GET_SMMU_INFO",
        kvm::KVM_CAP_PPC_GET_SMMU_INFO,
        Want::Is(1),
    ),
    ("PPC_GET_PVINFO", kvm::KVM_CAP_PPC_GET_PVINFO, Want::Is(0)),
    // Not asked by QEMU 7.2, but implemented (or not) here.
    (
        "INTERNAL_ERROR_DATA",
        kvm::KVM_CAP_INTERNAL_ERROR_DATA,
        Want::Is(1),
    ),
    ("PPC_PAPR", kvm::KVM_CAP_PPC_PAPR, Want::Is(1)),
    (
        "PPC_ENABLE_HCALL",
        kvm::KVM_CAP_PPC_ENABLE_HCALL,
        Want::Is(1),
    ),
    ("PPC_DAWR1", kvm::KVM_CAP_PPC_DAWR1, Want::Is(1)),
    ("ENABLE_CAP", kvm::KVM_CAP_ENABLE_CAP, Want::Is(1)),
    (
        "CHECK_EXTENSION_VM",
        kvm::KVM_CAP_CHECK_EXTENSION_VM,
        Want::Is(1),
    ),
    ("ENABLE_CAP_VM", kvm::KVM_CAP_ENABLE_CAP_VM, Want::Is(1)),
];

/// The CPUs in a sysfs CPU list file such as `0-3,6`.
fn cpus_in(path: &str) -> Result<i32, String> {
    let s = fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut n = 0;
    for range in s.trim().split(',') {
        let (a, b) = range.split_once('-').unwrap_or((range, range));
        let a: i32 = a.parse().map_err(|e| format!("{path}: {e}"))?;
        let b: i32 = b.parse().map_err(|e| format!("{path}: {e}"))?;
        n += b - a + 1;
    }
    Ok(n)
}

pub(crate) fn capabilities_qemu_asks() -> Verdict {
    let online = cpus_in("/sys/devices/system/cpu/online")?;
    // The highest CPU id the kernel allows: NR_CPUS - 1.
    let max = "/sys/devices/system/cpu/kernel_max";
    let max = fs::read_to_string(max).map_err(|e| format!("{max}: {e}"))?;
    let nr_cpus = max.trim().parse::<i32>().map_err(|e| e.to_string())? + 1;
    let (dev, vm) = vm_of(DEVICE)?;
    let hv = if kvm_hv() {
        Some(vm_of(KVM_HV)?)
    } else {
        println!("# capabilities_qemu_asks: no {KVM_HV}, nothing to compare with");
        None
    };
    let mut differences = Vec::new();
    for (name, cap, want) in CAPS {
        let want = match want {
            Want::Is(n) => n,
            Want::OnlineCpus => online.min(nr_cpus),
            Want::NrCpus => nr_cpus,
        };
        let ours = check(dev.as_raw_fd(), cap);
        expect(&format!("{name} ({cap}) on the device"), ours, Ok(want))?;
        expect(
            &format!("{name} ({cap}) on the VM fd"),
            check(vm.as_raw_fd(), cap),
            Ok(want),
        )?;
        let Some((hv_dev, hv_vm)) = &hv else {
            continue;
        };
        // QEMU takes the VM fd's answer where it asks one.
        let theirs = check(hv_vm.as_raw_fd(), cap);
        let theirs_dev = check(hv_dev.as_raw_fd(), cap);
        let listed = CAP_DIFFERENCES.iter().find(|(c, _)| *c == cap);
        match listed {
            None if theirs != ours => {
                return Err(format!(
                    "{name} ({cap}): ours {ours:?}, kvm-hv's {theirs:?} (device fd {theirs_dev:?}), and no reason is given"
                ))
            }
            Some(_) if theirs == ours => {
                return Err(format!(
                    "{name} ({cap}): listed as a difference, but kvm-hv answers {theirs:?} too"
                ))
            }
            Some((_, why)) => differences.push(format!("{name} {ours:?}/{theirs:?} ({why})")),
            None => {}
        }
    }
    if hv.is_some() {
        println!(
            "# capabilities_qemu_asks: {} capabilities, the same as kvm-hv's but {} (ours/kvm-hv's):",
            CAPS.len(),
            differences.len()
        );
        for d in differences {
            println!("#   {d}");
        }
    }
    Ok(())
}

/// Fails unless `ours` and `theirs`, the bytes a request gave on each
/// device, are the same.
fn same_bytes(what: &str, ours: &[u8], theirs: &[u8]) -> Verdict {
    if ours == theirs {
        return Ok(());
    }
    let at = ours
        .iter()
        .zip(theirs)
        .position(|(a, b)| a != b)
        .unwrap_or(0);
    Err(format!(
        "{what}: ours and kvm-hv's differ from byte {at}: ours {:02x?}, kvm-hv's {:02x?}",
        &ours[at..ours.len().min(at + 16)],
        &theirs[at..theirs.len().min(at + 16)]
    ))
}

pub(crate) fn mmu_info_as_kvm_hv() -> Verdict {
    let requests: [(&str, u32, usize); 3] = [
        (
            "KVM_PPC_GET_SMMU_INFO",
            kvm::KVM_PPC_GET_SMMU_INFO,
            std::mem::size_of::<kvm::kvm_ppc_smmu_info>(),
        ),
        (
            "KVM_PPC_GET_RMMU_INFO",
            kvm::KVM_PPC_GET_RMMU_INFO,
            std::mem::size_of::<kvm::kvm_ppc_rmmu_info>(),
        ),
        (
            "KVM_PPC_GET_CPU_CHAR",
            kvm::KVM_PPC_GET_CPU_CHAR,
            std::mem::size_of::<kvm::kvm_ppc_cpu_char>(),
        ),
    ];
    let mut answers: Vec<Vec<Vec<u8>>> = Vec::new();
    for path in devices() {
        let (_dev, vm) = vm_of(path)?;
        let mut got = Vec::new();
        for (what, req, len) in requests {
            got.push(ioctl_out(&vm, req, len).map_err(|e| format!("{path}: {what}: errno {e}"))?);
        }
        answers.push(got);
    }
    let ours = &answers[0];
    // What QEMU's kvm_check_mmu requires, and kvm-hv nested answers
    // (kvm_vm_ioctl_get_smmu_info_hv): real-mode sizes, 1T segments, no
    // HPT; a 32-entry SLB; 4K, 64K and 16M base pages.
    let smmu: kvm::kvm_ppc_smmu_info = from_bytes(&ours[0]);
    expect("SMMU flags", smmu.flags, 7)?;
    expect(
        "SMMU slb_size and keys",
        (smmu.slb_size, smmu.data_keys, smmu.instr_keys),
        (32, 32, 32),
    )?;
    let sps: Vec<(u32, u32, u32, u32)> = smmu
        .sps
        .iter()
        .map(|s| {
            (
                s.page_shift,
                s.slb_enc,
                s.enc[0].page_shift,
                s.enc[0].pte_enc,
            )
        })
        .collect();
    expect(
        "SMMU segment page sizes",
        &sps[..4],
        &[
            (12, 0, 12, 0),
            (16, 0x110, 16, 1),
            (24, 0x100, 24, 0),
            (0, 0, 0, 0),
        ][..],
    )?;
    let rmmu: kvm::kvm_ppc_rmmu_info = from_bytes(&ours[1]);
    expect(
        "RMMU geometries",
        [
            (rmmu.geometries[0].page_shift, rmmu.geometries[0].level_bits),
            (rmmu.geometries[1].page_shift, rmmu.geometries[1].level_bits),
        ],
        [(12, [9, 9, 9, 13]), (16, [5, 9, 9, 13])],
    )?;
    let cc: kvm::kvm_ppc_cpu_char = from_bytes(&ours[2]);
    println!(
        "# mmu_info_as_kvm_hv: CPU_CHAR character {:#x} behaviour {:#x}; RMMU AP {:#x?}",
        cc.character, cc.behaviour, rmmu.ap_encodings
    );
    // QEMU's L0 answers H_GET_CPU_CHARACTERISTICS: kvm-hv's masks.
    expect(
        "CPU_CHAR masks",
        (cc.character_mask, cc.behaviour_mask),
        (0xff40_0000_0000_0000, 0xe400_0000_0000_0000),
    )?;
    if let Some(theirs) = answers.get(1) {
        for (i, (what, _, _)) in requests.iter().enumerate() {
            same_bytes(what, &ours[i], &theirs[i])?;
        }
    }
    Ok(())
}

/// Runs `r` until its next exit, which must be hypervisor call `nr`: its
/// arguments (GPR4-GPR12).
fn marker(r: &Running, nr: u64) -> Result<[u64; 9], String> {
    let k = r.run().map_err(|e| format!("KVM_RUN: errno {e}"))?;
    hcall_exit(k, nr)
}

/// The arguments of the hypervisor call `k` exited with, which must be
/// `nr`; an error saying what the exit was otherwise.
fn hcall_exit(k: &kvm::kvm_run, nr: u64) -> Result<[u64; 9], String> {
    if k.exit_reason != kvm::KVM_EXIT_PAPR_HCALL {
        // SAFETY: plain integers, whichever member is filled.
        let d = unsafe { k.__bindgen_anon_1.internal.data };
        return Err(format!(
            "exit reason {}, want the call {nr:#x} (internal data {:#x?})",
            k.exit_reason,
            &d[..3]
        ));
    }
    // SAFETY: the exit reason says which member is filled.
    let h = unsafe { k.__bindgen_anon_1.papr_hcall };
    if h.nr != nr {
        return Err(format!(
            "call {:#x} ({:#x?}), want {nr:#x}",
            h.nr,
            &h.args[..4]
        ));
    }
    Ok(h.args)
}

impl Running {
    /// Copies `b` into guest real `at` of the slot.
    fn write(&self, at: u64, b: &[u8]) -> Verdict {
        if at + b.len() as u64 > PAGE {
            return Err(format!("{at:#x} is outside the slot"));
        }
        // SAFETY: within the slot's page of ours (checked above); the L2
        // is not running, and it is plain memory.
        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), (self.mem + at) as *mut u8, b.len()) };
        Ok(())
    }

    /// The bytes at guest real `at` of the slot.
    fn read<const N: usize>(&self, at: u64) -> Result<[u8; N], String> {
        if at + N as u64 > PAGE {
            return Err(format!("{at:#x} is outside the slot"));
        }
        let mut b = [0u8; N];
        // SAFETY: as in `write`, the other way.
        unsafe { std::ptr::copy_nonoverlapping((self.mem + at) as *const u8, b.as_mut_ptr(), N) };
        Ok(b)
    }

    /// Sets `bits` in the vCPU's LPCR: ILE, for its interrupts to be taken
    /// little-endian (as QEMU sets for a little-endian guest's
    /// H_SET_MODE), LD for the large decrementer.
    fn set_lpcr(&self, bits: u64) -> Verdict {
        let lpcr = kvm::KVM_REG_PPC_LPCR_64;
        let l = get_u64(&self.vcpu, lpcr).map_err(|e| format!("get LPCR: errno {e}"))?;
        set_one(&self.vcpu, lpcr, &(l | bits).to_ne_bytes())
            .map_err(|e| format!("set LPCR: errno {e}"))?;
        expect(
            "LPCR after",
            get_u64(&self.vcpu, lpcr).map(|v| v & bits),
            Ok(bits),
        )
    }

    /// Sets the MSR (and the GPRs of `gprs`) of the ready vCPU.
    fn set_msr(&self, msr: u64, gprs: &[(usize, u64)]) -> Verdict {
        let mut regs = get_regs(&self.vcpu).map_err(|e| format!("KVM_GET_REGS: errno {e}"))?;
        regs.msr = msr;
        for (i, v) in gprs {
            regs.gpr[*i] = *v;
        }
        set_regs(&self.vcpu, &regs).map_err(|e| format!("KVM_SET_REGS: errno {e}"))?;
        Ok(())
    }
}

/// The L2's view of VSR0, VSR1 and VR0 (VSR32), and a VSR and a VR it
/// sets (tools assembled with powerpc64le-linux-gnu-as -mpower10).
const VSX_PROGRAM: [u32; 12] = [
    0x7c040066, // mfvsrd 4, 0
    0x7c050266, // mfvsrld 5, 0
    0x7c260066, // mfvsrd 6, 1
    0x7c270266, // mfvsrld 7, 1
    0x7c080067, // mfvsrd 8, 32
    0x7c090267, // mfvsrld 9, 32
    0x7c4a5b66, // mtvsrdd 2, 10, 11
    0x7c2a5b67, // mtvsrdd 33, 10, 11
    0x3c600000, // lis 3, 0
    0x6063f0a0, // ori 3, 3, 0xf0a0
    0x44000022, // sc 1
    0x48000000, // b .
];

/// A 128-bit ONE_REG value: `first` in bytes 0-7, `second` in 8-15.
fn v128(first: u64, second: u64) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&first.to_ne_bytes());
    v[8..].copy_from_slice(&second.to_ne_bytes());
    v
}

pub(crate) fn vsx_layout_as_kvm_hv() -> Verdict {
    let (r10, r11) = (0x1010_1010_1010_1010, 0x1111_1111_1111_1111);
    let set = [
        (
            kvm::KVM_REG_PPC_VSR0,
            v128(0x0a00_0000_0000_0001, 0x0b00_0000_0000_0002),
        ),
        (
            kvm::KVM_REG_PPC_VSR0 + 1,
            v128(0x0a01_0000_0000_0003, 0x0b01_0000_0000_0004),
        ),
        (
            kvm::KVM_REG_PPC_VR0,
            v128(0x0c00_0000_0000_0005, 0x0d00_0000_0000_0006),
        ),
    ];
    let mut seen = Vec::new();
    for path in devices() {
        let r = running_on(path, &[(0, &VSX_PROGRAM)], 0)?;
        r.set_msr(
            MSR_SF | MSR_LE | MSR_FP | MSR_VEC | MSR_VSX,
            &[(10, r10), (11, r11)],
        )
        .map_err(|e| format!("{path}: {e}"))?;
        for (id, v) in &set {
            set_one(&r.vcpu, *id, v).map_err(|e| format!("{path}: set {id:#x}: errno {e}"))?;
        }
        let a = marker(&r, 0xf0a0).map_err(|e| format!("{path}: {e}"))?;
        let mut vsr2 = [0u8; 16];
        let mut vr1 = [0u8; 16];
        get_one(&r.vcpu, kvm::KVM_REG_PPC_VSR0 + 2, &mut vsr2)
            .map_err(|e| format!("{path}: get VSR2: errno {e}"))?;
        get_one(&r.vcpu, kvm::KVM_REG_PPC_VR0 + 1, &mut vr1)
            .map_err(|e| format!("{path}: get VR1: errno {e}"))?;
        println!(
            "# vsx_layout_as_kvm_hv: {path}: the L2 read {:#x?}; VSR2 {vsr2:02x?}",
            &a[..6]
        );
        seen.push((a[..6].to_vec(), vsr2, vr1));
    }
    // KVM's layout on little-endian: the 16 bytes are the register as a
    // native 128-bit integer, so the architected doubleword 0 (mfvsrd) is
    // bytes 8-15, doubleword 1 (mfvsrld) bytes 0-7.
    let ours = &seen[0];
    expect(
        "VSR0, VSR1, VR0 as the L2 read them (dw0, dw1 each)",
        ours.0.clone(),
        vec![
            0x0b00_0000_0000_0002,
            0x0a00_0000_0000_0001,
            0x0b01_0000_0000_0004,
            0x0a01_0000_0000_0003,
            0x0d00_0000_0000_0006,
            0x0c00_0000_0000_0005,
        ],
    )?;
    expect("VSR2 after mtvsrdd vs2, r10, r11", ours.1, v128(r11, r10))?;
    expect("VR1 after mtvsrdd vs33, r10, r11", ours.2, v128(r11, r10))?;
    if let Some(theirs) = seen.get(1) {
        expect("ours against kvm-hv's", ours, theirs)?;
    }
    Ok(())
}

/// A fixed marker call, then `sc 1` again (and `b .`): an exit, and
/// another with GPR3 = the first's `ret`.
const SC_TWICE: [u32; 5] = [
    0x3c600000, // lis 3, 0
    0x6063f0b0, // ori 3, 3, 0xf0b0
    0x44000022, // sc 1
    0x44000022, // sc 1
    0x48000000, // b .
];

pub(crate) fn regs_after_run() -> Verdict {
    let mut seen = Vec::new();
    for path in devices() {
        let r = running_on(path, &[(0, &SC_TWICE)], 0)?;
        marker(&r, 0xf0b0).map_err(|e| format!("{path}: {e}"))?;
        let regs = get_regs(&r.vcpu).map_err(|e| format!("{path}: KVM_GET_REGS: errno {e}"))?;
        // What QEMU does after every exit it syncs: the registers back as
        // they came.
        expect(
            &format!("{path}: KVM_SET_REGS of what KVM_GET_REGS gave"),
            set_regs(&r.vcpu, &regs),
            Ok(0),
        )?;
        set_one(&r.vcpu, kvm::KVM_REG_PPC_PID, &5u64.to_ne_bytes())
            .map_err(|e| format!("{path}: set PID: errno {e}"))?;
        let mut more = regs;
        more.msr |= MSR_HV | MSR_S | MSR_ME;
        more.pid = 0;
        expect(
            &format!("{path}: KVM_SET_REGS with MSR[HV], MSR[S], MSR[ME] and pid 0"),
            set_regs(&r.vcpu, &more),
            Ok(0),
        )?;
        let set = get_regs(&r.vcpu).map_err(|e| format!("{path}: KVM_GET_REGS: errno {e}"))?;
        let pid = get_u64(&r.vcpu, kvm::KVM_REG_PPC_PID);
        marker(&r, 0).map_err(|e| format!("{path}: the second call: {e}"))?;
        let after = get_regs(&r.vcpu).map_err(|e| format!("{path}: KVM_GET_REGS: errno {e}"))?;
        println!(
            "# regs_after_run: {path}: MSR after a run {:#x}, after the set {:#x}, after the next run {:#x}",
            regs.msr, set.msr, after.msr
        );
        let l0 = MSR_HV | MSR_S | MSR_ME;
        if path == DEVICE {
            // Ours drops the three (kvm-hv forces ME on in its own copy,
            // and drops it too on the way to the L0: kvmppc_gsid_mask).
            expect("MSR[HV|S|ME] after the set", set.msr & l0, 0)?;
            expect(
                "MSR[HV|S] after the next run",
                after.msr & (MSR_HV | MSR_S),
                0,
            )?;
            expect("PID after KVM_SET_REGS with pid 0", pid, Ok(5))?;
            expect("pid of KVM_GET_REGS", after.pid, 5)?;
        }
        seen.push((after.msr & l0, pid, after.pid));
    }
    if let Some(theirs) = seen.get(1) {
        expect(
            "MSR[HV|S|ME] after the run, PID, pid: ours against kvm-hv's",
            &seen[0],
            theirs,
        )?;
    }
    Ok(())
}

/// The L1's PVR, from /proc/cpuinfo ("revision : 2.0 (pvr 0080 0200)").
fn l1_pvr() -> Result<u32, String> {
    let s = fs::read_to_string("/proc/cpuinfo").map_err(|e| format!("/proc/cpuinfo: {e}"))?;
    let at = s.find("(pvr ").ok_or("no pvr in /proc/cpuinfo")?;
    let hex: String = s[at + 5..]
        .chars()
        .take_while(|c| *c != ')')
        .filter(|c| !c.is_whitespace())
        .collect();
    u32::from_str_radix(&hex, 16).map_err(|e| format!("pvr {hex}: {e}"))
}

/// `ioctl(fd, request, b)` for a request that reads a struct of bytes `b`.
fn ioctl_in(fd: &OwnedFd, request: u32, b: &[u8]) -> Result<i32, i32> {
    // SAFETY: `b` is live, and the size of the struct the request reads.
    let r = unsafe { ioctl(fd.as_raw_fd(), u64::from(request), b.as_ptr()) };
    if r < 0 {
        return Err(Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    Ok(r)
}

/// Where `struct kvm_sregs` has the book3s SLB: after the PVR (and the
/// union's alignment) and SDR1; 64 entries of ESID, VSID.
const SLB_AT: usize = 16;
/// `SLB_ESID_V`.
const SLB_VALID: u64 = 0x0800_0000;

pub(crate) fn sregs_as_kvm_hv() -> Verdict {
    let pvr = l1_pvr()?;
    let len = std::mem::size_of::<kvm::kvm_sregs>();
    let slb = [
        (0xc000_0000_0000_0000 | SLB_VALID, 0x4000_0000_1234_0500u64),
        (0x1000_0000, 0x777),
        (0x0000_0001_0000_0001 | SLB_VALID, 0x999),
    ];
    let mut seen = Vec::new();
    for path in devices() {
        let (_dev, _vm, vcpu) = vcpu_of(path)?;
        let got = ioctl_out(&vcpu, kvm::KVM_GET_SREGS, len)
            .map_err(|e| format!("{path}: KVM_GET_SREGS: errno {e}"))?;
        expect(
            &format!("{path}: the PVR of KVM_GET_SREGS, the L1's {pvr:#x}"),
            from_bytes::<u32>(&got),
            pvr,
        )?;
        // No other processor: neither kvm-hv nor the L0 can spoof one.
        let mut other = got.clone();
        other[..4].copy_from_slice(&(pvr ^ 1).to_ne_bytes());
        expect(
            &format!("{path}: KVM_SET_SREGS with another PVR"),
            ioctl_in(&vcpu, kvm::KVM_SET_SREGS, &other),
            Err(EINVAL),
        )?;
        let mut s = got.clone();
        for (i, (esid, vsid)) in slb.iter().enumerate() {
            let at = SLB_AT + 16 * i;
            s[at..at + 8].copy_from_slice(&esid.to_ne_bytes());
            s[at + 8..at + 16].copy_from_slice(&vsid.to_ne_bytes());
        }
        expect(
            &format!("{path}: KVM_SET_SREGS with 3 SLB entries"),
            ioctl_in(&vcpu, kvm::KVM_SET_SREGS, &s),
            Ok(0),
        )?;
        let back = ioctl_out(&vcpu, kvm::KVM_GET_SREGS, len)
            .map_err(|e| format!("{path}: KVM_GET_SREGS: errno {e}"))?;
        let entries: Vec<(u64, u64)> = (0..4)
            .map(|i| {
                let at = SLB_AT + 16 * i;
                (from_bytes(&back[at..]), from_bytes(&back[at + 8..]))
            })
            .collect();
        // The valid ones kept, in order; the invalid one dropped.
        expect(
            &format!("{path}: the SLB after"),
            entries,
            vec![slb[0], slb[2], (0, 0), (0, 0)],
        )?;
        seen.push(back);
    }
    if let Some(theirs) = seen.get(1) {
        same_bytes("KVM_GET_SREGS after the set", &seen[0], theirs)?;
    }
    Ok(())
}

/// The bytes of KVM register `id`, from the size its ID encodes.
fn reg_size(id: u64) -> usize {
    1 << ((id & kvm::KVM_REG_SIZE_MASK) >> kvm::KVM_REG_SIZE_SHIFT)
}

/// A register of any size (4, 8 or 16 bytes) as an integer.
fn get_val(fd: &OwnedFd, id: u64) -> Result<u128, i32> {
    let mut b = [0u8; 16];
    let n = reg_size(id);
    get_one(fd, id, &mut b[..n])?;
    Ok(match n {
        4 => u32::from_ne_bytes([b[0], b[1], b[2], b[3]]).into(),
        8 => u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]).into(),
        _ => u128::from_ne_bytes(b),
    })
}

/// Sets a register of any size to `v` (truncated to it).
fn set_val(fd: &OwnedFd, id: u64, v: u128) -> Result<i32, i32> {
    match reg_size(id) {
        4 => set_one(fd, id, &(v as u32).to_ne_bytes()),
        8 => set_one(fd, id, &(v as u64).to_ne_bytes()),
        _ => set_one(fd, id, &v.to_ne_bytes()),
    }
}

/// The 128-bit value of an address and a length (`vpaval`).
fn pair(addr: u64, len: u64) -> u128 {
    u128::from_ne_bytes(v128(addr, len))
}

/// A ONE_REG sequence on one vCPU: each step's result (a set's 0, a
/// get's value, or the errno), what we should give, and whether kvm-hv
/// should give the same.
struct Steps<'a> {
    fd: &'a OwnedFd,
    done: Vec<(String, Result<u128, i32>, Option<Result<u128, i32>>, bool)>,
}

impl Steps<'_> {
    fn record(&mut self, what: String, got: Result<u128, i32>, want: Option<Result<u128, i32>>) {
        self.done.push((what, got, want, true));
    }

    fn get(&mut self, what: &str, id: u64, want: Result<u128, i32>) {
        let got = get_val(self.fd, id);
        self.record(format!("get {what}"), got, Some(want));
    }

    /// A set: a success is recorded as 0.
    fn set(&mut self, what: &str, id: u64, v: u128, want: Result<(), i32>) {
        let got = set_val(self.fd, id, v).map(|_| 0);
        self.record(format!("set {what} {v:#x}"), got, Some(want.map(|()| 0)));
    }
}

/// `KVM_REG_PPC_LPCR_64` bits: DPFD, ILE, AIL, LD, and three userspace
/// may not change: HR, GTSE, TC.
const LPCR_DPFD: u64 = 7 << 52;
const LPCR_ILE: u64 = 0x0200_0000;
const LPCR_AIL: u64 = 0x0180_0000;
const LPCR_LD: u64 = 0x0002_0000;
const LPCR_HR: u64 = 0x0010_0000;
const LPCR_GTSE: u64 = 0x400;
const LPCR_TC: u64 = 0x200;

/// QEMU's ONE_REG sequence of the IDs new for it, on `fd`.
fn one_reg_steps(
    fd: &OwnedFd,
) -> Vec<(String, Result<u128, i32>, Option<Result<u128, i32>>, bool)> {
    let mut s = Steps {
        fd,
        done: Vec::new(),
    };
    // Registers kvm-hv keeps without the L0 (POWER8's, PSSCR, PTCR,
    // ONLINE): what was set, but the bits each keeps.
    let held: [(&str, u64, u128, u128); 10] = [
        (
            "SPMC1",
            kvm::KVM_REG_PPC_SPMC1,
            0x1122_3344,
            u32::MAX.into(),
        ),
        (
            "SPMC2",
            kvm::KVM_REG_PPC_SPMC2,
            0x5566_7788,
            u32::MAX.into(),
        ),
        (
            "MMCRS",
            kvm::KVM_REG_PPC_MMCRS,
            0x0123_4567_89ab_cdef,
            u64::MAX.into(),
        ),
        ("CSIGR", kvm::KVM_REG_PPC_CSIGR, 0xc516, u64::MAX.into()),
        ("TACR", kvm::KVM_REG_PPC_TACR, 0x7ac8, u64::MAX.into()),
        ("TCSCR", kvm::KVM_REG_PPC_TCSCR, 0x7c5c, u64::MAX.into()),
        ("ACOP", kvm::KVM_REG_PPC_ACOP, 0xac0b, u64::MAX.into()),
        (
            "PSSCR",
            kvm::KVM_REG_PPC_PSSCR,
            u64::MAX.into(),
            0xf000_0000_0000_03ff,
        ),
        ("PTCR", kvm::KVM_REG_PPC_PTCR, 0x1234_0000, u64::MAX.into()),
        ("ONLINE", kvm::KVM_REG_PPC_ONLINE, 1, u32::MAX.into()),
    ];
    for (what, id, v, mask) in held {
        s.set(what, id, v, Ok(()));
        s.get(what, id, Ok(v & mask));
    }
    s.set("ONLINE", kvm::KVM_REG_PPC_ONLINE, 0, Ok(()));
    // The VPA areas: kvm-hv's rules (a cache line aligned, the log and
    // the buffer after a VPA, the VPA kept while either is there).
    let (vpa, slb, dtl) = (
        kvm::KVM_REG_PPC_VPA_ADDR,
        kvm::KVM_REG_PPC_VPA_SLB,
        kvm::KVM_REG_PPC_VPA_DTL,
    );
    s.set(
        "VPA_SLB before a VPA",
        slb,
        pair(0x2000, 0x100),
        Err(EINVAL),
    );
    s.set("VPA_DTL before a VPA", dtl, pair(0x3000, 480), Err(EINVAL));
    s.set("VPA_ADDR misaligned", vpa, 0x1040, Err(EINVAL));
    s.set("VPA_ADDR", vpa, 0x1000, Ok(()));
    s.get("VPA_ADDR", vpa, Ok(0x1000));
    s.set("VPA_SLB misaligned", slb, pair(0x2010, 0x100), Err(EINVAL));
    s.set("VPA_SLB", slb, pair(0x2000, 0x100), Ok(()));
    s.get("VPA_SLB", slb, Ok(pair(0x2000, 0x100)));
    s.set(
        "VPA_DTL shorter than an entry",
        dtl,
        pair(0x3000, 40),
        Err(EINVAL),
    );
    s.set("VPA_DTL of 100 bytes", dtl, pair(0x3000, 100), Ok(()));
    s.get("VPA_DTL (whole entries)", dtl, Ok(pair(0x3000, 96)));
    s.set("VPA_ADDR 0 with the others there", vpa, 0, Err(EINVAL));
    s.get("VPA_ADDR after", vpa, Ok(0x1000));
    s.set("VPA_DTL", dtl, 0, Ok(()));
    s.set("VPA_SLB", slb, 0, Ok(()));
    s.get("VPA_DTL", dtl, Ok(0));
    s.set("VPA_ADDR alone", vpa, 0, Ok(()));
    s.get("VPA_ADDR", vpa, Ok(0));
    // HIOR: 0 only. DEBUG_INST: KVM's software breakpoint, read only.
    s.get("HIOR", kvm::KVM_REG_PPC_HIOR, Ok(0));
    s.set("HIOR", kvm::KVM_REG_PPC_HIOR, 0, Ok(()));
    s.set("HIOR", kvm::KVM_REG_PPC_HIOR, 0x1000, Err(EINVAL));
    s.get("DEBUG_INST", kvm::KVM_REG_PPC_DEBUG_INST, Ok(0x00dd_dd00));
    s.set("DEBUG_INST", kvm::KVM_REG_PPC_DEBUG_INST, 0, Err(EINVAL));
    // No transactional memory; no such ID.
    for (what, id) in [
        ("TFHAR", kvm::KVM_REG_PPC_TFHAR),
        ("TFIAR", kvm::KVM_REG_PPC_TFIAR),
        ("TEXASR", kvm::KVM_REG_PPC_TEXASR),
        (
            "an unknown ID",
            kvm::KVM_REG_PPC | kvm::KVM_REG_SIZE_U64 | 0x7fe,
        ),
    ] {
        s.get(what, id, Err(EINVAL));
        s.set(what, id, 0, Err(EINVAL));
    }
    // LPCR: a set changes DPFD, ILE, AIL (0 or 3 only) and LD, as
    // kvmppc_set_lpcr; the vCPUs' own values differ, so what is
    // compared is the bits that changed.
    let lpcr64 = kvm::KVM_REG_PPC_LPCR_64;
    let before = get_val(fd, lpcr64);
    s.done.push(("get LPCR_64".into(), before, None, false));
    let before = before.unwrap_or(0) as u64;
    let flip = LPCR_DPFD | LPCR_ILE | LPCR_LD | LPCR_HR | LPCR_GTSE | LPCR_TC;
    s.set("LPCR_64 (flipped)", lpcr64, (before ^ flip).into(), Ok(()));
    let changed = get_val(fd, lpcr64).map(|v| v ^ u128::from(before));
    s.record(
        "LPCR_64 bits changed".into(),
        changed,
        Some(Ok((LPCR_DPFD | LPCR_ILE | LPCR_LD).into())),
    );
    for ail in [3u64, 1, 2] {
        s.set(
            &format!("LPCR_64 with AIL {ail}"),
            lpcr64,
            ((before & !LPCR_AIL) | ail << 23).into(),
            Ok(()),
        );
        let got = get_val(fd, lpcr64).map(|v| v & u128::from(LPCR_AIL));
        let want = if ail == 3 { LPCR_AIL } else { 0 };
        s.record(
            format!("LPCR[AIL] after AIL {ail}"),
            got,
            Some(Ok(want.into())),
        );
    }
    s.set("LPCR_64 back", lpcr64, before.into(), Ok(()));
    let lpcr32 = kvm::KVM_REG_PPC_LPCR;
    let low = get_val(fd, lpcr32);
    s.done.push((
        "get LPCR (32-bit)".into(),
        low,
        Some(Ok((before & 0xffff_ffff).into())),
        false,
    ));
    s.set(
        "LPCR (32-bit, ILE and LD flipped)",
        lpcr32,
        ((before ^ (LPCR_ILE | LPCR_LD)) & 0xffff_ffff).into(),
        Ok(()),
    );
    let changed = get_val(fd, lpcr64).map(|v| v ^ u128::from(before));
    s.record(
        "LPCR_64 bits changed by the 32-bit set".into(),
        changed,
        Some(Ok((LPCR_ILE | LPCR_LD).into())),
    );
    s.set("LPCR_64 back", lpcr64, before.into(), Ok(()));
    // TB_OFFSET on the vCPU fd: rounded up to 2^24, as on POWER9 and
    // later. ARCH_COMPAT 0: the processor's own mode.
    let tb = kvm::KVM_REG_PPC_TB_OFFSET;
    s.set("TB_OFFSET", tb, 1, Ok(()));
    s.get("TB_OFFSET", tb, Ok(1 << 24));
    s.set("TB_OFFSET", tb, (5 << 24) + 1, Ok(()));
    s.get("TB_OFFSET", tb, Ok(6 << 24));
    s.set("TB_OFFSET", tb, 0, Ok(()));
    s.get("TB_OFFSET", tb, Ok(0));
    s.set("ARCH_COMPAT", kvm::KVM_REG_PPC_ARCH_COMPAT, 0, Ok(()));
    s.get("ARCH_COMPAT", kvm::KVM_REG_PPC_ARCH_COMPAT, Ok(0));
    s.done
}

pub(crate) fn one_reg_qemu_ids() -> Verdict {
    let mut seen = Vec::new();
    for path in devices() {
        let (_dev, _vm, vcpu) = vcpu_of(path)?;
        seen.push(one_reg_steps(&vcpu));
    }
    for (what, got, want, _) in &seen[0] {
        if let Some(want) = want {
            expect(what, got, want)?;
        }
    }
    if let Some(theirs) = seen.get(1) {
        for ((what, ours, _, compare), (_, theirs, _, _)) in seen[0].iter().zip(theirs) {
            if *compare {
                expect(&format!("{what}: ours against kvm-hv's"), ours, theirs)?;
            }
        }
        println!(
            "# one_reg_qemu_ids: {} steps, {} of them the same on kvm-hv",
            seen[0].len(),
            seen[0].iter().filter(|s| s.3).count()
        );
    }
    Ok(())
}

extern "C" {
    fn signal(sig: i32, handler: extern "C" fn(i32)) -> usize;
    fn siginterrupt(sig: i32, flag: i32) -> i32;
    fn pthread_self() -> u64;
    fn pthread_kill(thread: u64, sig: i32) -> i32;
}

/// `SIGUSR1` (QEMU's SIG_IPI, its kick of a vCPU thread).
const SIGUSR1: i32 = 10;

extern "C" fn no_op(_: i32) {}

/// A no-op `SIGUSR1` handler that interrupts system calls (no
/// `SA_RESTART`), as QEMU's.
fn catch_sigusr1() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: `no_op` is a handler that does nothing, safe to run at
        // any point; these calls change nothing else of the process.
        unsafe {
            signal(SIGUSR1, no_op);
            siginterrupt(SIGUSR1, 1);
        }
    });
}

/// What [`run_while`] saw: the `KVM_RUN` result, how long it took, and
/// whether the watchdog had to end it.
struct Timed {
    rc: Result<i32, i32>,
    took: Duration,
    watchdog: bool,
}

/// `KVM_RUN` of `r` on this thread, while another thread does `act`
/// after `after` (given this thread, to signal); if the run has not
/// returned `limit` after that, a watchdog ends it with `SIGUSR1`.
fn run_while(
    r: &Running,
    after: Duration,
    act: impl FnOnce(u64) + Send + 'static,
    limit: Duration,
) -> Result<Timed, String> {
    catch_sigusr1();
    // SAFETY: no arguments; it names this thread.
    let me = unsafe { pthread_self() };
    let (done, ended) = mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        std::thread::sleep(after);
        act(me);
        if ended.recv_timeout(limit).is_ok() {
            return false;
        }
        loop {
            // SAFETY: `me` is the thread in KVM_RUN, alive until `ended`
            // says it returned; the handler does nothing.
            unsafe { pthread_kill(me, SIGUSR1) };
            if ended.recv_timeout(Duration::from_millis(50)).is_ok() {
                return true;
            }
        }
    });
    let t0 = Instant::now();
    let rc = kvm_ioctl(r.vcpu.as_raw_fd(), kvm::KVM_RUN, 0);
    let took = t0.elapsed();
    let _ = done.send(());
    let watchdog = t.join().map_err(|_| "the helper thread panicked")?;
    Ok(Timed { rc, took, watchdog })
}

/// The mapped `kvm_run` of `r`, after a `KVM_RUN` returned.
fn kvm_run_of(r: &Running) -> &kvm::kvm_run {
    // SAFETY: the mapped kvm_run; KVM_RUN is not running.
    unsafe { &*r.run }
}

/// H_CONFER(-1), whose status the next call shows the VMM.
const CONFER_ANY: [u32; 9] = [
    0x386000e4, // li 3, 0xe4 (H_CONFER)
    0x3880ffff, // li 4, -1 (any vCPU)
    0x38a00000, // li 5, 0
    0x44000022, // sc 1
    0x7c641b78, // mr 4, 3
    0x3c600000, // lis 3, 0
    0x6063f0a1, // ori 3, 3, 0xf0a1
    0x44000022, // sc 1
    0x48000000, // b .
];

/// H_CONFER(99), H_PROD(99): no such vCPU.
const BAD_TARGET: [u32; 14] = [
    0x386000e4, // li 3, 0xe4 (H_CONFER)
    0x38800063, // li 4, 99
    0x38a00000, // li 5, 0
    0x44000022, // sc 1
    0x7c741b78, // mr 20, 3
    0x386000e8, // li 3, 0xe8 (H_PROD)
    0x38800063, // li 4, 99
    0x44000022, // sc 1
    0x7c651b78, // mr 5, 3
    0x7e84a378, // mr 4, 20
    0x3c600000, // lis 3, 0
    0x6063f0a2, // ori 3, 3, 0xf0a2
    0x44000022, // sc 1
    0x48000000, // b .
];

/// The decrementer 4 s ahead as QEMU's L0 reads it (see [`CEDE_WAKE`]),
/// then H_PROD of itself and H_CEDE, which the prod ends at once.
const PROD_CEDE: [u32; 15] = [
    0x3920ffff, // li 9, -1
    0x7929f824, // sldi 9, 9, 31
    0x7d3603a6, // mtdec 9 (-2^31)
    0x386000e8, // li 3, 0xe8 (H_PROD)
    0x38800000, // li 4, 0
    0x44000022, // sc 1
    0x7c741b78, // mr 20, 3
    0x386000e0, // li 3, 0xe0 (H_CEDE)
    0x44000022, // sc 1
    0x7c651b78, // mr 5, 3
    0x7e84a378, // mr 4, 20
    0x3c600000, // lis 3, 0
    0x6063f0a3, // ori 3, 3, 0xf0a3
    0x44000022, // sc 1
    0x48000000, // b .
];

/// The decrementer 1 ms ahead (512000 ticks), then H_CEDE, which it
/// ends.
const DEC_CEDE: [u32; 10] = [
    0x3d200007, // lis 9, 0x0007
    0x6129d000, // ori 9, 9, 0xd000
    0x7d3603a6, // mtdec 9
    0x386000e0, // li 3, 0xe0 (H_CEDE)
    0x44000022, // sc 1
    0x7c641b78, // mr 4, 3
    0x3c600000, // lis 3, 0
    0x6063f0a4, // ori 3, 3, 0xf0a4
    0x44000022, // sc 1
    0x48000000, // b .
];

/// At 0x900: the decrementer interrupt (H_CEDE left MSR[EE] on) makes
/// the decrementer positive (2^31 - 1: 4 s of 512 MHz) and returns.
const DEC_STUB: [u32; 4] = [
    0x3d207fff, // lis 9, 0x7fff
    0x6129ffff, // ori 9, 9, 0xffff
    0x7d3603a6, // mtdec 9
    0x4c000024, // rfid
];

/// The decrementer 4 s ahead, H_CEDE (a signal ends it), a marker call,
/// the decrementer ahead again, H_CEDE at [`CEDE_AT`] (an interrupt ends
/// it).
///
/// "4 s ahead" as QEMU's L0 reads it: its H_GUEST_RUN_VCPU reports the
/// L2's decrementer expiry as now - DEC (hw/ppc/spapr_nested.c,
/// `dec_expiry_tb = now - cpu_ppc_load_decr(env)`), so a positive DEC
/// reads as expired and a cede (ours or kvm-hv's) ends at once; a DEC of
/// -2^31, with LPCR[LD] (which makes it signed), reads as 2^31 ticks
/// ahead. The L2 takes its decrementer interrupt as soon as it enables
/// them, which [`DEC_STUB`] answers.
const CEDE_WAKE: [u32; 15] = [
    0x3920ffff, // li 9, -1
    0x7929f824, // sldi 9, 9, 31
    0x7d3603a6, // mtdec 9 (-2^31)
    0x386000e0, // li 3, 0xe0 (H_CEDE)
    0x44000022, // sc 1
    0x7c641b78, // mr 4, 3
    0x3c600000, // lis 3, 0
    0x6063f0a5, // ori 3, 3, 0xf0a5
    0x44000022, // sc 1
    0x3920ffff, // li 9, -1
    0x7929f824, // sldi 9, 9, 31
    0x7d3603a6, // mtdec 9
    0x386000e0, // li 3, 0xe0 (H_CEDE)
    0x44000022, // sc 1: CEDE_AT
    0x48000000, // b .
];
const CEDE_AT: u64 = 13 * 4;

/// At 0x500: the external interrupt shows the VMM SRR0 and SRR1 in a
/// marker call, then returns where it came from.
const EXTERNAL_STUB: [u32; 10] = [
    0x7e9a02a6, // mfsrr0 20
    0x7ebb02a6, // mfsrr1 21
    0x7e84a378, // mr 4, 20
    0x7ea5ab78, // mr 5, 21
    0x3c600000, // lis 3, 0
    0x6063f0a6, // ori 3, 3, 0xf0a6
    0x44000022, // sc 1
    0x7e9a03a6, // mtsrr0 20
    0x7ebb03a6, // mtsrr1 21
    0x4c000024, // rfid
];

/// Runs `code` (with the decrementer and external interrupt stubs) on
/// each device: the arguments of its marker call `nr`, which must be the
/// first exit (the calls before it answered in the kernel), and how long
/// the one `KVM_RUN` took.
fn statuses(code: &[u32], nr: u64) -> Result<Vec<(&'static str, [u64; 9], Duration)>, String> {
    let mut seen = Vec::new();
    for path in devices() {
        let r = running_on(
            path,
            &[(0, code), (0x500, &EXTERNAL_STUB), (0x900, &DEC_STUB)],
            0,
        )?;
        r.set_lpcr(LPCR_ILE | LPCR_LD)
            .map_err(|e| format!("{path}: {e}"))?;
        let t0 = Instant::now();
        let a = marker(&r, nr).map_err(|e| format!("{path}: {e}"))?;
        seen.push((path, a, t0.elapsed()));
    }
    Ok(seen)
}

pub(crate) fn hcall_confer_prod_in_kernel() -> Verdict {
    // One KVM_RUN each: the calls are answered inside it, and only the
    // marker after them comes out.
    let any = statuses(&CONFER_ANY, 0xf0a1)?;
    let bad = statuses(&BAD_TARGET, 0xf0a2)?;
    expect("H_CONFER(-1)", any[0].1[0], H_SUCCESS)?;
    expect(
        "H_CONFER(99), H_PROD(99)",
        (bad[0].1[0], bad[0].1[1]),
        (H_PARAMETER, H_PARAMETER),
    )?;
    if let (Some(a), Some(b)) = (any.get(1), bad.get(1)) {
        expect("H_CONFER(-1): kvm-hv's", a.1[0], any[0].1[0])?;
        expect(
            "H_CONFER(99), H_PROD(99): kvm-hv's",
            (b.1[0], b.1[1]),
            (bad[0].1[0], bad[0].1[1]),
        )?;
    }
    Ok(())
}

pub(crate) fn hcall_prod_then_cede() -> Verdict {
    let seen = statuses(&PROD_CEDE, 0xf0a3)?;
    for (path, a, took) in &seen {
        println!("# hcall_prod_then_cede: {path}: H_PROD, H_CEDE and back in {took:?}");
        expect(
            &format!("{path}: H_PROD(self), H_CEDE"),
            (a[0], a[1]),
            (H_SUCCESS, H_SUCCESS),
        )?;
        // The decrementer is 4 s ahead: only the prod ends the cede now.
        if *took > Duration::from_secs(2) {
            return Err(format!("{path}: the prodded cede took {took:?}"));
        }
    }
    Ok(())
}

/// (Under QEMU's L0 any positive decrementer reads as expired, see
/// [`CEDE_WAKE`]: the cede ends at once; with another L0, when it
/// expires.)
pub(crate) fn hcall_cede_until_dec() -> Verdict {
    let seen = statuses(&DEC_CEDE, 0xf0a4)?;
    for (path, a, took) in &seen {
        println!("# hcall_cede_until_dec: {path}: H_CEDE with the decrementer 1 ms ahead returned after {took:?}");
        expect(&format!("{path}: H_CEDE"), a[0], H_SUCCESS)?;
        if *took > Duration::from_secs(5) {
            return Err(format!("{path}: the cede took {took:?}"));
        }
    }
    Ok(())
}

pub(crate) fn hcall_cede_woken() -> Verdict {
    let r = running_on(
        DEVICE,
        &[(0, &CEDE_WAKE), (0x500, &EXTERNAL_STUB), (0x900, &DEC_STUB)],
        0,
    )?;
    r.set_lpcr(LPCR_ILE | LPCR_LD)?;
    let ms100 = Duration::from_millis(100);
    let limit = Duration::from_secs(5);
    // Ceded with nothing to wake it for 4 s: a signal ends KVM_RUN.
    let kill = |me: u64| {
        // SAFETY: `me` is the thread in KVM_RUN; the handler does nothing.
        unsafe { pthread_kill(me, SIGUSR1) };
    };
    let t = run_while(&r, ms100, kill, limit)?;
    println!(
        "# hcall_cede_woken: the ceded KVM_RUN ended by SIGUSR1 after {:?}",
        t.took
    );
    if t.rc.is_ok() {
        let exit = hcall_exit(kvm_run_of(&r), 0xf0a5).map(|a| a[0]);
        return Err(format!(
            "the ceded vCPU exited after {:?}, before the signal: {exit:x?}",
            t.took
        ));
    }
    expect("KVM_RUN of the ceded vCPU, signalled", t.rc, Err(EINTR))?;
    expect(
        "exit reason",
        kvm_run_of(&r).exit_reason,
        kvm::KVM_EXIT_INTR,
    )?;
    if t.took < Duration::from_millis(50) {
        return Err(format!(
            "the cede returned after {:?}, before the signal",
            t.took
        ));
    }
    // It resumes after its cede, with H_SUCCESS.
    let a = marker(&r, 0xf0a5)?;
    expect("H_CEDE after the signal", a[0], H_SUCCESS)?;
    // Ceded again: KVM_INTERRUPT from another thread wakes it, and the L2
    // takes the interrupt at once (H_CEDE set MSR[EE]).
    let vcpu = r.vcpu.as_raw_fd();
    let raise = move |_| {
        let irq = kvm::kvm_interrupt {
            irq: kvm::KVM_INTERRUPT_SET_LEVEL as u32,
        };
        let _ = kvm_ioctl_ptr(vcpu, kvm::KVM_INTERRUPT, &irq);
    };
    let t = run_while(&r, ms100, raise, limit)?;
    println!(
        "# hcall_cede_woken: the ceded KVM_RUN ended by KVM_INTERRUPT after {:?}",
        t.took
    );
    expect("the watchdog", t.watchdog, false)?;
    expect("KVM_RUN of the ceded vCPU, interrupted", t.rc, Ok(0))?;
    let a = hcall_exit(kvm_run_of(&r), 0xf0a6)?;
    expect("SRR0 of the interrupt", a[0], CEDE_AT + 4)?;
    expect("MSR[EE] in SRR1", a[1] & MSR_EE, MSR_EE)?;
    if t.took < Duration::from_millis(50) {
        return Err(format!(
            "the cede returned after {:?}, before the interrupt",
            t.took
        ));
    }
    let irq = kvm::kvm_interrupt {
        irq: kvm::KVM_INTERRUPT_UNSET as u32,
    };
    expect(
        "KVM_INTERRUPT_UNSET",
        kvm_ioctl_ptr(vcpu, kvm::KVM_INTERRUPT, &irq),
        Ok(0),
    )
}

/// H_REGISTER_VPA: a VPA at 0x2040 (not a cache line aligned), a DTL at
/// 0x3000 before any VPA, the VPA at 0x2000; their statuses in a marker
/// call, then another marker call.
const REGISTER_VPA: [u32; 30] = [
    0x386000dc, // li 3, 0xdc (H_REGISTER_VPA)
    0x38800001, // li 4, 1 (H_VPA_REG_VPA)
    0x78846c86, // sldi 4, 4, 45
    0x38a00000, // li 5, 0
    0x38c02040, // li 6, 0x2040
    0x44000022, // sc 1
    0x7c741b78, // mr 20, 3
    0x386000dc, // li 3, 0xdc
    0x38800002, // li 4, 2 (H_VPA_REG_DTL)
    0x78846c86, // sldi 4, 4, 45
    0x38a00000, // li 5, 0
    0x38c03000, // li 6, 0x3000
    0x44000022, // sc 1
    0x7c751b78, // mr 21, 3
    0x386000dc, // li 3, 0xdc
    0x38800001, // li 4, 1 (H_VPA_REG_VPA)
    0x78846c86, // sldi 4, 4, 45
    0x38a00000, // li 5, 0
    0x38c02000, // li 6, 0x2000
    0x44000022, // sc 1
    0x7e84a378, // mr 4, 20
    0x7ea5ab78, // mr 5, 21
    0x7c661b78, // mr 6, 3
    0x3c600000, // lis 3, 0
    0x6063f0a7, // ori 3, 3, 0xf0a7
    0x44000022, // sc 1
    0x3c600000, // lis 3, 0
    0x6063f0a8, // ori 3, 3, 0xf0a8
    0x44000022, // sc 1
    0x48000000, // b .
];

pub(crate) fn hcall_register_vpa() -> Verdict {
    let mut seen = Vec::new();
    for path in devices() {
        let r = running_on(path, &[(0, &REGISTER_VPA)], 0)?;
        // The areas' length fields: a VPA of 640 bytes (be16 at 4), a
        // DTL of 480 (be32 at 4).
        r.write(0x2004, &640u16.to_be_bytes())?;
        r.write(0x3004, &480u32.to_be_bytes())?;
        let a = marker(&r, 0xf0a7).map_err(|e| format!("{path}: {e}"))?;
        let vpa = get_u64(&r.vcpu, kvm::KVM_REG_PPC_VPA_ADDR);
        let first = u32::from_be_bytes(r.read::<4>(0x2100)?);
        marker(&r, 0xf0a8).map_err(|e| format!("{path}: {e}"))?;
        let second = u32::from_be_bytes(r.read::<4>(0x2100)?);
        println!(
            "# hcall_register_vpa: {path}: statuses {:#x?}, yield count {first} then {second}",
            &a[..3]
        );
        if path == DEVICE {
            expect(
                "H_REGISTER_VPA misaligned, DTL first, VPA",
                (a[0], a[1], a[2]),
                (H_PARAMETER, H_RESOURCE, H_SUCCESS),
            )?;
            expect("VPA_ADDR after", vpa, Ok(0x2000))?;
            // Out of KVM_RUN and back in between.
            if second <= first {
                return Err(format!("the yield count went from {first} to {second}"));
            }
        }
        seen.push(((a[0], a[1], a[2]), vpa));
    }
    if let Some(theirs) = seen.get(1) {
        expect("statuses and VPA_ADDR: kvm-hv's", theirs, &seen[0])?;
    }
    Ok(())
}

/// H_SET_MODE(0, CIABR, 0x1001), then with the hypervisor's privilege
/// (0x1003); their statuses in a marker call.
const SET_MODE_CIABR: [u32; 19] = [
    0x3860031c, // li 3, 0x31c (H_SET_MODE)
    0x38800000, // li 4, 0
    0x38a00001, // li 5, 1 (H_SET_MODE_RESOURCE_SET_CIABR)
    0x38c01001, // li 6, 0x1001
    0x38e00000, // li 7, 0
    0x44000022, // sc 1
    0x7c741b78, // mr 20, 3
    0x3860031c, // li 3, 0x31c
    0x38800000, // li 4, 0
    0x38a00001, // li 5, 1
    0x38c01003, // li 6, 0x1003
    0x38e00000, // li 7, 0
    0x44000022, // sc 1
    0x7c651b78, // mr 5, 3
    0x7e84a378, // mr 4, 20
    0x3c600000, // lis 3, 0
    0x6063f0a9, // ori 3, 3, 0xf0a9
    0x44000022, // sc 1
    0x48000000, // b .
];

/// `KVM_ENABLE_CAP(cap, args)` on `fd`.
fn enable_cap(fd: &OwnedFd, cap: u32, flags: u32, args: [u64; 2]) -> Result<i32, i32> {
    let mut c = kvm::kvm_enable_cap {
        cap,
        flags,
        ..Default::default()
    };
    c.args[..2].copy_from_slice(&args);
    kvm_ioctl_ptr(fd.as_raw_fd(), kvm::KVM_ENABLE_CAP, &c)
}

pub(crate) fn hcall_set_mode() -> Verdict {
    let mut seen = Vec::new();
    for path in devices() {
        // By default the VMM answers it.
        let r = running_on(path, &[(0, &SET_MODE_CIABR)], 0)?;
        let a = marker(&r, H_SET_MODE).map_err(|e| format!("{path}: by default: {e}"))?;
        expect(
            &format!("{path}: H_SET_MODE's arguments"),
            &a[..3],
            &[0, 1, 0x1001][..],
        )?;
        // Enabled, the kernel answers it.
        let r = running_on(path, &[(0, &SET_MODE_CIABR)], 0)?;
        expect(
            &format!("{path}: KVM_CAP_PPC_ENABLE_HCALL(H_SET_MODE)"),
            enable_cap(&r.vm, kvm::KVM_CAP_PPC_ENABLE_HCALL, 0, [H_SET_MODE, 1]),
            Ok(0),
        )?;
        let a = marker(&r, 0xf0a9).map_err(|e| format!("{path}: enabled: {e}"))?;
        let ciabr = get_u64(&r.vcpu, kvm::KVM_REG_PPC_CIABR);
        seen.push(((a[0], a[1]), ciabr));
    }
    expect(
        "H_SET_MODE(CIABR) statuses, then CIABR",
        seen[0],
        ((H_SUCCESS, H_P3), Ok(0x1001)),
    )?;
    // Not compared: kvm-hv answers H_P2 under QEMU's L0, which reports
    // the raw PVR as the logical PVR; kvm-hv takes it as its arch_compat
    // (book3s_hv_nestedv2.c), below PVR_ARCH_207: "not POWER8
    // compatible".
    if let Some(theirs) = seen.get(1) {
        println!("# hcall_set_mode: kvm-hv's statuses and CIABR: {theirs:x?}");
    }
    // What the kernel cannot answer cannot be enabled (kvm-hv answers
    // H_LOGICAL_CI_LOAD; we do not).
    let (_dev, vm) = vm_of(DEVICE)?;
    expect(
        "ENABLE_HCALL(H_LOGICAL_CI_LOAD)",
        enable_cap(
            &vm,
            kvm::KVM_CAP_PPC_ENABLE_HCALL,
            0,
            [H_LOGICAL_CI_LOAD, 1],
        ),
        Err(EINVAL),
    )?;
    expect(
        "ENABLE_HCALL(H_SET_MODE, 2)",
        enable_cap(&vm, kvm::KVM_CAP_PPC_ENABLE_HCALL, 0, [H_SET_MODE, 2]),
        Err(EINVAL),
    )?;
    expect(
        "ENABLE_HCALL(H_REGISTER_VPA, 0), off",
        enable_cap(&vm, kvm::KVM_CAP_PPC_ENABLE_HCALL, 0, [H_REGISTER_VPA, 0]),
        Ok(0),
    )
}

/// `KVM_ENABLE_CAP(KVM_CAP_PPC_SMT)` on a VM, as kvm-hv takes it on
/// POWER9 and later: threads per core a power of 2 up to 8, no flags
/// (`args[1]`), before any vCPU (`-EBUSY` after); the VM's
/// `KVM_CHECK_EXTENSION(PPC_SMT)` then answers it, the device's still 1.
/// The same answers from kvm-hv where it is loaded.
pub(crate) fn smt_mode() -> Verdict {
    const EBUSY: i32 = 16;
    let mut seen = Vec::new();
    for path in devices() {
        let (dev, vm) = vm_of(path)?;
        let smt = kvm::KVM_CAP_PPC_SMT;
        let got = vec![
            ("3 threads", enable_cap(&vm, smt, 0, [3, 0])),
            ("16 threads", enable_cap(&vm, smt, 0, [16, 0])),
            ("0 threads", enable_cap(&vm, smt, 0, [0, 0])),
            ("a flag in args[1]", enable_cap(&vm, smt, 0, [2, 1])),
            ("VM's answer before", check(vm.as_raw_fd(), smt)),
            ("2 threads", enable_cap(&vm, smt, 0, [2, 0])),
            ("VM's answer after", check(vm.as_raw_fd(), smt)),
            ("device's answer after", check(dev.as_raw_fd(), smt)),
            ("vCPU 0", create_vcpu(&vm, 0).map(|_| 0)),
            ("4 threads with a vCPU", enable_cap(&vm, smt, 0, [4, 0])),
        ];
        seen.push(got);
    }
    expect(
        "KVM_ENABLE_CAP(PPC_SMT)",
        &seen[0],
        &vec![
            ("3 threads", Err(EINVAL)),
            ("16 threads", Err(EINVAL)),
            ("0 threads", Err(EINVAL)),
            ("a flag in args[1]", Err(EINVAL)),
            ("VM's answer before", Ok(1)),
            ("2 threads", Ok(0)),
            ("VM's answer after", Ok(2)),
            ("device's answer after", Ok(1)),
            ("vCPU 0", Ok(0)),
            ("4 threads with a vCPU", Err(EBUSY)),
        ],
    )?;
    if let Some(theirs) = seen.get(1) {
        expect("kvm-hv's", theirs, &seen[0])?;
    }
    Ok(())
}

/// `KVM_PPC_CONFIGURE_V3_MMU` of `flags` and `process_table` on `vm`.
fn configure_mmu(vm: &OwnedFd, flags: u32, process_table: u64) -> Result<i32, i32> {
    let c = kvm::kvm_ppc_mmuv3_cfg {
        flags: flags.into(),
        process_table,
    };
    kvm_ioctl_ptr(vm.as_raw_fd(), kvm::KVM_PPC_CONFIGURE_V3_MMU, &c)
}

pub(crate) fn configure_v3_mmu() -> Verdict {
    const GR: u64 = 1 << 63;
    let radix = kvm::KVM_PPC_MMUV3_RADIX;
    let gtse = kvm::KVM_PPC_MMUV3_GTSE;
    // A 16 MiB process table (PRTS 12) at 16 MiB, in a slot there.
    let table = 16 << 20;
    let mut seen = Vec::new();
    for path in devices() {
        let (_dev, vm, vcpu) = vcpu_of(path)?;
        let mem = anon_memory(16 << 20)?;
        set_region(&vm, 0, 0, table, 16 << 20, mem)
            .map_err(|e| format!("{path}: slot: errno {e}"))?;
        let cases: [(&str, u32, u64); 6] = [
            ("hash (flags 0)", 0, table | 12),
            ("radix without GR", radix, table | 12),
            ("PRTS 25", radix | gtse, GR | table | 25),
            ("an unknown flag", radix | 4, GR | table | 12),
            ("radix and GTSE", radix | gtse, GR | table | 12),
            ("radix without GTSE", radix, GR | table | 12),
        ];
        let mut got = Vec::new();
        for (what, flags, pt) in cases {
            let rc = configure_mmu(&vm, flags, pt);
            // LPCR[GTSE] of the vCPU follows the flag.
            let lpcr = get_u64(&vcpu, kvm::KVM_REG_PPC_LPCR_64).map(|l| l & LPCR_GTSE);
            got.push((what, rc, if rc.is_ok() { Some(lpcr) } else { None }));
        }
        seen.push(got);
    }
    expect(
        "KVM_PPC_CONFIGURE_V3_MMU",
        &seen[0],
        &vec![
            ("hash (flags 0)", Err(EINVAL), None),
            ("radix without GR", Err(EINVAL), None),
            ("PRTS 25", Err(EINVAL), None),
            ("an unknown flag", Err(EINVAL), None),
            ("radix and GTSE", Ok(0), Some(Ok(LPCR_GTSE))),
            ("radix without GTSE", Ok(0), Some(Ok(0))),
        ],
    )?;
    if let Some(theirs) = seen.get(1) {
        expect("kvm-hv's", theirs, &seen[0])?;
    }
    Ok(())
}

pub(crate) fn enable_cap_qemu() -> Verdict {
    let (_dev, vm, vcpu) = vcpu_of(DEVICE)?;
    // kvm-hv takes FWNMI on the vCPU fd only; QEMU enables it there.
    expect(
        "FWNMI on the VM",
        enable_cap(&vm, kvm::KVM_CAP_PPC_FWNMI, 0, [0, 0]),
        Ok(0),
    )?;
    expect(
        "DAWR1 on the VM",
        enable_cap(&vm, kvm::KVM_CAP_PPC_DAWR1, 0, [1, 0]),
        Ok(0),
    )?;
    expect(
        "an unknown capability on the VM",
        enable_cap(&vm, 9999, 0, [0, 0]),
        Err(EINVAL),
    )?;
    expect(
        "FWNMI with a flag",
        enable_cap(&vm, kvm::KVM_CAP_PPC_FWNMI, 1, [0, 0]),
        Err(EINVAL),
    )?;
    expect(
        "FWNMI on the vCPU",
        enable_cap(&vcpu, kvm::KVM_CAP_PPC_FWNMI, 0, [0, 0]),
        Ok(0),
    )?;
    expect(
        "an unknown capability on the vCPU",
        enable_cap(&vcpu, kvm::KVM_CAP_PPC_SMT, 0, [1, 0]),
        Err(EINVAL),
    )
}

pub(crate) fn interrupt_while_running() -> Verdict {
    // `b .` with MSR[EE] on; the stub at 0x500 shows the interrupt (and
    // the one at 0x900 keeps the decrementer out of the way).
    let r = running_on(
        DEVICE,
        &[(0, &[B_SELF]), (0x500, &EXTERNAL_STUB), (0x900, &DEC_STUB)],
        0,
    )?;
    r.set_lpcr(LPCR_ILE)?;
    r.set_msr(MSR_SF | MSR_LE | MSR_EE, &[])?;
    let vcpu = r.vcpu.as_raw_fd();
    let raise = move |_| {
        let irq = kvm::kvm_interrupt {
            irq: kvm::KVM_INTERRUPT_SET_LEVEL as u32,
        };
        let _ = kvm_ioctl_ptr(vcpu, kvm::KVM_INTERRUPT, &irq);
    };
    let t = run_while(
        &r,
        Duration::from_millis(100),
        raise,
        Duration::from_secs(1),
    )?;
    println!(
        "# interrupt_while_running: the L2 took the interrupt {:?} into KVM_RUN (raised at 100 ms)",
        t.took
    );
    expect("the watchdog (1 s after KVM_INTERRUPT)", t.watchdog, false)?;
    expect("KVM_RUN", t.rc, Ok(0))?;
    let a = hcall_exit(kvm_run_of(&r), 0xf0a6)?;
    expect("SRR0: the `b .`", a[0], 0)?;
    expect("MSR[EE] in SRR1", a[1] & MSR_EE, MSR_EE)?;
    let irq = kvm::kvm_interrupt {
        irq: kvm::KVM_INTERRUPT_UNSET as u32,
    };
    expect(
        "KVM_INTERRUPT_UNSET",
        kvm_ioctl_ptr(vcpu, kvm::KVM_INTERRUPT, &irq),
        Ok(0),
    )?;
    // Back in `b .` with MSR[EE] on and the line low: no interrupt, until
    // the watchdog's signal ends the run 300 ms on.
    let t = run_while(&r, Duration::ZERO, |_| {}, Duration::from_millis(300))?;
    expect("KVM_RUN after KVM_INTERRUPT_UNSET", t.rc, Err(EINTR))?;
    expect("the watchdog ended it", t.watchdog, true)
}

extern "C" {
    fn eventfd(initval: u32, flags: i32) -> i32;
    fn read(fd: i32, buf: *mut u8, len: usize) -> isize;
}

/// `EFD_NONBLOCK` (asm-generic/fcntl.h's `O_NONBLOCK`, as on powerpc).
const EFD_NONBLOCK: i32 = 0o4000;
const EEXIST: i32 = 17;
const EBADF: i32 = 9;

/// An L2 program of loads and stores outside every slot (0x40000000 on),
/// assembled with binutils 2.44 (`powerpc64le-linux-gnu-as -mpower10`):
///
/// ```text
///  0 lis 9,0x4000        r9 = 0x40000000
///  4 li 4,0x1234
///  8 stw 4,0(9)          bound to eventfd A (4 bytes): no exit
///  c stw 4,0x100(9)      exit 1: a 4-byte write of 0x1234
/// 10 lwz 5,8(9)          exit 2: a 4-byte read, answered 0x12345678
/// 14 lhbrx 6,0,9         exit 3: a 2-byte read, byte-reversed
/// 18 li 7,5
/// 1c stw 7,0x200(9)      bound to eventfd B if 7: 5 is exit 4
/// 20 li 7,7
/// 24 stw 7,0x200(9)      B's value: no exit
/// 28 stdu 5,16(9)        exit 5: an 8-byte write; r9 = 0x40000010
/// 2c li 3,0x6000
/// 30 sc 1                exit 6: the marker, with r4-r12
/// ```
const MMIO_PROGRAM: [u32; 13] = [
    0x3d20_4000,
    0x3880_1234,
    0x9089_0000,
    0x9089_0100,
    0x80a9_0008,
    0x7cc0_4e2c,
    0x38e0_0005,
    0x90e9_0200,
    0x38e0_0007,
    0x90e9_0200,
    0xf8a9_0011,
    0x3860_6000,
    SC_1,
];

/// `KVM_IOEVENTFD` on `vm` with these values.
fn ioeventfd(
    vm: &OwnedFd,
    addr: u64,
    len: u32,
    fd: i32,
    flags: u32,
    datamatch: u64,
) -> Result<i32, i32> {
    let a = kvm::kvm_ioeventfd {
        datamatch,
        addr,
        len,
        fd,
        flags,
        ..Default::default()
    };
    kvm_ioctl_ptr(vm.as_raw_fd(), kvm::KVM_IOEVENTFD, &a)
}

/// A new non-blocking eventfd.
fn new_eventfd() -> Result<OwnedFd, String> {
    // SAFETY: `eventfd()` takes two integers and returns a new fd or -1.
    let fd = unsafe { eventfd(0, EFD_NONBLOCK) };
    if fd < 0 {
        return Err(format!("eventfd: {}", Error::last_os_error()));
    }
    // SAFETY: a new fd of ours, owned from here on.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The counter of eventfd `fd`, read (and so reset); 0 if it is 0.
fn eventfd_count(fd: &OwnedFd) -> u64 {
    let mut b = [0u8; 8];
    // SAFETY: `b` is 8 writable bytes; a read of a non-blocking eventfd
    // writes 8 or fails with EAGAIN.
    let n = unsafe { read(fd.as_raw_fd(), b.as_mut_ptr(), 8) };
    if n == 8 {
        u64::from_ne_bytes(b)
    } else {
        0
    }
}

/// What `KVM_RUN` gave, for an MMIO exit: (phys_addr, len, is_write, data).
fn mmio_exit(k: &kvm::kvm_run) -> Result<(u64, u32, u8, [u8; 8]), String> {
    if k.exit_reason != kvm::KVM_EXIT_MMIO {
        return Err(format!("exit reason {}, want KVM_EXIT_MMIO", k.exit_reason));
    }
    // SAFETY: the exit reason says which member is filled.
    let m = unsafe { k.__bindgen_anon_1.mmio };
    Ok((m.phys_addr, m.len, m.is_write, m.data))
}

/// [`MMIO_PROGRAM`] on the device at `path`: the exits it gives, each load
/// answered, the registers at the end, the eventfds' counts.
fn mmio_on(path: &str) -> Result<String, String> {
    let r = running_on(path, &[(0, &MMIO_PROGRAM)], 0)?;
    let a = new_eventfd()?;
    let b = new_eventfd()?;
    ioeventfd(&r.vm, 0x4000_0000, 4, a.as_raw_fd(), 0, 0)
        .map_err(|e| format!("{path}: assign A: errno {e}"))?;
    ioeventfd(
        &r.vm,
        0x4000_0200,
        4,
        b.as_raw_fd(),
        kvm::KVM_IOEVENTFD_FLAG_DATAMATCH,
        7,
    )
    .map_err(|e| format!("{path}: assign B: errno {e}"))?;
    let mut seen = String::new();
    let answers: [&[u8]; 3] = [&[], &0x1234_5678u32.to_le_bytes(), &[0xab, 0xcd]];
    for (i, answer) in answers.iter().enumerate() {
        let k = r
            .run()
            .map_err(|e| format!("{path}: KVM_RUN {}: errno {e}", i + 1))?;
        let (addr, len, write, data) =
            mmio_exit(k).map_err(|e| format!("{path}: exit {}: {e}", i + 1))?;
        // A read's data is the VMM's to fill: only a write's says anything.
        let shown = if write == 0 {
            &[][..]
        } else {
            &data[..len as usize]
        };
        seen += &format!("{addr:#x}/{len}/{write}/{shown:02x?} ");
        if write == 0 {
            // SAFETY: the exit reason says `mmio` is filled; the answer goes in its data.
            unsafe { k.__bindgen_anon_1.mmio.data[..answer.len()].copy_from_slice(answer) };
        }
    }
    for i in 4..=5 {
        let k = r
            .run()
            .map_err(|e| format!("{path}: KVM_RUN {i}: errno {e}"))?;
        let (addr, len, write, data) =
            mmio_exit(k).map_err(|e| format!("{path}: exit {i}: {e}"))?;
        seen += &format!("{addr:#x}/{len}/{write}/{:02x?} ", &data[..len as usize]);
    }
    let g = marker(&r, 0x6000).map_err(|e| format!("{path}: {e}"))?;
    seen += &format!("r5={:#x} r6={:#x} r9={:#x} ", g[1], g[2], g[5]);
    seen += &format!("A={} B={}", eventfd_count(&a), eventfd_count(&b));
    Ok(seen)
}

pub(crate) fn mmio_and_ioeventfd_as_kvm_hv() -> Verdict {
    let ours = mmio_on(DEVICE)?;
    let want = "0x40000100/4/1/[34, 12, 00, 00] 0x40000008/4/0/[] \
                0x40000000/2/0/[] 0x40000200/4/1/[05, 00, 00, 00] \
                0x40000010/8/1/[78, 56, 34, 12, 00, 00, 00, 00] \
                r5=0x12345678 r6=0xabcd r9=0x40000010 A=1 B=1";
    expect("the MMIO exits on ours", ours.as_str(), want)?;
    if kvm_hv() {
        let theirs = mmio_on("/dev/kvm")?;
        expect("the MMIO exits on kvm-hv", theirs.as_str(), ours.as_str())?;
    }
    Ok(())
}

/// `KVM_IOEVENTFD`'s checks, as KVM's `kvm_ioeventfd()`.
pub(crate) fn ioeventfd_refusals() -> Verdict {
    for path in devices() {
        let (_dev, vm) = vm_of(path)?;
        let e = new_eventfd()?;
        let fd = e.as_raw_fd();
        let datamatch = kvm::KVM_IOEVENTFD_FLAG_DATAMATCH;
        let deassign = kvm::KVM_IOEVENTFD_FLAG_DEASSIGN;
        let cases: [(&str, u64, u32, i32, u32, Result<i32, i32>); 9] = [
            ("length 3", 0x1000, 3, fd, 0, Err(EINVAL)),
            (
                "length 0 with a data match",
                0x1000,
                0,
                fd,
                datamatch,
                Err(EINVAL),
            ),
            ("an unknown flag", 0x1000, 4, fd, 1 << 7, Err(EINVAL)),
            ("not an fd", 0x1000, 4, -1, 0, Err(EBADF)),
            ("wrapping", u64::MAX - 1, 4, fd, 0, Err(EINVAL)),
            ("a binding", 0x1000, 4, fd, 0, Ok(0)),
            ("the same again", 0x1000, 4, fd, 0, Err(EEXIST)),
            (
                "deassigning one never made",
                0x2000,
                4,
                fd,
                deassign,
                Err(ENOENT),
            ),
            ("deassigning it", 0x1000, 4, fd, deassign, Ok(0)),
        ];
        for (what, addr, len, fd, flags, want) in cases {
            expect(
                &format!("{path}: {what}"),
                ioeventfd(&vm, addr, len, fd, flags, 0),
                want,
            )?;
        }
        let pio = kvm::KVM_IOEVENTFD_FLAG_PIO;
        expect(
            &format!("{path}: a port I/O binding"),
            ioeventfd(&vm, 0x10, 2, fd, pio, 0),
            Ok(0),
        )?;
        expect(
            &format!("{path}: deassigning it"),
            ioeventfd(&vm, 0x10, 2, fd, pio | deassign, 0),
            Ok(0),
        )?;
    }
    Ok(())
}

/// An MMIO access no emulator takes: `lwarx 5,0,9` (a load and reserve)
/// at 0x40000000, outside every slot (`lis 9,0x4000` first; binutils
/// 2.44). As kvm-hv (`kvmppc_emulate_mmio()`, `EMULATE_FAIL`): a data
/// storage interrupt in the L2, with DAR the address, DSISR
/// `DSISR_BADACCESS` (a load), SRR0 the instruction, SRR1 its MSR, on
/// both devices; never a hang, never a guess, never a VMM left with an
/// emulation error (QEMU stops the VM on one). Its handler
/// (`LWARX_HANDLER`, at 0x300, with LPCR[ILE] set so that it runs
/// little-endian) passes SRR0, SRR1, DAR and DSISR to a marker call,
/// whose `sc 1` sets SRR0 and SRR1 again.
const LWARX_OUTSIDE: [u32; 2] = [0x3d20_4000, 0x7ca0_4828];
const LWARX_HANDLER: [u32; 6] = [
    0x7c9a_02a6, // mfsrr0 4
    0x7cbb_02a6, // mfsrr1 5
    0x7cd3_02a6, // mfdar 6
    0x7cf2_02a6, // mfdsisr 7
    0x3860_7e00, // li 3, 0x7e00 (no hypervisor call: the VMM's)
    SC_1,
];

pub(crate) fn mmio_not_emulated() -> Verdict {
    for path in devices() {
        let r = running_on(path, &[(0, &LWARX_OUTSIDE), (0x300, &LWARX_HANDLER)], 0)?;
        let lpcr = get_u64(&r.vcpu, kvm::KVM_REG_PPC_LPCR_64)
            .map_err(|e| format!("{path}: LPCR: errno {e}"))?;
        expect(
            &format!("{path}: LPCR with ILE"),
            set_one(
                &r.vcpu,
                kvm::KVM_REG_PPC_LPCR_64,
                &(lpcr | LPCR_ILE).to_ne_bytes(),
            ),
            Ok(0),
        )?;
        let a = marker(&r, 0x7e00).map_err(|e| format!("{path}: the handler's call: {e}"))?;
        let regs = get_regs(&r.vcpu).map_err(|e| format!("{path}: KVM_GET_REGS: errno {e}"))?;
        // Of SRR1, the MSR's SF, IR, DR and LE: 64-bit, real mode, LE.
        let mode = a[1] & (1 << 63 | 0x30 | 1);
        expect(
            &format!("{path}: NIA, then SRR0, SRR1's mode, DAR, DSISR in the handler"),
            (regs.pc, a[0], mode, a[2], a[3]),
            (0x318, 4, 1 << 63 | 1, 0x4000_0000, 0x0400_0000),
        )?;
    }
    Ok(())
}
