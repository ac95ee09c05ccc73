// SPDX-License-Identifier: GPL-2.0

//! The guest state IDs: one table, in ID order, with every ID's element
//! type, access and settable bits, from which everything else (class,
//! scope, size, name) derives. Check it against the PAPR (and against
//! `arch/powerpc/include/asm/guest-state-buffer.h`) row by row.

use super::{error::GsbError, value::Value};

/// How an element's data is laid out (all big-endian; see [`super::value`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElemType {
    /// A 32-bit word.
    Be32,
    /// A 64-bit doubleword.
    Be64,
    /// A 128-bit vector: two doublewords, the first one first.
    Vec128,
    /// Partition table: address, EA bits, root directory size.
    PartitionTable,
    /// Process table: address, size.
    ProcessTable,
    /// A buffer: address, size.
    BufferInfo,
}

impl ElemType {
    /// Bytes of data an element of this type carries.
    pub const fn size(self) -> usize {
        match self {
            ElemType::Be32 => 4,
            ElemType::Be64 => 8,
            ElemType::Vec128 => 16,
            ElemType::PartitionTable => 24,
            ElemType::ProcessTable => 16,
            ElemType::BufferInfo => 16,
        }
    }
}

/// The ID ranges the PAPR defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// 0x0001-0x0006: state of the whole guest.
    GuestWide,
    /// 0x0800-0x0804: L0 counters for all guests of this L1.
    HostWide,
    /// 0x0C00-0x0C02: per-vCPU buffers and VPA.
    Meta,
    /// 0x1000-0x1053: 64-bit registers.
    DwordReg,
    /// 0x2000-0x200E: 32-bit registers.
    WordReg,
    /// 0x3000-0x303F: the 64 VSRs.
    Vector,
    /// 0xF000-0xF003: interrupt registers, set by the L0 on an exit.
    Intr,
}

/// Which object an element belongs to: this decides the H_GUEST_{GET,SET}_STATE
/// flags, and elements of different scopes never share a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The guest (H_GUEST_FLAGS_WIDE).
    Guest,
    /// The L0 itself (H_GUEST_FLAGS_HOST_WIDE).
    Host,
    /// One vCPU (no flag).
    Thread,
}

impl Scope {
    /// `H_GUEST_FLAGS_WIDE`: the request is about the whole guest.
    pub const FLAG_GUEST_WIDE: u64 = 1 << 63;
    /// `H_GUEST_FLAGS_HOST_WIDE`: the request is about the L0.
    pub const FLAG_HOST_WIDE: u64 = 1 << 62;

    /// The H_GUEST_{GET,SET}_STATE flags for a buffer of this scope.
    pub const fn hcall_flags(self) -> u64 {
        match self {
            Scope::Guest => Self::FLAG_GUEST_WIDE,
            Scope::Host => Self::FLAG_HOST_WIDE,
            Scope::Thread => 0,
        }
    }
}

/// What the L1 may do with an element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Get and set.
    ReadWrite,
    /// Get only; the L0 refuses a set.
    ReadOnly,
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct IdInfo {
    /// The guest state ID.
    pub id: u16,
    /// Its PAPR name, for logs.
    pub name: &'static str,
    /// The layout of its data.
    pub ty: ElemType,
    /// Whether the L1 may set it.
    pub access: Access,
    /// The bits the L1 may set; a value with others set is refused.
    pub settable: u64,
}

/// LPCR bits an L1 may set for an L2: DPFD, ILE, AIL, LD, MER, GTSE
/// (as `kvmppc_gsid_mask()`).
pub const LPCR_SETTABLE: u64 = (7 << 52) // DPFD
    | 0x0000_0000_0200_0000 // ILE
    | 0x0000_0000_0180_0000 // AIL
    | 0x0000_0000_0002_0000 // LD
    | 0x0000_0000_0000_0800 // MER
    | 0x0000_0000_0000_0400; // GTSE

/// MSR bits an L1 may set for an L2: all but HV, S and ME (as
/// `kvmppc_gsid_mask()`).
pub const MSR_SETTABLE: u64 = !((1 << 60) | (1 << 22) | (1 << 12));

const ALL: u64 = u64::MAX;
const RW: Access = Access::ReadWrite;
const RO: Access = Access::ReadOnly;
use ElemType::{Be32, Be64, BufferInfo, PartitionTable, ProcessTable, Vec128};

const fn row(id: u16, name: &'static str, ty: ElemType, access: Access, settable: u64) -> IdInfo {
    IdInfo {
        id,
        name,
        ty,
        access,
        settable,
    }
}

/// Declares the table and the named IDs from one list: each ID is written
/// once, with its PAPR name, element type, access and settable bits and,
/// after `=>`, the `KVM_REG_PPC_*` ONE_REG ID KVM gives the register, if
/// any; its position in the list is its dense index, and `Id::<NAME>`
/// names it.
macro_rules! id_table {
    ($($(#[$doc:meta])* $name:ident = $id:literal, $ty:ident, $access:ident, $settable:expr $(=> $kvm:expr)?;)*) => {
        /// How many guest state IDs there are.
        pub const ID_COUNT: usize = [$($id),*].len();

        /// The rows of [`TABLE`], for the compile-time checks below.
        const ROWS: [IdInfo; ID_COUNT] = [$(row($id, stringify!($name), $ty, $access, $settable)),*];

        /// Every guest state ID, in ID order: the position of an ID here is
        /// its dense index ([`Id::index`]).
        pub static TABLE: [IdInfo; ID_COUNT] = ROWS;

        #[cfg_attr(
            CONFIG_RUST,
            expect(
                dead_code,
                reason = "every ID is named; the module uses some, the host crate and the layers to come others"
            )
        )]
        impl Id {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                pub const $name: Id = Id::known($id);
            )*
        }

        /// KVM's ONE_REG ID (`KVM_REG_PPC_*`, from the kernel's uapi
        /// headers) of each row of [`TABLE`], in table order: the column
        /// through which `KVM_{GET,SET}_ONE_REG` reach elements. Only the
        /// kernel build has it; the host crate has no uapi headers.
        #[cfg(CONFIG_RUST)]
        pub(crate) const KVM_REGS: [Option<u64>; ID_COUNT] = {
            use kernel::uapi::*;
            [$(kvm_column!($($kvm)?)),*]
        };
    };
}

/// One cell of the KVM column: `None` for an element KVM has no ID for.
#[cfg(CONFIG_RUST)]
macro_rules! kvm_column {
    () => {
        None
    };
    ($kvm:expr) => {
        Some($kvm)
    };
}

id_table! {
    HOST_STATE_SIZE = 0x0001, Be64, RO, ALL;
    RUN_OUTPUT_MIN_SIZE = 0x0002, Be64, RO, ALL;
    LOGICAL_PVR = 0x0003, Be32, RW, ALL => KVM_REG_PPC_ARCH_COMPAT;
    TB_OFFSET = 0x0004, Be64, RW, ALL => KVM_REG_PPC_TB_OFFSET;
    PARTITION_TABLE = 0x0005, PartitionTable, RW, ALL;
    PROCESS_TABLE = 0x0006, ProcessTable, RW, ALL;
    L0_GUEST_HEAP = 0x0800, Be64, RO, ALL;
    L0_GUEST_HEAP_MAX = 0x0801, Be64, RO, ALL;
    L0_GUEST_PGTABLE_SIZE = 0x0802, Be64, RO, ALL;
    L0_GUEST_PGTABLE_SIZE_MAX = 0x0803, Be64, RO, ALL;
    L0_GUEST_PGTABLE_RECLAIM = 0x0804, Be64, RO, ALL;
    RUN_INPUT = 0x0C00, BufferInfo, RW, ALL;
    RUN_OUTPUT = 0x0C01, BufferInfo, RW, ALL;
    VPA = 0x0C02, Be64, RW, ALL;
    GPR0 = 0x1000, Be64, RW, ALL;
    GPR1 = 0x1001, Be64, RW, ALL;
    GPR2 = 0x1002, Be64, RW, ALL;
    GPR3 = 0x1003, Be64, RW, ALL;
    GPR4 = 0x1004, Be64, RW, ALL;
    GPR5 = 0x1005, Be64, RW, ALL;
    GPR6 = 0x1006, Be64, RW, ALL;
    GPR7 = 0x1007, Be64, RW, ALL;
    GPR8 = 0x1008, Be64, RW, ALL;
    GPR9 = 0x1009, Be64, RW, ALL;
    GPR10 = 0x100A, Be64, RW, ALL;
    GPR11 = 0x100B, Be64, RW, ALL;
    GPR12 = 0x100C, Be64, RW, ALL;
    GPR13 = 0x100D, Be64, RW, ALL;
    GPR14 = 0x100E, Be64, RW, ALL;
    GPR15 = 0x100F, Be64, RW, ALL;
    GPR16 = 0x1010, Be64, RW, ALL;
    GPR17 = 0x1011, Be64, RW, ALL;
    GPR18 = 0x1012, Be64, RW, ALL;
    GPR19 = 0x1013, Be64, RW, ALL;
    GPR20 = 0x1014, Be64, RW, ALL;
    GPR21 = 0x1015, Be64, RW, ALL;
    GPR22 = 0x1016, Be64, RW, ALL;
    GPR23 = 0x1017, Be64, RW, ALL;
    GPR24 = 0x1018, Be64, RW, ALL;
    GPR25 = 0x1019, Be64, RW, ALL;
    GPR26 = 0x101A, Be64, RW, ALL;
    GPR27 = 0x101B, Be64, RW, ALL;
    GPR28 = 0x101C, Be64, RW, ALL;
    GPR29 = 0x101D, Be64, RW, ALL;
    GPR30 = 0x101E, Be64, RW, ALL;
    GPR31 = 0x101F, Be64, RW, ALL;
    HDEC_EXPIRY_TB = 0x1020, Be64, RW, ALL;
    NIA = 0x1021, Be64, RW, ALL;
    MSR = 0x1022, Be64, RW, MSR_SETTABLE;
    LR = 0x1023, Be64, RW, ALL;
    XER = 0x1024, Be64, RW, ALL;
    CTR = 0x1025, Be64, RW, ALL;
    CFAR = 0x1026, Be64, RW, ALL;
    SRR0 = 0x1027, Be64, RW, ALL;
    SRR1 = 0x1028, Be64, RW, ALL;
    DAR = 0x1029, Be64, RW, ALL => KVM_REG_PPC_DAR;
    DEC_EXPIRY_TB = 0x102A, Be64, RW, ALL => KVM_REG_PPC_DEC_EXPIRY;
    VTB = 0x102B, Be64, RW, ALL => KVM_REG_PPC_VTB;
    LPCR = 0x102C, Be64, RW, LPCR_SETTABLE => KVM_REG_PPC_LPCR_64;
    HFSCR = 0x102D, Be64, RW, ALL;
    FSCR = 0x102E, Be64, RW, ALL => KVM_REG_PPC_FSCR;
    FPSCR = 0x102F, Be64, RW, ALL => KVM_REG_PPC_FPSCR;
    DAWR0 = 0x1030, Be64, RW, ALL => KVM_REG_PPC_DAWR;
    DAWR1 = 0x1031, Be64, RW, ALL => KVM_REG_PPC_DAWR1;
    CIABR = 0x1032, Be64, RW, ALL => KVM_REG_PPC_CIABR;
    PURR = 0x1033, Be64, RW, ALL => KVM_REG_PPC_PURR;
    SPURR = 0x1034, Be64, RW, ALL => KVM_REG_PPC_SPURR;
    IC = 0x1035, Be64, RW, ALL => KVM_REG_PPC_IC;
    SPRG0 = 0x1036, Be64, RW, ALL;
    SPRG1 = 0x1037, Be64, RW, ALL;
    SPRG2 = 0x1038, Be64, RW, ALL;
    SPRG3 = 0x1039, Be64, RW, ALL;
    PPR = 0x103A, Be64, RW, ALL => KVM_REG_PPC_PPR;
    MMCR0 = 0x103B, Be64, RW, ALL => KVM_REG_PPC_MMCR0;
    MMCR1 = 0x103C, Be64, RW, ALL => KVM_REG_PPC_MMCR1;
    MMCR2 = 0x103D, Be64, RW, ALL => KVM_REG_PPC_MMCR2;
    MMCR3 = 0x103E, Be64, RW, ALL => KVM_REG_PPC_MMCR3;
    MMCRA = 0x103F, Be64, RW, ALL => KVM_REG_PPC_MMCRA;
    SIER0 = 0x1040, Be64, RW, ALL => KVM_REG_PPC_SIER;
    SIER1 = 0x1041, Be64, RW, ALL => KVM_REG_PPC_SIER2;
    SIER2 = 0x1042, Be64, RW, ALL => KVM_REG_PPC_SIER3;
    BESCR = 0x1043, Be64, RW, ALL => KVM_REG_PPC_BESCR;
    EBBHR = 0x1044, Be64, RW, ALL => KVM_REG_PPC_EBBHR;
    EBBRR = 0x1045, Be64, RW, ALL => KVM_REG_PPC_EBBRR;
    AMR = 0x1046, Be64, RW, ALL => KVM_REG_PPC_AMR;
    IAMR = 0x1047, Be64, RW, ALL => KVM_REG_PPC_IAMR;
    AMOR = 0x1048, Be64, RW, ALL;
    UAMOR = 0x1049, Be64, RW, ALL => KVM_REG_PPC_UAMOR;
    SDAR = 0x104A, Be64, RW, ALL => KVM_REG_PPC_SDAR;
    SIAR = 0x104B, Be64, RW, ALL => KVM_REG_PPC_SIAR;
    DSCR = 0x104C, Be64, RW, ALL => KVM_REG_PPC_DSCR;
    TAR = 0x104D, Be64, RW, ALL => KVM_REG_PPC_TAR;
    DEXCR = 0x104E, Be64, RW, ALL => KVM_REG_PPC_DEXCR;
    HDEXCR = 0x104F, Be64, RW, ALL;
    HASHKEYR = 0x1050, Be64, RW, ALL => KVM_REG_PPC_HASHKEYR;
    HASHPKEYR = 0x1051, Be64, RW, ALL => KVM_REG_PPC_HASHPKEYR;
    CTRL = 0x1052, Be64, RW, ALL;
    DPDES = 0x1053, Be64, RW, ALL => KVM_REG_PPC_DPDES;
    CR = 0x2000, Be32, RW, ALL;
    PIDR = 0x2001, Be32, RW, ALL => KVM_REG_PPC_PID;
    DSISR = 0x2002, Be32, RW, ALL => KVM_REG_PPC_DSISR;
    VSCR = 0x2003, Be32, RW, ALL => KVM_REG_PPC_VSCR;
    VRSAVE = 0x2004, Be32, RW, ALL => KVM_REG_PPC_VRSAVE;
    DAWRX0 = 0x2005, Be32, RW, ALL => KVM_REG_PPC_DAWRX;
    DAWRX1 = 0x2006, Be32, RW, ALL => KVM_REG_PPC_DAWRX1;
    PMC1 = 0x2007, Be32, RW, ALL => KVM_REG_PPC_PMC1;
    PMC2 = 0x2008, Be32, RW, ALL => KVM_REG_PPC_PMC2;
    PMC3 = 0x2009, Be32, RW, ALL => KVM_REG_PPC_PMC3;
    PMC4 = 0x200A, Be32, RW, ALL => KVM_REG_PPC_PMC4;
    PMC5 = 0x200B, Be32, RW, ALL => KVM_REG_PPC_PMC5;
    PMC6 = 0x200C, Be32, RW, ALL => KVM_REG_PPC_PMC6;
    WORT = 0x200D, Be32, RW, ALL => KVM_REG_PPC_WORT;
    PSPB = 0x200E, Be32, RW, ALL => KVM_REG_PPC_PSPB;
    VSR0 = 0x3000, Vec128, RW, ALL => KVM_REG_PPC_VSR0;
    VSR1 = 0x3001, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 1;
    VSR2 = 0x3002, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 2;
    VSR3 = 0x3003, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 3;
    VSR4 = 0x3004, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 4;
    VSR5 = 0x3005, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 5;
    VSR6 = 0x3006, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 6;
    VSR7 = 0x3007, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 7;
    VSR8 = 0x3008, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 8;
    VSR9 = 0x3009, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 9;
    VSR10 = 0x300A, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 10;
    VSR11 = 0x300B, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 11;
    VSR12 = 0x300C, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 12;
    VSR13 = 0x300D, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 13;
    VSR14 = 0x300E, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 14;
    VSR15 = 0x300F, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 15;
    VSR16 = 0x3010, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 16;
    VSR17 = 0x3011, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 17;
    VSR18 = 0x3012, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 18;
    VSR19 = 0x3013, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 19;
    VSR20 = 0x3014, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 20;
    VSR21 = 0x3015, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 21;
    VSR22 = 0x3016, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 22;
    VSR23 = 0x3017, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 23;
    VSR24 = 0x3018, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 24;
    VSR25 = 0x3019, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 25;
    VSR26 = 0x301A, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 26;
    VSR27 = 0x301B, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 27;
    VSR28 = 0x301C, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 28;
    VSR29 = 0x301D, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 29;
    VSR30 = 0x301E, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 30;
    VSR31 = 0x301F, Vec128, RW, ALL => KVM_REG_PPC_VSR0 + 31;
    VSR32 = 0x3020, Vec128, RW, ALL => KVM_REG_PPC_VR0;
    VSR33 = 0x3021, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 1;
    VSR34 = 0x3022, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 2;
    VSR35 = 0x3023, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 3;
    VSR36 = 0x3024, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 4;
    VSR37 = 0x3025, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 5;
    VSR38 = 0x3026, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 6;
    VSR39 = 0x3027, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 7;
    VSR40 = 0x3028, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 8;
    VSR41 = 0x3029, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 9;
    VSR42 = 0x302A, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 10;
    VSR43 = 0x302B, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 11;
    VSR44 = 0x302C, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 12;
    VSR45 = 0x302D, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 13;
    VSR46 = 0x302E, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 14;
    VSR47 = 0x302F, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 15;
    VSR48 = 0x3030, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 16;
    VSR49 = 0x3031, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 17;
    VSR50 = 0x3032, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 18;
    VSR51 = 0x3033, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 19;
    VSR52 = 0x3034, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 20;
    VSR53 = 0x3035, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 21;
    VSR54 = 0x3036, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 22;
    VSR55 = 0x3037, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 23;
    VSR56 = 0x3038, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 24;
    VSR57 = 0x3039, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 25;
    VSR58 = 0x303A, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 26;
    VSR59 = 0x303B, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 27;
    VSR60 = 0x303C, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 28;
    VSR61 = 0x303D, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 29;
    VSR62 = 0x303E, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 30;
    VSR63 = 0x303F, Vec128, RW, ALL => KVM_REG_PPC_VR0 + 31;
    HDAR = 0xF000, Be64, RO, ALL;
    HDSISR = 0xF001, Be32, RO, ALL;
    // Four bytes, as the PAPR table in Documentation/arch/powerpc/
    // kvm-nested.rst and QEMU's L0 have it; the kernel's C library reads
    // eight, and would reject a conforming L0's 0xE40 run output.
    HEIR = 0xF002, Be32, RO, ALL;
    ASDR = 0xF003, Be64, RO, ALL;
}

// The KVM column names powerpc registers, each once, each of a size its
// element's value fits: a vector for a vector element, a doubleword for a
// doubleword one, a word or (as KVM has some word registers) a doubleword
// for a word one. No element that names L1 memory has a KVM ID.
#[cfg(CONFIG_RUST)]
const _: () = {
    use kernel::uapi::{KVM_REG_ARCH_MASK, KVM_REG_PPC, KVM_REG_SIZE_MASK, KVM_REG_SIZE_SHIFT};
    let mut i = 0;
    while i < ID_COUNT {
        if let Some(reg) = KVM_REGS[i] {
            // bindgen types the mask `i64` (its top bit is set): the same
            // bits as a `u64`.
            let arch = KVM_REG_ARCH_MASK as u64;
            assert!(reg & arch == KVM_REG_PPC, "not a powerpc KVM ID");
            let bytes = 1u64 << ((reg & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT);
            let fits = match ROWS[i].ty {
                Be32 => bytes == 4 || bytes == 8,
                Be64 => bytes == 8,
                Vec128 => bytes == 16,
                BufferInfo | PartitionTable | ProcessTable => false,
            };
            assert!(fits, "a KVM ID's size does not fit its element");
            if let Some((Class::Meta, _)) = lookup(ROWS[i].id) {
                panic!("a KVM ID names L1 memory");
            }
            let mut j = i + 1;
            while j < ID_COUNT {
                if let Some(other) = KVM_REGS[j] {
                    assert!(other != reg, "a KVM ID names two elements");
                }
                j += 1;
            }
        }
        i += 1;
    }
};

/// The classes' ID ranges and where each starts in [`TABLE`].
/// The PAPR's ID ranges, in ID order: class, first and last ID.
const CLASS_RANGES: [(Class, u16, u16); 7] = [
    (Class::GuestWide, 0x0001, 0x0006),
    (Class::HostWide, 0x0800, 0x0804),
    (Class::Meta, 0x0C00, 0x0C02),
    (Class::DwordReg, 0x1000, 0x1053),
    (Class::WordReg, 0x2000, 0x200E),
    (Class::Vector, 0x3000, 0x303F),
    (Class::Intr, 0xF000, 0xF003),
];

/// [`CLASS_RANGES`] with the dense index of each range's first ID: the
/// ranges' sizes added up.
const RANGES: [(Class, u16, u16, usize); 7] = {
    let mut out = [(Class::GuestWide, 0, 0, 0); 7];
    let mut base = 0;
    let mut i = 0;
    while i < CLASS_RANGES.len() {
        let (class, first, last) = CLASS_RANGES[i];
        out[i] = (class, first, last, base);
        base += (last - first) as usize + 1;
        i += 1;
    }
    assert!(base == ID_COUNT, "the ranges and the table differ in size");
    out
};

// The table lists exactly the IDs of the ranges, each at its dense index.
const _: () = {
    let mut i = 0;
    while i < ROWS.len() {
        match lookup(ROWS[i].id) {
            Some((_, index)) => assert!(index == i, "a table row is out of place"),
            None => panic!("a table row is outside the ranges"),
        }
        i += 1;
    }
};

/// For each high byte of an ID, the one range of [`RANGES`] in it, or
/// `NO_RANGE`: each range lies within one high byte, no two share one
/// (checked here), so a lookup is one table read and a compare.
const RANGE_OF_HIGH: [u8; 256] = {
    let mut t = [NO_RANGE; 256];
    let mut i = 0;
    while i < RANGES.len() {
        let (_, first, last, _) = RANGES[i];
        let high = (first >> 8) as usize;
        assert!(high == (last >> 8) as usize, "a range spans two high bytes");
        assert!(t[high] == NO_RANGE, "two ranges share a high byte");
        t[high] = i as u8;
        i += 1;
    }
    t
};
const NO_RANGE: u8 = u8::MAX;

/// The class and dense index of a raw ID, if it is a known one.
#[inline(always)]
const fn lookup(raw: u16) -> Option<(Class, usize)> {
    let r = RANGE_OF_HIGH[(raw >> 8) as usize];
    if r == NO_RANGE {
        return None;
    }
    let (class, first, last, base) = RANGES[r as usize];
    if raw >= first && raw <= last {
        Some((class, base + (raw - first) as usize))
    } else {
        None
    }
}

/// A column of [`ROWS`] by dense index, `$value` of each `$row`, built at
/// compile time.
macro_rules! column {
    ($ty:ty, $default:expr, |$row:ident| $value:expr) => {{
        let mut t: [$ty; ID_COUNT] = [$default; ID_COUNT];
        let mut i = 0;
        while i < ID_COUNT {
            let $row = &ROWS[i];
            t[i] = $value;
            i += 1;
        }
        t
    }};
}

// [`ROWS`]' columns that the per-exit paths read (an element's type, ID,
// settable bits, whether it is read-only), each on its own: a few hundred
// bytes rather than the whole table, which would be a page or two more to
// touch after every exit.
const TYPES: [ElemType; ID_COUNT] = column!(ElemType, ElemType::Be64, |row| row.ty);
const IDS: [Id; ID_COUNT] = column!(Id, Id::GPR0, |row| Id::known(row.id));
const SETTABLE: [u64; ID_COUNT] = column!(u64, 0, |row| row.settable);
const READ_ONLY: [bool; ID_COUNT] =
    column!(bool, false, |row| matches!(row.access, Access::ReadOnly));

/// A known guest state ID, with its dense index and class found once,
/// when it is made: every query after is a field or a small table read
/// (the per-exit paths make many).
///
/// # Invariants
///
/// `raw` is an ID of [`TABLE`], `index` its position there and `class`
/// its range's class: only [`Id::new`] and the constructors built on it
/// make an `Id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id {
    raw: u16,
    index: u8,
    class: Class,
}

// Every dense index fits the `u8` an `Id` keeps.
const _: () = assert!(ID_COUNT <= u8::MAX as usize + 1);

impl Id {
    /// The ID for `raw`, or `None` where the PAPR defines none. Inlined:
    /// a table read and two compares, made for every element read.
    #[inline(always)]
    pub const fn new(raw: u16) -> Option<Id> {
        match lookup(raw) {
            // INVARIANT: `lookup` found `raw` at `index`, in `class`'s
            // range; the index fits a `u8` (asserted above).
            Some((class, index)) => Some(Id {
                raw,
                index: index as u8,
                class,
            }),
            None => None,
        }
    }

    /// For the named constants: fails to compile for an unknown ID.
    const fn known(raw: u16) -> Id {
        match Id::new(raw) {
            Some(id) => id,
            None => panic!("not a guest state ID"),
        }
    }

    /// The ID at dense index `index` (`index < ID_COUNT`).
    pub fn from_index(index: usize) -> Option<Id> {
        IDS.get(index).copied()
    }

    /// GPR `n` (0..=31).
    pub const fn gpr(n: u8) -> Option<Id> {
        if n < 32 {
            Id::new(0x1000 + n as u16)
        } else {
            None
        }
    }

    /// VSR `n` (0..=63).
    #[cfg_attr(
        all(CONFIG_RUST, not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST)),
        expect(
            dead_code,
            reason = "used by the KUnit suites and the host crate's tests"
        )
    )]
    pub const fn vsr(n: u8) -> Option<Id> {
        if n < 64 {
            Id::new(0x3000 + n as u16)
        } else {
            None
        }
    }

    /// The raw 16-bit ID.
    pub const fn raw(self) -> u16 {
        self.raw
    }

    /// The position of this ID in [`TABLE`] (and in an [`super::IdSet`]).
    pub const fn index(self) -> usize {
        self.index as usize
    }

    /// The row of [`TABLE`] for this ID.
    pub fn info(self) -> &'static IdInfo {
        &TABLE[self.index()]
    }

    /// The range this ID is in.
    pub const fn class(self) -> Class {
        self.class
    }

    /// Which object the element belongs to.
    pub const fn scope(self) -> Scope {
        match self.class() {
            Class::GuestWide => Scope::Guest,
            Class::HostWide => Scope::Host,
            Class::Meta | Class::DwordReg | Class::WordReg | Class::Vector | Class::Intr => {
                Scope::Thread
            }
        }
    }

    /// The layout of the element's data.
    pub fn ty(self) -> ElemType {
        TYPES[self.index()]
    }

    /// Bytes of data the element carries.
    pub fn size(self) -> usize {
        self.ty().size()
    }

    /// The PAPR name, for logs.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Whether the element's value is, or holds, an L1 real address that
    /// the L0 keeps using: the meta elements (run buffers, VPA) and the
    /// partition and process tables. Only their owner may set them.
    pub fn names_l1_memory(self) -> bool {
        self.class() == Class::Meta
            || matches!(self.ty(), ElemType::PartitionTable | ElemType::ProcessTable)
    }

    /// Whether the L1 may only read the element.
    pub fn is_read_only(self) -> bool {
        READ_ONLY[self.index()]
    }

    /// Whether a user of the L1 (a VMM, a payload) may name the element
    /// through an object of `scope`: it must be of that scope, and not
    /// name L1 memory.
    pub fn check_reach(self, scope: Scope) -> Result<(), GsbError> {
        if self.scope() != scope {
            return Err(GsbError::WrongScope {
                id: self.raw,
                expected: scope,
                got: self.scope(),
            });
        }
        if self.names_l1_memory() {
            return Err(GsbError::NamesL1Memory { id: self.raw });
        }
        Ok(())
    }

    /// Whether such a user may set the element to `v` through an object
    /// of `scope`: [`Id::check_reach`], then not read-only, a value of
    /// the element's type, no bits the L1 may not set. The one check of
    /// every way a user sets state.
    pub fn check_set(self, v: Value, scope: Scope) -> Result<(), GsbError> {
        self.check_reach(scope)?;
        if self.is_read_only() {
            return Err(GsbError::ReadOnly { id: self.raw });
        }
        if v.ty() != self.ty() {
            return Err(GsbError::WrongType {
                id: self.raw,
                expected: self.ty(),
                got: v.ty(),
            });
        }
        if let Some(bits) = v.register_bits() {
            let reserved = bits & !self.settable();
            if reserved != 0 {
                return Err(GsbError::ReservedBits {
                    id: self.raw,
                    bits: reserved,
                });
            }
        }
        Ok(())
    }

    /// The bits of a register element the L1 may set.
    pub fn settable(self) -> u64 {
        SETTABLE[self.index()]
    }

    /// `GPR0` to `GPR31`, indexed by register number.
    pub const GPRS: [Id; 32] = {
        let mut gprs = [Id::GPR0; 32];
        let mut n = 0;
        while n < gprs.len() {
            gprs[n] = Id::known(Id::GPR0.raw() + n as u16);
            n += 1;
        }
        gprs
    };
}
