// SPDX-License-Identifier: GPL-2.0

//! `KVM_GET_ONE_REG` and `KVM_SET_ONE_REG`: KVM's powerpc register IDs
//! (`KVM_REG_PPC_*`). Most reach the guest state element the ID table's
//! KVM column ([`crate::gsb::ids::KVM_REGS`]) gives them; the rest are
//! what kvm-hv has for a vCPU beyond the guest state, each named once in
//! [`Held`] or [`Special`].
//!
//! A register's bytes at `addr` are as KVM has them: a native-endian
//! integer of the size the ID encodes; a 128-bit register (a VSR, a VR)
//! as KVM lays out a vector on this kernel's endianness: on little-endian
//! the architected doubleword 0 (for VSR0-31 the FPR) is the second 8
//! bytes, as `TS_FPROFFSET` has it.

use crate::gsb::{
    ids::{ElemType, Scope, KVM_REGS},
    value::Vec128,
    Id, Value,
};
use kernel::{
    prelude::*,
    transmute::FromBytes,
    uaccess::{UserPtr, UserSlice},
    uapi,
};

/// `struct kvm_one_reg`, as read from userspace.
#[repr(transparent)]
struct OneReg(uapi::kvm_one_reg);

// SAFETY: the struct is two `__u64`s, with no padding: every bit pattern
// is a valid value.
unsafe impl FromBytes for OneReg {}

/// Declares [`Held`]: the registers kvm-hv keeps for a vCPU that no guest
/// state element carries, each with its KVM ID and the bits a set keeps.
/// The L1 holds them for the VMM (a get gives back what was set, 0 at
/// first); the L2 never sees them, as on kvm-hv nestedv2, which sends
/// none of them to the L0.
macro_rules! held {
    ($($(#[$doc:meta])* $name:ident = $kvm:ident, $mask:expr;)*) => {
        /// A register of [`held!`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(super) enum Held {
            $($(#[$doc])* $name,)*
        }

        impl Held {
            /// Every held register, in declaration order (its index in
            /// [`HeldRegs`]).
            const ALL: [Held; [$(Held::$name),*].len()] = [$(Held::$name),*];

            /// Its KVM ID.
            const fn kvm_id(self) -> u64 {
                match self {
                    $(Held::$name => uapi::$kvm,)*
                }
            }

            /// The bits a set keeps (kvm-hv's masks).
            const fn mask(self) -> u64 {
                match self {
                    $(Held::$name => $mask,)*
                }
            }
        }
    };
}

/// `PSSCR_GUEST_VIS`: the PSSCR bits a guest sees.
const PSSCR_GUEST_VIS: u64 = 0xf000_0000_0000_03ff;

held! {
    /// POWER8 supervisor PMCs.
    Spmc1 = KVM_REG_PPC_SPMC1, u32::MAX as u64;
    /// POWER8 supervisor PMCs.
    Spmc2 = KVM_REG_PPC_SPMC2, u32::MAX as u64;
    /// POWER8 monitor mode control.
    Mmcrs = KVM_REG_PPC_MMCRS, u64::MAX;
    /// POWER8 coprocessor registers.
    Csigr = KVM_REG_PPC_CSIGR, u64::MAX;
    /// ... and its thread allocation.
    Tacr = KVM_REG_PPC_TACR, u64::MAX;
    /// ... and its thread status.
    Tcscr = KVM_REG_PPC_TCSCR, u64::MAX;
    /// ... and its access control.
    Acop = KVM_REG_PPC_ACOP, u64::MAX;
    /// Processor stop status and control, its guest-visible bits.
    Psscr = KVM_REG_PPC_PSSCR, PSSCR_GUEST_VIS;
    /// The partition table of a nested hypervisor (KVM's nested v1).
    Ptcr = KVM_REG_PPC_PTCR, u64::MAX;
    /// Whether the VMM counts the vCPU online.
    Online = KVM_REG_PPC_ONLINE, u32::MAX as u64;
}

/// The values of the [`Held`] registers of one vCPU.
#[derive(Default)]
pub(super) struct HeldRegs([u64; Held::ALL.len()]);

impl HeldRegs {
    fn get(&self, r: Held) -> u64 {
        self.0[r as usize]
    }

    fn set(&mut self, r: Held, v: u64) {
        self.0[r as usize] = v & r.mask();
    }
}

/// The registers that are neither an element of the guest state nor
/// [`Held`]: each has a rule of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Special {
    /// `KVM_REG_PPC_LPCR`: the low word of LPCR; a set changes only the
    /// bits userspace may change there, and keeps the high word.
    Lpcr32,
    /// `KVM_REG_PPC_LPCR_64`: LPCR; a set changes only the bits userspace
    /// may change.
    Lpcr64,
    /// `KVM_REG_PPC_TB_OFFSET` on a vCPU fd: the guest's (one per virtual
    /// core on kvm-hv, one per guest here), rounded up to 2^24 on a set.
    TbOffset,
    /// `KVM_REG_PPC_ARCH_COMPAT` on a vCPU fd: the guest's logical PVR; 0
    /// (the processor's own) is kept by the L1 and never sent.
    ArchCompat,
    /// `KVM_REG_PPC_VPA_ADDR`: the VPA's guest real address (0: none).
    VpaAddr,
    /// `KVM_REG_PPC_VPA_SLB`: the SLB shadow buffer, address and length.
    VpaSlb,
    /// `KVM_REG_PPC_VPA_DTL`: the dispatch trace log, address and length.
    VpaDtl,
    /// `KVM_REG_PPC_HIOR`: reads 0, and takes only 0.
    Hior,
    /// `KVM_REG_PPC_DEBUG_INST`: the instruction a software breakpoint
    /// is made of (read only, as on kvm-hv).
    DebugInst,
}

/// The instruction KVM has userspace plant for a software breakpoint
/// (`KVMPPC_INST_SW_BREAKPOINT`): an illegal instruction the L2 traps on.
const SW_BREAKPOINT: u64 = 0x00dd_dd00;

/// The registers of [`Special`] with their KVM IDs.
const SPECIAL: [(u64, Special); 9] = [
    (uapi::KVM_REG_PPC_LPCR, Special::Lpcr32),
    (uapi::KVM_REG_PPC_LPCR_64, Special::Lpcr64),
    (uapi::KVM_REG_PPC_TB_OFFSET, Special::TbOffset),
    (uapi::KVM_REG_PPC_ARCH_COMPAT, Special::ArchCompat),
    (uapi::KVM_REG_PPC_VPA_ADDR, Special::VpaAddr),
    (uapi::KVM_REG_PPC_VPA_SLB, Special::VpaSlb),
    (uapi::KVM_REG_PPC_VPA_DTL, Special::VpaDtl),
    (uapi::KVM_REG_PPC_HIOR, Special::Hior),
    (uapi::KVM_REG_PPC_DEBUG_INST, Special::DebugInst),
];

/// What a KVM register ID names, for an fd of a scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Target {
    /// A guest state element of the fd's scope.
    Element(Id),
    /// A register the L1 holds for the vCPU.
    Held(Held),
    /// A register with a rule of its own (vCPU fds only).
    Special(Special),
}

/// The bytes of KVM register `reg`, from the size its ID encodes.
fn size_of_reg(reg: u64) -> usize {
    1 << ((reg & uapi::KVM_REG_SIZE_MASK) >> uapi::KVM_REG_SIZE_SHIFT)
}

/// What KVM register `reg` names on an fd of `scope`, or `-EINVAL` (as
/// kvm-hv answers for every ID it does not handle): an ID KVM has no
/// register for here (among them the transactional memory registers
/// TFHAR, TFIAR and TEXASR, there being no TM, and ICP_STATE, there
/// being no in-kernel interrupt controller), an ID of another size, an
/// element of the other fd's scope.
///
/// No element that names L1 memory has a KVM ID (checked when the table
/// is compiled).
fn target(reg: u64, scope: Scope) -> Result<Target> {
    if scope == Scope::Thread {
        if let Some((_, s)) = SPECIAL.iter().find(|(id, _)| *id == reg) {
            return Ok(Target::Special(*s));
        }
        if let Some(h) = Held::ALL.iter().find(|h| h.kvm_id() == reg) {
            return Ok(Target::Held(*h));
        }
    }
    let index = KVM_REGS
        .iter()
        .position(|r| *r == Some(reg))
        .ok_or(EINVAL)?;
    let id = Id::from_index(index).ok_or(EINVAL)?;
    if id.scope() != scope {
        return Err(EINVAL);
    }
    Ok(Target::Element(id))
}

/// A `KVM_{GET,SET}_ONE_REG` request, checked against the fd it came on.
pub(super) struct Request {
    /// What the register is.
    pub(super) target: Target,
    /// Bytes of the register, from its KVM ID: 4, 8 or 16.
    size: usize,
    /// Where userspace keeps the register's bytes.
    addr: usize,
}

/// `dw0`, `dw1` of a 128-bit register as KVM lays its bytes out: first
/// and second on big-endian, second and first on little-endian.
fn vector_bytes(v: Vec128) -> [u8; 16] {
    let (first, second) = if cfg!(target_endian = "little") {
        (v.dw1, v.dw0)
    } else {
        (v.dw0, v.dw1)
    };
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&first.to_ne_bytes());
    b[8..].copy_from_slice(&second.to_ne_bytes());
    b
}

/// The inverse of [`vector_bytes`].
fn vector_of(b: &[u8; 16]) -> Vec128 {
    let dw = |at: usize| {
        let mut d = [0u8; 8];
        d.copy_from_slice(&b[at..at + 8]);
        u64::from_ne_bytes(d)
    };
    if cfg!(target_endian = "little") {
        Vec128 {
            dw0: dw(8),
            dw1: dw(0),
        }
    } else {
        Vec128 {
            dw0: dw(0),
            dw1: dw(8),
        }
    }
}

impl Request {
    /// Reads `struct kvm_one_reg` at `arg` and checks it for an fd of
    /// `scope` (see [`target`]).
    pub(super) fn read(arg: usize, scope: Scope) -> Result<Request> {
        let len = core::mem::size_of::<OneReg>();
        let r = UserSlice::new(UserPtr::from_addr(arg), len)
            .reader()
            .read::<OneReg>()?
            .0;
        let target = target(r.id, scope)?;
        let size = size_of_reg(r.id);
        let fits = match target {
            Target::Element(id) => match id.ty() {
                ElemType::Be32 => size == 4 || size == 8,
                ElemType::Be64 => size == 8,
                ElemType::Vec128 => size == 16,
                _ => false,
            },
            // Their IDs come from the uapi header with their sizes.
            Target::Held(_) | Target::Special(_) => true,
        };
        if !fits {
            return Err(EINVAL);
        }
        Ok(Request {
            target,
            size,
            addr: usize::try_from(r.addr).map_err(|_| EFAULT)?,
        })
    }

    /// The element the request names, or `-EINVAL` for another target.
    pub(super) fn element(&self) -> Result<Id> {
        match self.target {
            Target::Element(id) => Ok(id),
            _ => Err(EINVAL),
        }
    }

    /// Writes `v`, the element's value, to userspace as the register.
    pub(super) fn put(&self, v: Value) -> Result<isize> {
        match (v, self.size) {
            (Value::Be32(x), _) => self.put_u64(x.into()),
            (Value::Be64(x), 8) => self.put_u64(x),
            (Value::Vec128(x), 16) => self.put_bytes(&vector_bytes(x)),
            // `read` rules every other pair out.
            _ => Err(EPROTO),
        }
    }

    /// Writes `x` to userspace as a register of the ID's size (4 or 8
    /// bytes: `x` must fit; 16: `x` and a second doubleword `0`).
    pub(super) fn put_u64(&self, x: u64) -> Result<isize> {
        match self.size {
            4 => self.put_bytes(&u32::try_from(x).map_err(|_| EPROTO)?.to_ne_bytes()),
            8 => self.put_bytes(&x.to_ne_bytes()),
            _ => Err(EPROTO),
        }
    }

    /// Writes an address and a length as a 128-bit register of two
    /// doublewords (`vpaval` of `union kvmppc_one_reg`).
    pub(super) fn put_pair(&self, addr: u64, len: u64) -> Result<isize> {
        if self.size != 16 {
            return Err(EPROTO);
        }
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&addr.to_ne_bytes());
        b[8..].copy_from_slice(&len.to_ne_bytes());
        self.put_bytes(&b)
    }

    fn put_bytes(&self, b: &[u8]) -> Result<isize> {
        UserSlice::new(UserPtr::from_addr(self.addr), self.size)
            .writer()
            .write_slice(&b[..self.size])?;
        Ok(0)
    }

    fn read_bytes(&self) -> Result<[u8; 16]> {
        let mut bytes = [0u8; 16];
        UserSlice::new(UserPtr::from_addr(self.addr), self.size)
            .reader()
            .read_slice(&mut bytes[..self.size])?;
        Ok(bytes)
    }

    /// Reads the register from userspace as an integer (4 or 8 bytes).
    pub(super) fn take_u64(&self) -> Result<u64> {
        let b = self.read_bytes()?;
        match self.size {
            4 => Ok(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]).into()),
            8 => Ok(u64::from_ne_bytes([
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
            ])),
            _ => Err(EINVAL),
        }
    }

    /// Reads a 128-bit register of an address and a length.
    pub(super) fn take_pair(&self) -> Result<(u64, u64)> {
        if self.size != 16 {
            return Err(EINVAL);
        }
        let b = self.read_bytes()?;
        let dw = |at: usize| {
            let mut d = [0u8; 8];
            d.copy_from_slice(&b[at..at + 8]);
            u64::from_ne_bytes(d)
        };
        Ok((dw(0), dw(8)))
    }

    /// Reads the register from userspace as the element's value. A word
    /// element that KVM makes a doubleword register takes no value over 32
    /// bits (`-EINVAL`); whether the L1 may set the bits is the element's
    /// own check, made by whoever sets it.
    pub(super) fn take(&self) -> Result<Value> {
        let id = self.element()?;
        match id.ty() {
            ElemType::Be32 => Ok(Value::Be32(
                u32::try_from(self.take_u64()?).map_err(|_| EINVAL)?,
            )),
            ElemType::Be64 => Ok(Value::Be64(self.take_u64()?)),
            ElemType::Vec128 => Ok(Value::Vec128(vector_of(&self.read_bytes()?))),
            _ => Err(EPROTO),
        }
    }

    /// A get of held register `r` from `regs`.
    pub(super) fn get_held(&self, regs: &HeldRegs, r: Held) -> Result<isize> {
        self.put_u64(regs.get(r))
    }

    /// A set of held register `r` in `regs`: the bits it keeps.
    pub(super) fn set_held(&self, regs: &mut HeldRegs, r: Held) -> Result<isize> {
        let v = self.take_u64()?;
        regs.set(r, v);
        Ok(0)
    }

    /// `KVM_REG_PPC_DEBUG_INST`.
    pub(super) fn debug_inst(&self) -> Result<isize> {
        self.put_u64(SW_BREAKPOINT)
    }
}
