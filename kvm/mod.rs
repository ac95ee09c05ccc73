// SPDX-License-Identifier: GPL-2.0

//! The userspace interface: KVM's own ABI (`<linux/kvm.h>`) on a misc
//! device of ours, `/dev/papr-nested`, so that a VMM written for
//! `/dev/kvm` runs on this module by opening another path.
//!
//! What is implemented (Documentation/kvm-api.rst has the table): what
//! QEMU's pseries machine needs of `/dev/kvm` to boot a Linux L2, each
//! part as kvm-hv does it as a nested hypervisor:
//!
//! - on the device: `KVM_GET_API_VERSION` (12), `KVM_CHECK_EXTENSION`
//!   (`capability`: what is implemented, nothing else), `KVM_CREATE_VM`
//!   (type 0 or `KVM_VM_PPC_HV`) giving a VM fd; one VM is one guest at
//!   the L0; `KVM_GET_VCPU_MMAP_SIZE`;
//! - on a VM fd: `KVM_CHECK_EXTENSION`, `KVM_SET_USER_MEMORY_REGION`
//!   (memory slots of the VMM's own memory, pinned and mapped into the
//!   guest's partition-scoped tree), `KVM_CREATE_VCPU` giving a vCPU fd,
//!   `KVM_{GET,SET}_ONE_REG` for guest-wide registers, `KVM_ENABLE_CAP`,
//!   the MMU and processor queries and the process table (`mmu`),
//!   `KVM_IOEVENTFD` (`ioeventfd`);
//! - on a vCPU fd: `KVM_GET_REGS`, `KVM_SET_REGS`, `KVM_GET_SREGS`,
//!   `KVM_SET_SREGS` (`sregs`), `KVM_{GET,SET}_ONE_REG` (`one_reg`),
//!   `KVM_INTERRUPT` (`irq`), `KVM_RUN` (with the `kvm_run` mmap; the
//!   hypervisor calls answered in the kernel are `hcalls`, the MMIO
//!   emulation `mmio`), `KVM_ENABLE_CAP`. vCPUs of one VM run at the same
//!   time, each on its own thread.
//!
//! Beyond KVM (`state`, numbers of our own in `include/uapi/asm/papr-nested.h`):
//! on VM and vCPU fds, any set of elements in one Guest State Buffer
//! (`PAPR_NESTED_GET_STATE`, `PAPR_NESTED_SET_STATE`), and snapshots with
//! a versioned header, restored into another VM (`PAPR_NESTED_SNAPSHOT`,
//! `PAPR_NESTED_RESTORE`).
//!
//! Every other ioctl fails as in KVM on powerpc: `-EINVAL` on the device
//! and on a vCPU fd, `-ENOTTY` on a VM fd. Each fd holds what it needs: a
//! VM fd holds its VM, whose guest is deleted at the L0 when the last fd
//! goes, and the module, which cannot be unloaded while any fd of it is
//! open.

pub(crate) mod anon;
mod doorbell;
mod hcalls;
mod ioeventfd;
pub(crate) mod irq;
mod mmio;
mod mmu;
mod one_reg;
mod regs;
mod sregs;
mod state;
mod vcpu;
mod vm;

use crate::hcall::capabilities::ProcessorMode;
use kernel::{
    fs::File,
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    prelude::*,
    sync::atomic::{ordering::Relaxed, Atomic},
    uapi,
};

/// The processor mode the module runs L2s in (its `H_GUEST_CAP_POWER*`
/// bit), for snapshot headers: set by [`register`] before the device
/// exists, and never changed while it does.
static MODE: Atomic<u64> = Atomic::new(0);

/// The device's name: `/dev/papr-nested`.
pub(crate) const DEVICE_NAME: &CStr = c"papr-nested";

/// What `KVM_CHECK_EXTENSION` answers, the same on the device and on a
/// VM fd (QEMU asks either and takes the VM fd's answer where it has one).
pub(crate) mod capability {
    use kernel::{bindings, uapi};

    /// The largest memory slot id plus one: KVM's `KVM_USER_MEM_SLOTS`
    /// (`SHRT_MAX`), so that a VMM sizes its slot table as on kvm-hv.
    pub(crate) const NR_MEMSLOTS: u32 = i16::MAX as u32;

    /// vCPU ids go from 0 up to this, exclusive: one per CPU id the L1
    /// kernel can have (`CONFIG_NR_CPUS`). An L0 with a smaller limit
    /// refuses H_GUEST_CREATE_VCPU before it, with its own error.
    pub(crate) const MAX_VCPUS: u32 = bindings::CONFIG_NR_CPUS;

    /// The capabilities answered 1: each is implemented (the comment says
    /// where).
    const IMPLEMENTED: [u32; 23] = [
        // Memory slots (`vm::Vm::set_memory_region`): made, deleted,
        // replaced and moved.
        uapi::KVM_CAP_USER_MEMORY,
        uapi::KVM_CAP_DESTROY_MEMORY_REGION_WORKS,
        uapi::KVM_CAP_JOIN_MEMORY_REGIONS_WORKS,
        // `KVM_CHECK_EXTENSION` and `KVM_ENABLE_CAP` on the VM fd too,
        // `KVM_ENABLE_CAP` on the vCPU fd.
        uapi::KVM_CAP_CHECK_EXTENSION_VM,
        uapi::KVM_CAP_ENABLE_CAP_VM,
        uapi::KVM_CAP_ENABLE_CAP,
        // `KVM_EXIT_INTERNAL_ERROR` fills `ndata` and `data`.
        uapi::KVM_CAP_INTERNAL_ERROR_DATA,
        uapi::KVM_CAP_IMMEDIATE_EXIT,
        uapi::KVM_CAP_ONE_REG,
        // Every vCPU is a PAPR guest; `KVM_ENABLE_CAP(KVM_CAP_PPC_PAPR)`
        // is accepted for the VMMs written for kvm-hv, which enable it.
        uapi::KVM_CAP_PPC_PAPR,
        // `KVM_INTERRUPT` with level and unset (`irq`).
        uapi::KVM_CAP_PPC_IRQ_LEVEL,
        uapi::KVM_CAP_PPC_UNSET_IRQ,
        // `KVM_GET_SREGS`/`KVM_SET_SREGS` (`sregs`).
        uapi::KVM_CAP_PPC_SEGSTATE,
        // `mmu`: the page sizes, the radix geometries, the process table.
        uapi::KVM_CAP_PPC_GET_SMMU_INFO,
        uapi::KVM_CAP_PPC_MMU_RADIX,
        // `KVM_PPC_GET_CPU_CHAR`, from the L0's H_GET_CPU_CHARACTERISTICS.
        uapi::KVM_CAP_PPC_GET_CPU_CHAR,
        // `KVM_ENABLE_CAP` of these (`vm::Vm::enable_cap`).
        uapi::KVM_CAP_PPC_FWNMI,
        uapi::KVM_CAP_PPC_DAWR1,
        uapi::KVM_CAP_PPC_ENABLE_HCALL,
        // `KVM_IOEVENTFD` (`ioeventfd`), of any length, signalled from the
        // MMIO emulation (`mmio`).
        uapi::KVM_CAP_IOEVENTFD,
        uapi::KVM_CAP_IOEVENTFD_ANY_LENGTH,
        // The guest may use H_PUT_TCE_INDIRECT and H_STUFF_TCE: with no
        // in-kernel TCE table (`KVM_CREATE_SPAPR_TCE` is not implemented)
        // every TCE call goes to the VMM, as KVM documents for a LIOBN
        // the VMM did not register. Without it QEMU hides "hcall-multi-
        // tce" from the L2, which then clears its DMA window one
        // H_PUT_TCE at a time: 262,144 exits for QEMU's default window.
        uapi::KVM_CAP_SPAPR_MULTITCE,
        // `KVM_REG_PPC_HIOR` reads 0 and takes only 0, as on kvm-hv (no
        // interrupt offset in a guest with its own hypervisor state).
        uapi::KVM_CAP_PPC_HIOR,
    ];

    /// `KVM_CHECK_EXTENSION(cap)`: 1 for [`IMPLEMENTED`], a number for the
    /// capabilities that are one, 0 for everything else: nothing is
    /// advertised that is not implemented. Among the 0s: `KVM_CAP_SYNC_MMU`
    /// (slots are pinned: a later change of the VMM's mapping does not
    /// reach the L2), `KVM_CAP_PPC_GET_PVINFO` (that would be KVM PR),
    /// `KVM_CAP_IRQCHIP` and the in-kernel interrupt controllers (QEMU
    /// emulates XICS or XIVE itself and raises lines with `KVM_INTERRUPT`).
    pub(crate) fn check(cap: usize) -> isize {
        let Ok(cap) = u32::try_from(cap) else {
            return 0;
        };
        let n = match cap {
            uapi::KVM_CAP_NR_MEMSLOTS => NR_MEMSLOTS,
            // What KVM recommends as the most vCPUs to run: one per online CPU.
            uapi::KVM_CAP_NR_VCPUS => crate::platform::online_cpus().min(MAX_VCPUS),
            uapi::KVM_CAP_MAX_VCPUS | uapi::KVM_CAP_MAX_VCPU_ID => MAX_VCPUS,
            // One hardware thread per vCPU; on a VM fd, the threads per
            // virtual core it was given (`vm::Vm::set_smt`), as kvm-hv on
            // POWER9 and later answers.
            uapi::KVM_CAP_PPC_SMT => 1,
            // Any power of 2 up to `vm::MAX_SMT` threads per virtual core:
            // the kernel emulates the doorbells between them (`doorbell`).
            uapi::KVM_CAP_PPC_SMT_POSSIBLE => {
                const POSSIBLE: u64 = (super::vm::MAX_SMT << 1) - 1;
                POSSIBLE as u32
            }
            c => u32::from(IMPLEMENTED.contains(&c)),
        };
        n as isize
    }
}

/// An open `/dev/papr-nested`. It holds nothing: VMs live in their fds.
#[pin_data]
pub(crate) struct Device {}

/// Registers `/dev/papr-nested` for L2s in processor `mode`; dropping the
/// registration removes it.
pub(crate) fn register(mode: ProcessorMode) -> impl PinInit<MiscDeviceRegistration<Device>, Error> {
    MODE.store(mode.capability(), Relaxed);
    MiscDeviceRegistration::register(MiscDeviceOptions { name: DEVICE_NAME })
}

#[vtable]
impl MiscDevice for Device {
    type Ptr = Pin<KBox<Device>>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Device>>> {
        KBox::pin_init(pin_init!(Device {}), GFP_KERNEL_ACCOUNT)
    }

    fn ioctl(_me: Pin<&Device>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        // Errnos as KVM's `kvm_dev_ioctl()`: `-EINVAL` for an argument
        // where none is taken, and for an unknown ioctl
        // (`kvm_arch_dev_ioctl()` on powerpc).
        match cmd {
            uapi::KVM_GET_API_VERSION if arg == 0 => Ok(uapi::KVM_API_VERSION as isize),
            uapi::KVM_CHECK_EXTENSION => Ok(capability::check(arg)),
            uapi::KVM_CREATE_VM => create_vm(arg),
            uapi::KVM_GET_VCPU_MMAP_SIZE if arg == 0 => Ok(vcpu::MMAP_SIZE as isize),
            _ => Err(EINVAL),
        }
    }
}

/// `KVM_CREATE_VM(type)`: type 0 or `KVM_VM_PPC_HV` (both a guest of the
/// L0's nested-guest API); anything else is `-EINVAL`. Returns the VM fd.
fn create_vm(ty: usize) -> Result<isize> {
    if ty != 0 && ty != uapi::KVM_VM_PPC_HV as usize {
        return Err(EINVAL);
    }
    let vm = vm::Vm::new(MODE.load(Relaxed))?;
    let id = vm.guest_id();
    let fd = anon::install(vm)?;
    pr_info!("KVM_CREATE_VM: guest {} as fd {}\n", id, fd);
    Ok(fd as isize)
}
