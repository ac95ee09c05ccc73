// SPDX-License-Identifier: GPL-2.0

//! The hypervisor calls `KVM_RUN` answers in the kernel, as kvm-hv does,
//! because a VMM cannot: H_CEDE (the vCPU sleeps until it has something
//! to do), H_PROD, H_CONFER, H_REGISTER_VPA and H_SET_MODE for the
//! breakpoint registers. Every other call goes to the VMM as
//! `KVM_EXIT_PAPR_HCALL`.
//!
//! QEMU under KVM cannot take these: its H_CEDE halts a vCPU it never
//! wakes (it emulates no decrementer under KVM), its H_CONFER and the
//! breakpoint resources of its H_SET_MODE assert that they run under TCG.

use crate::gsb::{Id, Value};
use kernel::{
    bindings,
    prelude::*,
    sync::atomic::{ordering::Relaxed, Atomic},
};

/// Declares [`InKernel`]: each call the kernel can answer, with its
/// `asm/hvcall.h` opcode and whether it is answered from the start.
macro_rules! in_kernel {
    ($($(#[$doc:meta])* $name:ident = $op:ident, $default:literal;)*) => {
        /// A hypervisor call `KVM_RUN` can answer itself.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(super) enum InKernel {
            $($(#[$doc])* $name,)*
        }

        impl InKernel {
            const ALL: [InKernel; [$(InKernel::$name),*].len()] = [$(InKernel::$name),*];

            /// The call with opcode `op`, if the kernel can answer it.
            pub(super) fn from_opcode(op: u64) -> Option<InKernel> {
                InKernel::ALL.iter().copied().find(|c| c.opcode() == op)
            }

            const fn opcode(self) -> u64 {
                match self {
                    $(InKernel::$name => bindings::$op as u64,)*
                }
            }

            /// The calls answered until the VMM says otherwise
            /// (`KVM_CAP_PPC_ENABLE_HCALL`), as bits by position in
            /// [`InKernel::ALL`].
            const DEFAULT: u32 = 0 $(| ((($default as u32) & 1) << (InKernel::$name as u32)))*;
        }
    };
}

in_kernel! {
    /// Sleep until an interrupt, a prod or the decrementer.
    Cede = H_CEDE, true;
    /// Give up the processor, to another vCPU or any.
    Confer = H_CONFER, true;
    /// Wake another vCPU (or this one's next cede).
    Prod = H_PROD, true;
    /// Register or deregister the VPA, the dispatch trace log or the SLB
    /// shadow buffer of a vCPU.
    RegisterVpa = H_REGISTER_VPA, true;
    /// The breakpoint registers (CIABR, DAWR0, DAWR1); the other resources
    /// (endianness, interrupt location) go to the VMM, which changes LPCR.
    /// Answered once the VMM enables it, as kvm-hv (not in its default
    /// list).
    SetMode = H_SET_MODE, false;
}

/// Which calls of [`InKernel`] a VM answers in the kernel: a bit each.
pub(super) struct Enabled(Atomic<u32>);

impl Enabled {
    /// kvm-hv's default: all but H_SET_MODE.
    pub(super) fn new() -> Enabled {
        Enabled(Atomic::new(InKernel::DEFAULT))
    }

    /// Whether `c` is answered in the kernel.
    pub(super) fn has(&self, c: InKernel) -> bool {
        self.0.load(Relaxed) & (1 << c as u32) != 0
    }

    /// `KVM_ENABLE_CAP(KVM_CAP_PPC_ENABLE_HCALL, opcode, on)`: the call is
    /// answered in the kernel (`on` 1) or goes to the VMM (0). `-EINVAL`
    /// for a call the kernel cannot answer, or `on` other than 0 and 1, as
    /// kvm-hv.
    pub(super) fn enable(&self, opcode: u64, on: u64) -> Result {
        let c = InKernel::from_opcode(opcode).ok_or(EINVAL)?;
        let bit = 1 << c as u32;
        if on > 1 {
            return Err(EINVAL);
        }
        let mut cur = self.0.load(Relaxed);
        loop {
            let new = if on == 1 { cur | bit } else { cur & !bit };
            match self.0.cmpxchg(cur, new, Relaxed) {
                Ok(_) => return Ok(()),
                Err(seen) => cur = seen,
            }
        }
    }
}

/// A PAPR status in GPR3.
pub(super) fn status(rc: i32) -> u64 {
    i64::from(rc) as u64
}

/// `H_SUCCESS`.
pub(super) const H_SUCCESS: u64 = bindings::H_SUCCESS as u64;

/// The bytes kvm-hv requires of a VPA (`sizeof(struct lppaca)`).
const LPPACA_SIZE: u64 = 640;
/// The bytes of one dispatch trace log entry (`struct dtl_entry`).
const DTL_ENTRY_SIZE: u64 = 48;
/// Where the VPA keeps its yield count: odd while the vCPU is not
/// running (`lppaca.yield_count`, at the start of its third cache line).
pub(super) const YIELD_COUNT_OFFSET: u64 = 0x100;
/// The alignment of each area: a cache line (`L1_CACHE_BYTES`).
const AREA_ALIGN: u64 = 128;

/// A vCPU's VPA, dispatch trace log and SLB shadow buffer, as the L2
/// (H_REGISTER_VPA) or the VMM (`KVM_REG_PPC_VPA_*`) registered them:
/// guest real addresses (0: none) and lengths. kvm-hv's rules: the log
/// and the buffer need a VPA, and the VPA cannot go while either is
/// there.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(super) struct Vpa {
    pub(super) vpa: u64,
    pub(super) slb: (u64, u64),
    pub(super) dtl: (u64, u64),
}

impl Vpa {
    /// `KVM_REG_PPC_VPA_ADDR`: `-EINVAL` for an address not a cache line
    /// aligned, or 0 while a log or buffer is registered.
    pub(super) fn set_vpa(&mut self, addr: u64) -> Result {
        if !addr.is_multiple_of(AREA_ALIGN) || (addr == 0 && (self.slb.0 != 0 || self.dtl.0 != 0)) {
            return Err(EINVAL);
        }
        self.vpa = addr;
        Ok(())
    }

    /// `KVM_REG_PPC_VPA_SLB`: `-EINVAL` without a VPA, or misaligned.
    pub(super) fn set_slb(&mut self, addr: u64, len: u64) -> Result {
        if !addr.is_multiple_of(AREA_ALIGN) || (addr != 0 && self.vpa == 0) {
            return Err(EINVAL);
        }
        self.slb = if addr == 0 { (0, 0) } else { (addr, len) };
        Ok(())
    }

    /// `KVM_REG_PPC_VPA_DTL`: `-EINVAL` without a VPA, misaligned, or
    /// shorter than an entry; the length is rounded down to whole entries.
    pub(super) fn set_dtl(&mut self, addr: u64, len: u64) -> Result {
        if !addr.is_multiple_of(AREA_ALIGN)
            || (addr != 0 && (len < DTL_ENTRY_SIZE || self.vpa == 0))
        {
            return Err(EINVAL);
        }
        self.dtl = if addr == 0 {
            (0, 0)
        } else {
            (addr, len - len % DTL_ENTRY_SIZE)
        };
        Ok(())
    }

    /// H_REGISTER_VPA subfunction `func` (`H_VPA_REG_*`, `H_VPA_DEREG_*`)
    /// of the area at `addr` whose length field (at byte 4: 16 bits for a
    /// VPA, 32 for the others) `len_of` reads from guest memory, `None`
    /// where the address is outside the L2's memory. Returns the PAPR
    /// status, as `do_h_register_vpa()`.
    pub(super) fn register(
        &mut self,
        func: u64,
        addr: u64,
        len_of: impl FnOnce(bool) -> Option<u64>,
    ) -> u64 {
        let param = status(bindings::H_PARAMETER);
        let resource = status(bindings::H_RESOURCE);
        let func = func as u32;
        match func {
            bindings::H_VPA_REG_VPA | bindings::H_VPA_REG_DTL | bindings::H_VPA_REG_SLB => {
                if addr == 0 || !addr.is_multiple_of(AREA_ALIGN) {
                    return param;
                }
                let Some(len) = len_of(func == bindings::H_VPA_REG_VPA) else {
                    return param;
                };
                // The area must hold at least its header (`struct
                // reg_vpa`), and (the L1 reads only through slots)
                // nothing is known of its end but that.
                if len < 8 {
                    return param;
                }
                match func {
                    bindings::H_VPA_REG_VPA => {
                        if len < LPPACA_SIZE {
                            return param;
                        }
                        self.vpa = addr;
                    }
                    bindings::H_VPA_REG_DTL => {
                        if len < DTL_ENTRY_SIZE {
                            return param;
                        }
                        if self.vpa == 0 {
                            return resource;
                        }
                        self.dtl = (addr, len - len % DTL_ENTRY_SIZE);
                    }
                    _ => {
                        if self.vpa == 0 {
                            return resource;
                        }
                        self.slb = (addr, len);
                    }
                }
            }
            bindings::H_VPA_DEREG_VPA => {
                if self.slb.0 != 0 || self.dtl.0 != 0 {
                    return resource;
                }
                self.vpa = 0;
            }
            bindings::H_VPA_DEREG_DTL => self.dtl = (0, 0),
            bindings::H_VPA_DEREG_SLB => self.slb = (0, 0),
            _ => return param,
        }
        H_SUCCESS
    }
}

/// `CIABR[PRIV]` for a hypervisor-state breakpoint, which a guest may not
/// set.
const CIABR_PRIV_HYPER: u64 = 0x3;
/// `DABRX[HYP]`: a watchpoint in hypervisor state, likewise.
const DABRX_HYP: u64 = 0x4;

/// H_SET_MODE(`mflags`, `resource`, `value1`, `value2`): the breakpoint
/// resources as `kvmppc_h_set_mode()` checks them, giving the registers
/// to set and the status; `None` for what the VMM answers (the
/// interrupt location and endianness, which change LPCR, and every other
/// resource). DAWR1 needs `KVM_CAP_PPC_DAWR1` enabled (`dawr1`).
pub(super) fn set_mode(
    mflags: u64,
    resource: u64,
    value1: u64,
    value2: u64,
    dawr1: bool,
) -> Option<(u64, KVec<(Id, Value)>)> {
    let fail = |rc: i32| Some((status(rc), KVec::new()));
    let regs = |r: &[(Id, Value)]| {
        let mut v = KVec::new();
        for e in r {
            if v.push(*e, GFP_KERNEL).is_err() {
                return fail(bindings::H_NO_MEM);
            }
        }
        Some((H_SUCCESS, v))
    };
    match resource as u32 {
        bindings::H_SET_MODE_RESOURCE_SET_CIABR => {
            if value2 != 0 {
                return fail(bindings::H_P4);
            }
            if mflags != 0 {
                return fail(bindings::H_UNSUPPORTED_FLAG_START);
            }
            if value1 & CIABR_PRIV_HYPER == CIABR_PRIV_HYPER {
                return fail(bindings::H_P3);
            }
            regs(&[(Id::CIABR, Value::Be64(value1))])
        }
        bindings::H_SET_MODE_RESOURCE_SET_DAWR0 | bindings::H_SET_MODE_RESOURCE_SET_DAWR1 => {
            let second = resource as u32 == bindings::H_SET_MODE_RESOURCE_SET_DAWR1;
            if second && !dawr1 {
                return fail(bindings::H_FUNCTION);
            }
            if mflags != 0 {
                return fail(bindings::H_UNSUPPORTED_FLAG_START);
            }
            let Ok(x) = u32::try_from(value2) else {
                return fail(bindings::H_P4);
            };
            if value2 & DABRX_HYP != 0 {
                return fail(bindings::H_P4);
            }
            let (dawr, dawrx) = if second {
                (Id::DAWR1, Id::DAWRX1)
            } else {
                (Id::DAWR0, Id::DAWRX0)
            };
            regs(&[(dawr, Value::Be64(value1)), (dawrx, Value::Be32(x))])
        }
        _ => None,
    }
}
