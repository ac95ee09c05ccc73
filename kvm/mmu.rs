// SPDX-License-Identifier: GPL-2.0

//! What a VMM asks about the L2's MMU and processor, on the VM fd:
//! `KVM_PPC_GET_SMMU_INFO`, `KVM_PPC_GET_RMMU_INFO`,
//! `KVM_PPC_CONFIGURE_V3_MMU` and `KVM_PPC_GET_CPU_CHAR`, answered as
//! kvm-hv answers them when it is itself a guest of a PAPR hypervisor.

use crate::gsb::value::ProcessTable;
use crate::hcall;
use kernel::{
    prelude::*,
    transmute::{AsBytes, FromBytes},
    uaccess::{UserPtr, UserSlice},
    uapi,
};

/// Writes `v` to userspace at `arg`, as the `_IOR` ioctls do.
fn write_out<T: AsBytes>(arg: usize, v: &T) -> Result<isize> {
    UserSlice::new(UserPtr::from_addr(arg), size_of::<T>())
        .writer()
        .write(v)?;
    Ok(0)
}

/// `struct kvm_ppc_smmu_info`.
#[repr(transparent)]
struct SmmuInfo(uapi::kvm_ppc_smmu_info);

// SAFETY: integers only (`__u64` flags, `__u32` and `__u32` counts, eight
// `kvm_ppc_one_seg_page_size` of `__u32`s), no padding: every byte is
// initialised.
unsafe impl AsBytes for SmmuInfo {}

/// A segment's base page shift, its SLB encoding, and its page sizes
/// with their PTE encodings.
type SegmentSize = (u32, u32, &'static [(u32, u32)]);

/// `SLB_VSID_L`: a large-page segment.
const SLB_VSID_L: u32 = 0x100;
/// `SLB_VSID_LP_01`: its second large-page size (64 KiB).
const SLB_VSID_LP_01: u32 = 0x10;

/// `KVM_PPC_GET_SMMU_INFO`: what kvm-hv reports as a nested hypervisor
/// (`kvm_vm_ioctl_get_smmu_info_hv`): real-mode page sizes, 1 TiB
/// segments, no hashed page table (an L2 of the nested API is radix), a
/// 32-entry SLB, 32 storage keys, and 4 KiB, 64 KiB and 16 MiB pages each
/// in its own segment size, with 16 MiB pages in the smaller segments.
/// QEMU asks even for a radix guest, and checks the 1 TiB segments and
/// the SLB size at every vCPU reset.
pub(super) fn smmu_info(arg: usize) -> Result<isize> {
    let mut info = uapi::kvm_ppc_smmu_info {
        flags: u64::from(
            uapi::KVM_PPC_PAGE_SIZES_REAL | uapi::KVM_PPC_1T_SEGMENTS | uapi::KVM_PPC_NO_HASH,
        ),
        slb_size: 32,
        data_keys: 32,
        instr_keys: 32,
        ..Default::default()
    };
    // As `kvmppc_add_seg_page_size()` fills them.
    let sizes: [SegmentSize; 3] = [
        (12, 0, &[(12, 0), (24, 0x38)]),
        (16, SLB_VSID_L | SLB_VSID_LP_01, &[(16, 1), (24, 8)]),
        (24, SLB_VSID_L, &[(24, 0)]),
    ];
    for (sps, (shift, slb_enc, encs)) in info.sps.iter_mut().zip(sizes) {
        sps.page_shift = shift;
        sps.slb_enc = slb_enc;
        for (e, (page_shift, pte_enc)) in sps.enc.iter_mut().zip(encs) {
            e.page_shift = *page_shift;
            e.pte_enc = *pte_enc;
        }
    }
    write_out(arg, &SmmuInfo(info))
}

/// `struct kvm_ppc_rmmu_info`.
#[repr(transparent)]
struct RmmuInfo(uapi::kvm_ppc_rmmu_info);

// SAFETY: integers only (eight geometries of a `__u8` page shift and four
// `__u8` level sizes, eight `__u32` AP encodings), no padding.
unsafe impl AsBytes for RmmuInfo {}

/// `KVM_PPC_GET_RMMU_INFO`: the radix geometries and page sizes of
/// POWER9 and later, as `kvmhv_get_rmmu_info()` has them: 4 KiB pages
/// with 9/9/9/13 index bits and 64 KiB pages with 5/9/9/13 (leaf level
/// first); pages of 4 KiB, 64 KiB, 2 MiB and 1 GiB (AP 0, 5, 1, 2).
pub(super) fn rmmu_info(arg: usize) -> Result<isize> {
    let mut info = uapi::kvm_ppc_rmmu_info::default();
    info.geometries[0].page_shift = 12;
    info.geometries[0].level_bits = [9, 9, 9, 13];
    info.geometries[1].page_shift = 16;
    info.geometries[1].level_bits = [5, 9, 9, 13];
    let ap = |ap: u32, shift: u32| (ap << 29) | shift;
    info.ap_encodings[..4].copy_from_slice(&[ap(0, 12), ap(5, 16), ap(1, 21), ap(2, 30)]);
    write_out(arg, &RmmuInfo(info))
}

/// `struct kvm_ppc_mmuv3_cfg`.
#[repr(transparent)]
struct MmuCfg(uapi::kvm_ppc_mmuv3_cfg);

// SAFETY: two `__u64`s, no padding: every bit pattern is a value.
unsafe impl FromBytes for MmuCfg {}

/// Partition-table entry, second doubleword: the guest is radix (GR).
const PATB_GR: u64 = 1 << 63;
/// ... the process table's base (PRTB), 4 KiB aligned.
const PRTB_MASK: u64 = 0x0fff_ffff_ffff_f000;
/// ... and its size, 2^(12 + PRTS) bytes.
const PRTS_MASK: u64 = 0x1f;

/// What `KVM_PPC_CONFIGURE_V3_MMU` asks for.
pub(super) struct MmuConfig {
    /// The L2's process table, at a guest real address.
    pub(super) process_table: ProcessTable,
    /// Whether the L2 may invalidate translations itself (`tlbie`):
    /// LPCR[GTSE].
    pub(super) gtse: bool,
}

/// Reads and checks `struct kvm_ppc_mmuv3_cfg`, as `kvmhv_configure_mmu()`
/// does for a nested hypervisor: only the radix and GTSE flags, radix
/// required (`-EINVAL` for a hashed page table, which the nested API has
/// not), the GR bit matching it, a process table of at most 2^36 bytes
/// (PRTS <= 24) with no bits beyond PRTB and PRTS.
pub(super) fn read_config(arg: usize) -> Result<MmuConfig> {
    let cfg = UserSlice::new(UserPtr::from_addr(arg), size_of::<MmuCfg>())
        .reader()
        .read::<MmuCfg>()?
        .0;
    let known = u64::from(uapi::KVM_PPC_MMUV3_RADIX | uapi::KVM_PPC_MMUV3_GTSE);
    if cfg.flags & !known != 0 || cfg.flags & u64::from(uapi::KVM_PPC_MMUV3_RADIX) == 0 {
        return Err(EINVAL);
    }
    let pt = cfg.process_table;
    if pt & PATB_GR == 0 || pt & PRTS_MASK > 24 || pt & !(PATB_GR | PRTB_MASK | PRTS_MASK) != 0 {
        return Err(EINVAL);
    }
    Ok(MmuConfig {
        process_table: ProcessTable {
            address: pt & PRTB_MASK,
            gpd_size: 1 << (12 + (pt & PRTS_MASK)),
        },
        gtse: cfg.flags & u64::from(uapi::KVM_PPC_MMUV3_GTSE) != 0,
    })
}

/// `struct kvm_ppc_cpu_char`.
#[repr(transparent)]
struct CpuChar(uapi::kvm_ppc_cpu_char);

// SAFETY: four `__u64`s, no padding.
unsafe impl AsBytes for CpuChar {}

#[expect(
    clippy::unnecessary_cast,
    reason = "bindgen types the top bit's constant i64, the others u64: one cast for all"
)]
/// The characteristics kvm-hv passes on from its hypervisor
/// (`kvmppc_get_cpu_char()` on pseries): H_GET_CPU_CHARACTERISTICS gives
/// them in the bits `struct kvm_ppc_cpu_char` uses.
const CHARACTER_MASK: u64 = uapi::KVM_PPC_CPU_CHAR_SPEC_BAR_ORI31 as u64
    | uapi::KVM_PPC_CPU_CHAR_BCCTRL_SERIALISED as u64
    | uapi::KVM_PPC_CPU_CHAR_L1D_FLUSH_ORI30 as u64
    | uapi::KVM_PPC_CPU_CHAR_L1D_FLUSH_TRIG2 as u64
    | uapi::KVM_PPC_CPU_CHAR_L1D_THREAD_PRIV as u64
    | uapi::KVM_PPC_CPU_CHAR_BR_HINT_HONOURED as u64
    | uapi::KVM_PPC_CPU_CHAR_MTTRIG_THR_RECONF as u64
    | uapi::KVM_PPC_CPU_CHAR_COUNT_CACHE_DIS as u64
    | uapi::KVM_PPC_CPU_CHAR_BCCTR_FLUSH_ASSIST as u64;

#[expect(
    clippy::unnecessary_cast,
    reason = "bindgen types the top bit's constant i64, the others u64: one cast for all"
)]
/// The behaviours kvm-hv passes on likewise.
const BEHAVIOUR_MASK: u64 = uapi::KVM_PPC_CPU_BEHAV_FAVOUR_SECURITY as u64
    | uapi::KVM_PPC_CPU_BEHAV_L1D_FLUSH_PR as u64
    | uapi::KVM_PPC_CPU_BEHAV_BNDS_CHK_SPEC_BAR as u64
    | uapi::KVM_PPC_CPU_BEHAV_FLUSH_COUNT_CACHE as u64;

/// `KVM_PPC_GET_CPU_CHAR`: the L0's answer to H_GET_CPU_CHARACTERISTICS,
/// with kvm-hv's masks (the bits of the answer a VMM may rely on). An L0 that does not implement the call gives
/// all-zero characteristics and masks, as kvm-hv does then ("nothing is
/// known"), and the call still succeeds.
pub(super) fn cpu_char(arg: usize) -> Result<isize> {
    let mut c = uapi::kvm_ppc_cpu_char::default();
    if let Ok((character, behaviour)) = hcall::cpu_char::get() {
        c.character = character;
        c.behaviour = behaviour;
        c.character_mask = CHARACTER_MASK;
        c.behaviour_mask = BEHAVIOUR_MASK;
    }
    write_out(arg, &CpuChar(c))
}
