// SPDX-License-Identifier: GPL-2.0

//! The PAPR nested-guest hypervisor calls (H_GUEST_*), and
//! H_RPT_INVALIDATE, with which the L1 tells the L0 that an L2's
//! partition-scoped tree changed.
//!
//! Everything the L1 asks of the L0 goes through [`call`]: one opcode, its
//! arguments in registers, a PAPR status in r3 and results in r4 onwards.
//! [`call`] retries the transient statuses (`H_BUSY` and the long-busy
//! hints) a bounded number of times, unlike the C wrappers in
//! `asm/plpar_wrappers.h`, and turns every other status into a typed
//! [`HcallError`] that converts to a kernel error code.
//!
//! # The L0-memory boundary
//!
//! A call that hands the L0 an L1 real address lets the L0 read or write
//! that memory, during the call or (for registered buffers and tables)
//! until the guest is deleted. [`call`] is therefore `unsafe`; the safe
//! wrappers here either pass no address at all, or take the memory as an
//! [`mem::L0Mem`] borrowed for the whole time the L0 may use it.

pub(crate) mod capabilities;
pub(crate) mod cpu_char;
pub(crate) mod guest;
pub(crate) mod invalidate;
pub(crate) mod mem;
pub(crate) mod state;

use kernel::{
    bindings,
    prelude::*,
    sync::atomic::{ordering::Relaxed, Atomic},
    time::delay::fsleep,
    time::Delta,
};

/// Declares [`Opcode`] from the kernel's own `asm/hvcall.h` numbers: each
/// opcode is written once, its name is the kernel's macro name.
macro_rules! opcodes {
    ($($(#[$doc:meta])* $variant:ident = $num:ident,)*) => {
        /// Opcodes of the PAPR nested-guest API, numbered as `asm/hvcall.h`
        /// has them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u64)]
        pub(crate) enum Opcode {
            $($(#[$doc])* $variant = bindings::$num as u64,)*
        }

        impl Opcode {
            /// Every opcode, in declaration (and opcode) order.
            pub(crate) const ALL: [Opcode; [$(Opcode::$variant),*].len()] =
                [$(Opcode::$variant),*];

            /// The PAPR name, for logs.
            pub(crate) const fn name(self) -> &'static str {
                match self {
                    $(Opcode::$variant => stringify!($num),)*
                }
            }
        }
    };
}

opcodes! {
    /// Drop cached translations, here of an L2's partition-scoped tree.
    RptInvalidate = H_RPT_INVALIDATE,
    /// What the L0 offers.
    GetCapabilities = H_GUEST_GET_CAPABILITIES,
    /// What the L1 will use.
    SetCapabilities = H_GUEST_SET_CAPABILITIES,
    /// A new guest; its id comes back.
    Create = H_GUEST_CREATE,
    /// A vCPU of a guest, ids in order from 0.
    CreateVcpu = H_GUEST_CREATE_VCPU,
    /// Read elements of a guest, vCPU or the L0.
    GetState = H_GUEST_GET_STATE,
    /// Write elements of a guest or vCPU.
    SetState = H_GUEST_SET_STATE,
    /// Run a vCPU until it exits.
    RunVcpu = H_GUEST_RUN_VCPU,
    /// Copy between L1 and L2 memory.
    CopyMemory = H_GUEST_COPY_MEMORY,
    /// Delete a guest and its vCPUs.
    Delete = H_GUEST_DELETE,
    /// The processor's speculation-control characteristics (not of the
    /// nested API: what the L1 passes on to a VMM).
    GetCpuCharacteristics = H_GET_CPU_CHARACTERISTICS,
}

impl Opcode {
    /// Position in [`Opcode::ALL`] (and in the call counters).
    const fn index(self) -> usize {
        let mut i = 0;
        while i < Opcode::ALL.len() {
            if Opcode::ALL[i] as u64 == self as u64 {
                return i;
            }
            i += 1;
        }
        // Every opcode is in `ALL`: the macro writes both.
        unreachable!()
    }
}

/// Hypervisor calls made, by opcode, retries included, since load.
static CALLS: [Atomic<u64>; Opcode::ALL.len()] = [const { Atomic::new(0) }; Opcode::ALL.len()];

/// How many `opcode` calls reached the L0 since load, retries included.
pub(crate) fn calls(opcode: Opcode) -> u64 {
    CALLS[opcode.index()].load(Relaxed)
}

/// All calls of [`Opcode::ALL`] that reached the L0 since load.
pub(crate) fn calls_total() -> u64 {
    Opcode::ALL.iter().map(|o| calls(*o)).sum()
}

/// Calls that reached the L0 for one object (a vCPU), retries included:
/// what a check or a report of that object counts, undisturbed by other
/// users of the module. The module-wide counters ([`calls`]) are for
/// debugfs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally(u64);

impl Tally {
    /// The calls counted so far.
    pub(crate) fn count(self) -> u64 {
        self.0
    }
}

/// PAPR hcall status codes that this module names, from `asm/hvcall.h`.
pub(crate) mod status {
    use kernel::bindings;

    /// The call succeeded.
    pub(crate) const H_SUCCESS: i64 = bindings::H_SUCCESS as i64;
    /// The hypervisor is busy: retry.
    pub(crate) const H_BUSY: i64 = bindings::H_BUSY as i64;
    /// The resource is not available.
    pub(crate) const H_NOT_AVAILABLE: i64 = bindings::H_NOT_AVAILABLE as i64;
    /// First of the long-busy hints; the hint is a power of ten of milliseconds.
    pub(crate) const H_LONG_BUSY_ORDER_1_MSEC: i64 = bindings::H_LONG_BUSY_START_RANGE as i64;
    /// Last of the long-busy hints (100 s).
    pub(crate) const H_LONG_BUSY_ORDER_100_SEC: i64 = bindings::H_LONG_BUSY_END_RANGE as i64;
    /// Hardware error.
    pub(crate) const H_HARDWARE: i64 = bindings::H_HARDWARE as i64;
    /// The hypervisor does not implement the call.
    pub(crate) const H_FUNCTION: i64 = bindings::H_FUNCTION as i64;
    /// The caller is not privileged for the call.
    pub(crate) const H_PRIVILEGE: i64 = bindings::H_PRIVILEGE as i64;
    /// A parameter is invalid.
    pub(crate) const H_PARAMETER: i64 = bindings::H_PARAMETER as i64;
    /// The hypervisor is out of memory.
    pub(crate) const H_NO_MEM: i64 = bindings::H_NO_MEM as i64;
    /// The caller lacks the authority for the call.
    pub(crate) const H_AUTHORITY: i64 = bindings::H_AUTHORITY as i64;
    /// Not enough resources for the call.
    pub(crate) const H_NOT_ENOUGH_RESOURCES: i64 = bindings::H_NOT_ENOUGH_RESOURCES as i64;
    /// Parameter 2 (the first after flags) is invalid.
    pub(crate) const H_P2: i64 = bindings::H_P2 as i64;
    /// Parameter 9 is invalid; `H_P2..=H_P9` number the parameters.
    pub(crate) const H_P9: i64 = bindings::H_P9 as i64;
    /// The call is not valid in the current state.
    pub(crate) const H_STATE: i64 = bindings::H_STATE as i64;
    /// The resource is in use.
    pub(crate) const H_IN_USE: i64 = bindings::H_IN_USE as i64;
    /// A guest state element has an unknown ID.
    pub(crate) const H_INVALID_ELEMENT_ID: i64 = bindings::H_INVALID_ELEMENT_ID as i64;
    /// A guest state element has the wrong size.
    pub(crate) const H_INVALID_ELEMENT_SIZE: i64 = bindings::H_INVALID_ELEMENT_SIZE as i64;
    /// A guest state element has an invalid value.
    pub(crate) const H_INVALID_ELEMENT_VALUE: i64 = bindings::H_INVALID_ELEMENT_VALUE as i64;
    /// The vCPU state is not owned by the hypervisor.
    pub(crate) const H_GUEST_VCPU_STATE_NOT_HV_OWNED: i64 =
        bindings::H_GUEST_VCPU_STATE_NOT_HV_OWNED as i64;
    /// Last of the unsupported-flag statuses (which flag is encoded).
    pub(crate) const H_UNSUPPORTED_FLAG_END: i64 = bindings::H_UNSUPPORTED_FLAG_END as i64;
    /// First of the unsupported-flag statuses.
    pub(crate) const H_UNSUPPORTED_FLAG_START: i64 = bindings::H_UNSUPPORTED_FLAG_START as i64;
}

/// A PAPR status other than success, as the L0 returned it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HvStatus(pub(crate) i64);

impl HvStatus {
    /// The PAPR name of the status, for logs.
    pub(crate) fn name(self) -> &'static str {
        use status::*;
        match self.0 {
            H_BUSY => "H_BUSY",
            H_NOT_AVAILABLE => "H_NOT_AVAILABLE",
            H_LONG_BUSY_ORDER_1_MSEC..=H_LONG_BUSY_ORDER_100_SEC => "H_LONG_BUSY",
            H_HARDWARE => "H_HARDWARE",
            H_FUNCTION => "H_FUNCTION",
            H_PRIVILEGE => "H_PRIVILEGE",
            H_PARAMETER => "H_PARAMETER",
            H_NO_MEM => "H_NO_MEM",
            H_AUTHORITY => "H_AUTHORITY",
            H_NOT_ENOUGH_RESOURCES => "H_NOT_ENOUGH_RESOURCES",
            H_P9..=H_P2 => "H_Pn",
            H_STATE => "H_STATE",
            H_IN_USE => "H_IN_USE",
            H_INVALID_ELEMENT_ID => "H_INVALID_ELEMENT_ID",
            H_INVALID_ELEMENT_SIZE => "H_INVALID_ELEMENT_SIZE",
            H_INVALID_ELEMENT_VALUE => "H_INVALID_ELEMENT_VALUE",
            H_GUEST_VCPU_STATE_NOT_HV_OWNED => "H_GUEST_VCPU_STATE_NOT_HV_OWNED",
            H_UNSUPPORTED_FLAG_END..=H_UNSUPPORTED_FLAG_START => "H_UNSUPPORTED_FLAG",
            _ => "unknown status",
        }
    }

    /// The kernel error code for this status (Documentation/hcalls.rst has the table).
    pub(crate) fn to_errno(self) -> Error {
        use status::*;
        match self.0 {
            H_BUSY | H_LONG_BUSY_ORDER_1_MSEC..=H_LONG_BUSY_ORDER_100_SEC => EBUSY,
            H_IN_USE => EBUSY,
            H_FUNCTION => EOPNOTSUPP,
            H_UNSUPPORTED_FLAG_END..=H_UNSUPPORTED_FLAG_START => EOPNOTSUPP,
            H_PRIVILEGE | H_AUTHORITY | H_GUEST_VCPU_STATE_NOT_HV_OWNED => EPERM,
            H_PARAMETER | H_P9..=H_P2 => EINVAL,
            H_INVALID_ELEMENT_ID | H_INVALID_ELEMENT_SIZE | H_INVALID_ELEMENT_VALUE => EINVAL,
            H_NO_MEM | H_NOT_ENOUGH_RESOURCES => ENOMEM,
            H_STATE => EBUSY,
            H_NOT_AVAILABLE => ENXIO,
            _ => EIO,
        }
    }
}

/// A failed hcall: which call, and what the L0 said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HcallError {
    /// The call that failed.
    pub(crate) opcode: Opcode,
    /// The L0's status.
    pub(crate) status: HvStatus,
    /// r4 on return: some statuses carry a detail there, such as the index
    /// of the offending capability or element.
    pub(crate) detail: u64,
}

impl From<HcallError> for Error {
    fn from(e: HcallError) -> Error {
        e.status.to_errno()
    }
}

/// Return registers r4..r7 of a call.
pub(crate) type Returns = [u64; RETBUF_LEN];

/// Argument registers r4..r9 of a call.
pub(crate) type Args = [u64; ARGS_LEN];

/// `PLPAR_HCALL_BUFSIZE`: the return buffer of `plpar_hcall`.
const RETBUF_LEN: usize = bindings::PLPAR_HCALL_BUFSIZE as usize;
/// Arguments `plpar_hcall` passes after the opcode.
const ARGS_LEN: usize = 6;
/// How often `H_BUSY` is retried before the call fails with `-EBUSY`.
const BUSY_RETRIES: u32 = 1000;
/// How long to give the CPU away between two `H_BUSY` retries.
const BUSY_BACKOFF: Delta = Delta::from_micros(20);
/// The most time spent sleeping on long-busy hints before giving up.
const LONG_BUSY_BUDGET_MS: u32 = 10_000;

/// Milliseconds a long-busy status asks to wait (`get_longbusy_msecs()`).
fn long_busy_msecs(rc: i64) -> Option<u32> {
    if (status::H_LONG_BUSY_ORDER_1_MSEC..=status::H_LONG_BUSY_ORDER_100_SEC).contains(&rc) {
        Some(10u32.pow((rc - status::H_LONG_BUSY_ORDER_1_MSEC) as u32))
    } else {
        None
    }
}

/// Makes one hypervisor call, once: `opcode` with `args` in r4..r9.
/// Returns the status and r4..r7.
///
/// # Safety
///
/// Every L1 real address among `args`, and in any buffer they name, is of
/// memory the L0 may use under `opcode`'s PAPR contract: allocated, not
/// moved, and not used by anything else in a way the L0's accesses could
/// disturb, for as long as the L0 may use it (the call, or until the
/// guest is deleted for what the call registers).
unsafe fn hv_once(opcode: Opcode, args: &Args) -> (i64, Returns) {
    // PPC64 only: the hcall ABI's registers, `unsigned long` and `u64` are
    // all 64 bits, so the `as` conversions below are lossless.
    const_assert!(size_of::<c_ulong>() == size_of::<u64>());
    let mut ret: [c_ulong; RETBUF_LEN] = [0; RETBUF_LEN];
    // SAFETY: `plpar_hcall` writes at most `PLPAR_HCALL_BUFSIZE` words to
    // `ret`, which has that many; the memory the arguments name is the
    // caller's to vouch for.
    let rc = unsafe {
        bindings::plpar_hcall(
            opcode as c_ulong,
            ret.as_mut_ptr(),
            args[0] as c_ulong,
            args[1] as c_ulong,
            args[2] as c_ulong,
            args[3] as c_ulong,
            args[4] as c_ulong,
            args[5] as c_ulong,
        )
    } as i64;
    (rc, ret.map(|r| r as u64))
}

/// The retry policy of every call, over `hv`, which makes one attempt:
/// `H_BUSY` up to [`BUSY_RETRIES`] times with a short sleep, long-busy
/// hints within [`LONG_BUSY_BUDGET_MS`]; before each retry `resume` may
/// change the arguments from what the busy attempt returned (H_GUEST_CREATE
/// passes its continuation token so). Every attempt is counted, module-wide
/// and in `tally`. Sleeps, so it must be called in process context.
///
/// The real calls pass [`hv_once`] as `hv`; the KUnit suite passes a
/// pretend L0, to drive the busy paths QEMU's L0 never takes.
pub(crate) fn retrying(
    opcode: Opcode,
    mut args: Args,
    tally: &mut Tally,
    mut hv: impl FnMut(&Args) -> (i64, Returns),
    mut resume: impl FnMut(&mut Args, &Returns),
) -> Result<Returns, HcallError> {
    let mut busy = 0u32;
    let mut slept_ms = 0u32;
    loop {
        let (rc, ret) = hv(&args);
        CALLS[opcode.index()].fetch_add(1, Relaxed);
        tally.0 += 1;
        if rc == status::H_SUCCESS {
            return Ok(ret);
        }
        let fail = HcallError {
            opcode,
            status: HvStatus(rc),
            detail: ret[0],
        };
        if rc == status::H_BUSY {
            busy += 1;
            if busy > BUSY_RETRIES {
                return Err(fail);
            }
            fsleep(BUSY_BACKOFF);
        } else if let Some(ms) = long_busy_msecs(rc) {
            slept_ms = slept_ms.saturating_add(ms);
            if slept_ms > LONG_BUSY_BUDGET_MS {
                return Err(fail);
            }
            fsleep(Delta::from_millis(ms.into()));
        } else {
            return Err(fail);
        }
        resume(&mut args, &ret);
    }
}

/// Makes one call with up to six arguments (the rest are 0), retrying
/// transient statuses within bounds, counted in `tally`. Sleeps.
///
/// # Safety
///
/// As [`hv_once`]: every L1 real address among `args`, or in a buffer
/// they name, is of memory the L0 may use for as long as `opcode`'s
/// contract lets it.
pub(crate) unsafe fn call(
    opcode: Opcode,
    args: &[u64],
    tally: &mut Tally,
) -> Result<Returns, HcallError> {
    let mut a: Args = [0; ARGS_LEN];
    for (reg, arg) in a.iter_mut().zip(args) {
        *reg = *arg;
    }
    retrying(
        opcode,
        a,
        tally,
        // SAFETY: the caller vouches for the memory `args` names.
        |a| unsafe { hv_once(opcode, a) },
        |_, _| {},
    )
}
