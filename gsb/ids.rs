// SPDX-License-Identifier: GPL-2.0

//! The guest state IDs: one table, in ID order, with every ID's element
//! type, access and settable bits, from which everything else (class,
//! scope, size, name) derives. Check it against the PAPR (and against
//! `arch/powerpc/include/asm/guest-state-buffer.h`) row by row.

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// How many guest state IDs there are.
pub const ID_COUNT: usize = 181;

/// Every guest state ID, in ID order: the position of an ID here is its
/// dense index ([`Id::index`]).
pub static TABLE: [IdInfo; ID_COUNT] = [
    row(0x0001, "HOST_STATE_SIZE", Be64, RO, ALL),
    row(0x0002, "RUN_OUTPUT_MIN_SIZE", Be64, RO, ALL),
    row(0x0003, "LOGICAL_PVR", Be32, RW, ALL),
    row(0x0004, "TB_OFFSET", Be64, RW, ALL),
    row(0x0005, "PARTITION_TABLE", PartitionTable, RW, ALL),
    row(0x0006, "PROCESS_TABLE", ProcessTable, RW, ALL),
    row(0x0800, "L0_GUEST_HEAP", Be64, RO, ALL),
    row(0x0801, "L0_GUEST_HEAP_MAX", Be64, RO, ALL),
    row(0x0802, "L0_GUEST_PGTABLE_SIZE", Be64, RO, ALL),
    row(0x0803, "L0_GUEST_PGTABLE_SIZE_MAX", Be64, RO, ALL),
    row(0x0804, "L0_GUEST_PGTABLE_RECLAIM", Be64, RO, ALL),
    row(0x0C00, "RUN_INPUT", BufferInfo, RW, ALL),
    row(0x0C01, "RUN_OUTPUT", BufferInfo, RW, ALL),
    row(0x0C02, "VPA", Be64, RW, ALL),
    row(0x1000, "GPR0", Be64, RW, ALL),
    row(0x1001, "GPR1", Be64, RW, ALL),
    row(0x1002, "GPR2", Be64, RW, ALL),
    row(0x1003, "GPR3", Be64, RW, ALL),
    row(0x1004, "GPR4", Be64, RW, ALL),
    row(0x1005, "GPR5", Be64, RW, ALL),
    row(0x1006, "GPR6", Be64, RW, ALL),
    row(0x1007, "GPR7", Be64, RW, ALL),
    row(0x1008, "GPR8", Be64, RW, ALL),
    row(0x1009, "GPR9", Be64, RW, ALL),
    row(0x100A, "GPR10", Be64, RW, ALL),
    row(0x100B, "GPR11", Be64, RW, ALL),
    row(0x100C, "GPR12", Be64, RW, ALL),
    row(0x100D, "GPR13", Be64, RW, ALL),
    row(0x100E, "GPR14", Be64, RW, ALL),
    row(0x100F, "GPR15", Be64, RW, ALL),
    row(0x1010, "GPR16", Be64, RW, ALL),
    row(0x1011, "GPR17", Be64, RW, ALL),
    row(0x1012, "GPR18", Be64, RW, ALL),
    row(0x1013, "GPR19", Be64, RW, ALL),
    row(0x1014, "GPR20", Be64, RW, ALL),
    row(0x1015, "GPR21", Be64, RW, ALL),
    row(0x1016, "GPR22", Be64, RW, ALL),
    row(0x1017, "GPR23", Be64, RW, ALL),
    row(0x1018, "GPR24", Be64, RW, ALL),
    row(0x1019, "GPR25", Be64, RW, ALL),
    row(0x101A, "GPR26", Be64, RW, ALL),
    row(0x101B, "GPR27", Be64, RW, ALL),
    row(0x101C, "GPR28", Be64, RW, ALL),
    row(0x101D, "GPR29", Be64, RW, ALL),
    row(0x101E, "GPR30", Be64, RW, ALL),
    row(0x101F, "GPR31", Be64, RW, ALL),
    row(0x1020, "HDEC_EXPIRY_TB", Be64, RW, ALL),
    row(0x1021, "NIA", Be64, RW, ALL),
    row(0x1022, "MSR", Be64, RW, MSR_SETTABLE),
    row(0x1023, "LR", Be64, RW, ALL),
    row(0x1024, "XER", Be64, RW, ALL),
    row(0x1025, "CTR", Be64, RW, ALL),
    row(0x1026, "CFAR", Be64, RW, ALL),
    row(0x1027, "SRR0", Be64, RW, ALL),
    row(0x1028, "SRR1", Be64, RW, ALL),
    row(0x1029, "DAR", Be64, RW, ALL),
    row(0x102A, "DEC_EXPIRY_TB", Be64, RW, ALL),
    row(0x102B, "VTB", Be64, RW, ALL),
    row(0x102C, "LPCR", Be64, RW, LPCR_SETTABLE),
    row(0x102D, "HFSCR", Be64, RW, ALL),
    row(0x102E, "FSCR", Be64, RW, ALL),
    row(0x102F, "FPSCR", Be64, RW, ALL),
    row(0x1030, "DAWR0", Be64, RW, ALL),
    row(0x1031, "DAWR1", Be64, RW, ALL),
    row(0x1032, "CIABR", Be64, RW, ALL),
    row(0x1033, "PURR", Be64, RW, ALL),
    row(0x1034, "SPURR", Be64, RW, ALL),
    row(0x1035, "IC", Be64, RW, ALL),
    row(0x1036, "SPRG0", Be64, RW, ALL),
    row(0x1037, "SPRG1", Be64, RW, ALL),
    row(0x1038, "SPRG2", Be64, RW, ALL),
    row(0x1039, "SPRG3", Be64, RW, ALL),
    row(0x103A, "PPR", Be64, RW, ALL),
    row(0x103B, "MMCR0", Be64, RW, ALL),
    row(0x103C, "MMCR1", Be64, RW, ALL),
    row(0x103D, "MMCR2", Be64, RW, ALL),
    row(0x103E, "MMCR3", Be64, RW, ALL),
    row(0x103F, "MMCRA", Be64, RW, ALL),
    row(0x1040, "SIER0", Be64, RW, ALL),
    row(0x1041, "SIER1", Be64, RW, ALL),
    row(0x1042, "SIER2", Be64, RW, ALL),
    row(0x1043, "BESCR", Be64, RW, ALL),
    row(0x1044, "EBBHR", Be64, RW, ALL),
    row(0x1045, "EBBRR", Be64, RW, ALL),
    row(0x1046, "AMR", Be64, RW, ALL),
    row(0x1047, "IAMR", Be64, RW, ALL),
    row(0x1048, "AMOR", Be64, RW, ALL),
    row(0x1049, "UAMOR", Be64, RW, ALL),
    row(0x104A, "SDAR", Be64, RW, ALL),
    row(0x104B, "SIAR", Be64, RW, ALL),
    row(0x104C, "DSCR", Be64, RW, ALL),
    row(0x104D, "TAR", Be64, RW, ALL),
    row(0x104E, "DEXCR", Be64, RW, ALL),
    row(0x104F, "HDEXCR", Be64, RW, ALL),
    row(0x1050, "HASHKEYR", Be64, RW, ALL),
    row(0x1051, "HASHPKEYR", Be64, RW, ALL),
    row(0x1052, "CTRL", Be64, RW, ALL),
    row(0x1053, "DPDES", Be64, RW, ALL),
    row(0x2000, "CR", Be32, RW, ALL),
    row(0x2001, "PIDR", Be32, RW, ALL),
    row(0x2002, "DSISR", Be32, RW, ALL),
    row(0x2003, "VSCR", Be32, RW, ALL),
    row(0x2004, "VRSAVE", Be32, RW, ALL),
    row(0x2005, "DAWRX0", Be32, RW, ALL),
    row(0x2006, "DAWRX1", Be32, RW, ALL),
    row(0x2007, "PMC1", Be32, RW, ALL),
    row(0x2008, "PMC2", Be32, RW, ALL),
    row(0x2009, "PMC3", Be32, RW, ALL),
    row(0x200A, "PMC4", Be32, RW, ALL),
    row(0x200B, "PMC5", Be32, RW, ALL),
    row(0x200C, "PMC6", Be32, RW, ALL),
    row(0x200D, "WORT", Be32, RW, ALL),
    row(0x200E, "PSPB", Be32, RW, ALL),
    row(0x3000, "VSR0", Vec128, RW, ALL),
    row(0x3001, "VSR1", Vec128, RW, ALL),
    row(0x3002, "VSR2", Vec128, RW, ALL),
    row(0x3003, "VSR3", Vec128, RW, ALL),
    row(0x3004, "VSR4", Vec128, RW, ALL),
    row(0x3005, "VSR5", Vec128, RW, ALL),
    row(0x3006, "VSR6", Vec128, RW, ALL),
    row(0x3007, "VSR7", Vec128, RW, ALL),
    row(0x3008, "VSR8", Vec128, RW, ALL),
    row(0x3009, "VSR9", Vec128, RW, ALL),
    row(0x300A, "VSR10", Vec128, RW, ALL),
    row(0x300B, "VSR11", Vec128, RW, ALL),
    row(0x300C, "VSR12", Vec128, RW, ALL),
    row(0x300D, "VSR13", Vec128, RW, ALL),
    row(0x300E, "VSR14", Vec128, RW, ALL),
    row(0x300F, "VSR15", Vec128, RW, ALL),
    row(0x3010, "VSR16", Vec128, RW, ALL),
    row(0x3011, "VSR17", Vec128, RW, ALL),
    row(0x3012, "VSR18", Vec128, RW, ALL),
    row(0x3013, "VSR19", Vec128, RW, ALL),
    row(0x3014, "VSR20", Vec128, RW, ALL),
    row(0x3015, "VSR21", Vec128, RW, ALL),
    row(0x3016, "VSR22", Vec128, RW, ALL),
    row(0x3017, "VSR23", Vec128, RW, ALL),
    row(0x3018, "VSR24", Vec128, RW, ALL),
    row(0x3019, "VSR25", Vec128, RW, ALL),
    row(0x301A, "VSR26", Vec128, RW, ALL),
    row(0x301B, "VSR27", Vec128, RW, ALL),
    row(0x301C, "VSR28", Vec128, RW, ALL),
    row(0x301D, "VSR29", Vec128, RW, ALL),
    row(0x301E, "VSR30", Vec128, RW, ALL),
    row(0x301F, "VSR31", Vec128, RW, ALL),
    row(0x3020, "VSR32", Vec128, RW, ALL),
    row(0x3021, "VSR33", Vec128, RW, ALL),
    row(0x3022, "VSR34", Vec128, RW, ALL),
    row(0x3023, "VSR35", Vec128, RW, ALL),
    row(0x3024, "VSR36", Vec128, RW, ALL),
    row(0x3025, "VSR37", Vec128, RW, ALL),
    row(0x3026, "VSR38", Vec128, RW, ALL),
    row(0x3027, "VSR39", Vec128, RW, ALL),
    row(0x3028, "VSR40", Vec128, RW, ALL),
    row(0x3029, "VSR41", Vec128, RW, ALL),
    row(0x302A, "VSR42", Vec128, RW, ALL),
    row(0x302B, "VSR43", Vec128, RW, ALL),
    row(0x302C, "VSR44", Vec128, RW, ALL),
    row(0x302D, "VSR45", Vec128, RW, ALL),
    row(0x302E, "VSR46", Vec128, RW, ALL),
    row(0x302F, "VSR47", Vec128, RW, ALL),
    row(0x3030, "VSR48", Vec128, RW, ALL),
    row(0x3031, "VSR49", Vec128, RW, ALL),
    row(0x3032, "VSR50", Vec128, RW, ALL),
    row(0x3033, "VSR51", Vec128, RW, ALL),
    row(0x3034, "VSR52", Vec128, RW, ALL),
    row(0x3035, "VSR53", Vec128, RW, ALL),
    row(0x3036, "VSR54", Vec128, RW, ALL),
    row(0x3037, "VSR55", Vec128, RW, ALL),
    row(0x3038, "VSR56", Vec128, RW, ALL),
    row(0x3039, "VSR57", Vec128, RW, ALL),
    row(0x303A, "VSR58", Vec128, RW, ALL),
    row(0x303B, "VSR59", Vec128, RW, ALL),
    row(0x303C, "VSR60", Vec128, RW, ALL),
    row(0x303D, "VSR61", Vec128, RW, ALL),
    row(0x303E, "VSR62", Vec128, RW, ALL),
    row(0x303F, "VSR63", Vec128, RW, ALL),
    row(0xF000, "HDAR", Be64, RO, ALL),
    row(0xF001, "HDSISR", Be32, RO, ALL),
    // Four bytes, as the PAPR table in Documentation/arch/powerpc/
    // kvm-nested.rst and QEMU's L0 have it; the kernel's C library reads
    // eight, and would reject a conforming L0's 0xE40 run output.
    row(0xF002, "HEIR", Be32, RO, ALL),
    row(0xF003, "ASDR", Be64, RO, ALL),
];

/// The classes' ID ranges and where each starts in [`TABLE`].
const RANGES: [(Class, u16, u16, usize); 7] = [
    (Class::GuestWide, 0x0001, 0x0006, 0),
    (Class::HostWide, 0x0800, 0x0804, 6),
    (Class::Meta, 0x0C00, 0x0C02, 11),
    (Class::DwordReg, 0x1000, 0x1053, 14),
    (Class::WordReg, 0x2000, 0x200E, 98),
    (Class::Vector, 0x3000, 0x303F, 113),
    (Class::Intr, 0xF000, 0xF003, 177),
];

/// The class and dense index of a raw ID, if it is a known one.
const fn lookup(raw: u16) -> Option<(Class, usize)> {
    let mut i = 0;
    while i < RANGES.len() {
        let (class, first, last, base) = RANGES[i];
        if raw >= first && raw <= last {
            return Some((class, base + (raw - first) as usize));
        }
        i += 1;
    }
    None
}

/// A known guest state ID. Only IDs in [`TABLE`] can be made, so every
/// query on an `Id` has an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(u16);

impl Id {
    /// The ID for `raw`, or `None` where the PAPR defines none.
    pub const fn new(raw: u16) -> Option<Id> {
        match lookup(raw) {
            Some(_) => Some(Id(raw)),
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
        TABLE.get(index).map(|row| Id(row.id))
    }

    /// GPR `n` (0..=31).
    pub const fn gpr(n: u8) -> Option<Id> {
        if n < 32 {
            Some(Id(0x1000 + n as u16))
        } else {
            None
        }
    }

    /// VSR `n` (0..=63).
    pub const fn vsr(n: u8) -> Option<Id> {
        if n < 64 {
            Some(Id(0x3000 + n as u16))
        } else {
            None
        }
    }

    /// The raw 16-bit ID.
    pub const fn raw(self) -> u16 {
        self.0
    }

    /// The position of this ID in [`TABLE`] (and in an [`super::IdSet`]).
    pub const fn index(self) -> usize {
        match lookup(self.0) {
            Some((_, index)) => index,
            // `Id`s are only made for known IDs.
            None => unreachable!(),
        }
    }

    /// The row of [`TABLE`] for this ID.
    pub fn info(self) -> &'static IdInfo {
        &TABLE[self.index()]
    }

    /// The range this ID is in.
    pub const fn class(self) -> Class {
        match lookup(self.0) {
            Some((class, _)) => class,
            None => unreachable!(),
        }
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
        self.info().ty
    }

    /// Bytes of data the element carries.
    pub fn size(self) -> usize {
        self.ty().size()
    }

    /// The PAPR name, for logs.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Whether the L1 may only read the element.
    pub fn is_read_only(self) -> bool {
        self.info().access == Access::ReadOnly
    }

    /// The bits of a register element the L1 may set.
    pub fn settable(self) -> u64 {
        self.info().settable
    }

    /// `HOST_STATE_SIZE`.
    pub const HOST_STATE_SIZE: Id = Id::known(0x0001);
    /// `RUN_OUTPUT_MIN_SIZE`.
    pub const RUN_OUTPUT_MIN_SIZE: Id = Id::known(0x0002);
    /// `LOGICAL_PVR`.
    pub const LOGICAL_PVR: Id = Id::known(0x0003);
    /// `TB_OFFSET`.
    pub const TB_OFFSET: Id = Id::known(0x0004);
    /// `PARTITION_TABLE`.
    pub const PARTITION_TABLE: Id = Id::known(0x0005);
    /// `PROCESS_TABLE`.
    pub const PROCESS_TABLE: Id = Id::known(0x0006);
    /// `L0_GUEST_HEAP`.
    pub const L0_GUEST_HEAP: Id = Id::known(0x0800);
    /// `L0_GUEST_HEAP_MAX`.
    pub const L0_GUEST_HEAP_MAX: Id = Id::known(0x0801);
    /// `L0_GUEST_PGTABLE_SIZE`.
    pub const L0_GUEST_PGTABLE_SIZE: Id = Id::known(0x0802);
    /// `L0_GUEST_PGTABLE_SIZE_MAX`.
    pub const L0_GUEST_PGTABLE_SIZE_MAX: Id = Id::known(0x0803);
    /// `L0_GUEST_PGTABLE_RECLAIM`.
    pub const L0_GUEST_PGTABLE_RECLAIM: Id = Id::known(0x0804);
    /// `RUN_INPUT`.
    pub const RUN_INPUT: Id = Id::known(0x0C00);
    /// `RUN_OUTPUT`.
    pub const RUN_OUTPUT: Id = Id::known(0x0C01);
    /// `VPA`.
    pub const VPA: Id = Id::known(0x0C02);
    /// `GPR0` to `GPR31`, indexed by register number.
    pub const GPRS: [Id; 32] = {
        let mut gprs = [Id::known(0x1000); 32];
        let mut n = 0;
        while n < gprs.len() {
            gprs[n] = Id::known(0x1000 + n as u16);
            n += 1;
        }
        gprs
    };
    /// `HDEC_EXPIRY_TB`.
    pub const HDEC_EXPIRY_TB: Id = Id::known(0x1020);
    /// `NIA`.
    pub const NIA: Id = Id::known(0x1021);
    /// `MSR`.
    pub const MSR: Id = Id::known(0x1022);
    /// `LR`.
    pub const LR: Id = Id::known(0x1023);
    /// `XER`.
    pub const XER: Id = Id::known(0x1024);
    /// `CTR`.
    pub const CTR: Id = Id::known(0x1025);
    /// `CFAR`.
    pub const CFAR: Id = Id::known(0x1026);
    /// `SRR0`.
    pub const SRR0: Id = Id::known(0x1027);
    /// `SRR1`.
    pub const SRR1: Id = Id::known(0x1028);
    /// `DAR`.
    pub const DAR: Id = Id::known(0x1029);
    /// `DEC_EXPIRY_TB`.
    pub const DEC_EXPIRY_TB: Id = Id::known(0x102A);
    /// `VTB`.
    pub const VTB: Id = Id::known(0x102B);
    /// `LPCR`.
    pub const LPCR: Id = Id::known(0x102C);
    /// `HFSCR`.
    pub const HFSCR: Id = Id::known(0x102D);
    /// `FSCR`.
    pub const FSCR: Id = Id::known(0x102E);
    /// `FPSCR`.
    pub const FPSCR: Id = Id::known(0x102F);
    /// `DAWR0`.
    pub const DAWR0: Id = Id::known(0x1030);
    /// `DAWR1`.
    pub const DAWR1: Id = Id::known(0x1031);
    /// `CIABR`.
    pub const CIABR: Id = Id::known(0x1032);
    /// `PURR`.
    pub const PURR: Id = Id::known(0x1033);
    /// `SPURR`.
    pub const SPURR: Id = Id::known(0x1034);
    /// `IC`.
    pub const IC: Id = Id::known(0x1035);
    /// `SPRG0`.
    pub const SPRG0: Id = Id::known(0x1036);
    /// `SPRG1`.
    pub const SPRG1: Id = Id::known(0x1037);
    /// `SPRG2`.
    pub const SPRG2: Id = Id::known(0x1038);
    /// `SPRG3`.
    pub const SPRG3: Id = Id::known(0x1039);
    /// `PPR`.
    pub const PPR: Id = Id::known(0x103A);
    /// `MMCR0`.
    pub const MMCR0: Id = Id::known(0x103B);
    /// `MMCR1`.
    pub const MMCR1: Id = Id::known(0x103C);
    /// `MMCR2`.
    pub const MMCR2: Id = Id::known(0x103D);
    /// `MMCR3`.
    pub const MMCR3: Id = Id::known(0x103E);
    /// `MMCRA`.
    pub const MMCRA: Id = Id::known(0x103F);
    /// `SIER0`.
    pub const SIER0: Id = Id::known(0x1040);
    /// `SIER1`.
    pub const SIER1: Id = Id::known(0x1041);
    /// `SIER2`.
    pub const SIER2: Id = Id::known(0x1042);
    /// `BESCR`.
    pub const BESCR: Id = Id::known(0x1043);
    /// `EBBHR`.
    pub const EBBHR: Id = Id::known(0x1044);
    /// `EBBRR`.
    pub const EBBRR: Id = Id::known(0x1045);
    /// `AMR`.
    pub const AMR: Id = Id::known(0x1046);
    /// `IAMR`.
    pub const IAMR: Id = Id::known(0x1047);
    /// `AMOR`.
    pub const AMOR: Id = Id::known(0x1048);
    /// `UAMOR`.
    pub const UAMOR: Id = Id::known(0x1049);
    /// `SDAR`.
    pub const SDAR: Id = Id::known(0x104A);
    /// `SIAR`.
    pub const SIAR: Id = Id::known(0x104B);
    /// `DSCR`.
    pub const DSCR: Id = Id::known(0x104C);
    /// `TAR`.
    pub const TAR: Id = Id::known(0x104D);
    /// `DEXCR`.
    pub const DEXCR: Id = Id::known(0x104E);
    /// `HDEXCR`.
    pub const HDEXCR: Id = Id::known(0x104F);
    /// `HASHKEYR`.
    pub const HASHKEYR: Id = Id::known(0x1050);
    /// `HASHPKEYR`.
    pub const HASHPKEYR: Id = Id::known(0x1051);
    /// `CTRL`.
    pub const CTRL: Id = Id::known(0x1052);
    /// `DPDES`.
    pub const DPDES: Id = Id::known(0x1053);
    /// `CR`.
    pub const CR: Id = Id::known(0x2000);
    /// `PIDR`.
    pub const PIDR: Id = Id::known(0x2001);
    /// `DSISR`.
    pub const DSISR: Id = Id::known(0x2002);
    /// `VSCR`.
    pub const VSCR: Id = Id::known(0x2003);
    /// `VRSAVE`.
    pub const VRSAVE: Id = Id::known(0x2004);
    /// `DAWRX0`.
    pub const DAWRX0: Id = Id::known(0x2005);
    /// `DAWRX1`.
    pub const DAWRX1: Id = Id::known(0x2006);
    /// `PMC1`.
    pub const PMC1: Id = Id::known(0x2007);
    /// `PMC2`.
    pub const PMC2: Id = Id::known(0x2008);
    /// `PMC3`.
    pub const PMC3: Id = Id::known(0x2009);
    /// `PMC4`.
    pub const PMC4: Id = Id::known(0x200A);
    /// `PMC5`.
    pub const PMC5: Id = Id::known(0x200B);
    /// `PMC6`.
    pub const PMC6: Id = Id::known(0x200C);
    /// `WORT`.
    pub const WORT: Id = Id::known(0x200D);
    /// `PSPB`.
    pub const PSPB: Id = Id::known(0x200E);
    /// `HDAR`.
    pub const HDAR: Id = Id::known(0xF000);
    /// `HDSISR`.
    pub const HDSISR: Id = Id::known(0xF001);
    /// `HEIR`.
    pub const HEIR: Id = Id::known(0xF002);
    /// `ASDR`.
    pub const ASDR: Id = Id::known(0xF003);
}
