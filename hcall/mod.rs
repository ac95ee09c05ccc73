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

pub(crate) mod capabilities;
pub(crate) mod guest;
pub(crate) mod invalidate;
pub(crate) mod state;

use kernel::{
    bindings,
    prelude::*,
    sync::atomic::{ordering::Relaxed, Atomic},
    time::delay::fsleep,
    time::Delta,
};

/// Opcodes of the PAPR nested-guest API (`asm/hvcall.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Opcode {
    /// H_RPT_INVALIDATE: drop cached translations, here of an L2's
    /// partition-scoped tree.
    RptInvalidate = 0x448,
    /// H_GUEST_GET_CAPABILITIES: what the L0 offers.
    GetCapabilities = 0x460,
    /// H_GUEST_SET_CAPABILITIES: what the L1 will use.
    SetCapabilities = 0x464,
    /// H_GUEST_CREATE: a new guest; its id comes back.
    Create = 0x470,
    /// H_GUEST_CREATE_VCPU: a vCPU of a guest, ids in order from 0.
    CreateVcpu = 0x474,
    /// H_GUEST_GET_STATE: read elements of a guest, vCPU or the L0.
    GetState = 0x478,
    /// H_GUEST_SET_STATE: write elements of a guest or vCPU.
    SetState = 0x47C,
    /// H_GUEST_RUN_VCPU: run a vCPU until it exits.
    RunVcpu = 0x480,
    /// H_GUEST_COPY_MEMORY: copy between L1 and L2 memory.
    CopyMemory = 0x484,
    /// H_GUEST_DELETE: delete a guest and its vCPUs.
    Delete = 0x488,
}

impl Opcode {
    /// Every opcode, in opcode order.
    pub(crate) const ALL: [Opcode; 10] = [
        Opcode::RptInvalidate,
        Opcode::GetCapabilities,
        Opcode::SetCapabilities,
        Opcode::Create,
        Opcode::CreateVcpu,
        Opcode::GetState,
        Opcode::SetState,
        Opcode::RunVcpu,
        Opcode::CopyMemory,
        Opcode::Delete,
    ];

    /// The PAPR name, for logs.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Opcode::RptInvalidate => "H_RPT_INVALIDATE",
            Opcode::GetCapabilities => "H_GUEST_GET_CAPABILITIES",
            Opcode::SetCapabilities => "H_GUEST_SET_CAPABILITIES",
            Opcode::Create => "H_GUEST_CREATE",
            Opcode::CreateVcpu => "H_GUEST_CREATE_VCPU",
            Opcode::GetState => "H_GUEST_GET_STATE",
            Opcode::SetState => "H_GUEST_SET_STATE",
            Opcode::RunVcpu => "H_GUEST_RUN_VCPU",
            Opcode::CopyMemory => "H_GUEST_COPY_MEMORY",
            Opcode::Delete => "H_GUEST_DELETE",
        }
    }

    /// Position in [`Opcode::ALL`] (and in the call counters).
    const fn index(self) -> usize {
        match self {
            Opcode::RptInvalidate => 0,
            Opcode::GetCapabilities => 1,
            Opcode::SetCapabilities => 2,
            Opcode::Create => 3,
            Opcode::CreateVcpu => 4,
            Opcode::GetState => 5,
            Opcode::SetState => 6,
            Opcode::RunVcpu => 7,
            Opcode::CopyMemory => 8,
            Opcode::Delete => 9,
        }
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

/// PAPR hcall status codes (`asm/hvcall.h`) that this module names.
pub(crate) mod status {
    /// The call succeeded.
    pub(crate) const H_SUCCESS: i64 = 0;
    /// The hypervisor is busy: retry.
    pub(crate) const H_BUSY: i64 = 1;
    /// The resource is not available.
    pub(crate) const H_NOT_AVAILABLE: i64 = 3;
    /// First of the long-busy hints; the hint is a power of ten of milliseconds.
    pub(crate) const H_LONG_BUSY_ORDER_1_MSEC: i64 = 9900;
    /// Last of the long-busy hints (100 s).
    pub(crate) const H_LONG_BUSY_ORDER_100_SEC: i64 = 9905;
    /// Hardware error.
    pub(crate) const H_HARDWARE: i64 = -1;
    /// The hypervisor does not implement the call.
    pub(crate) const H_FUNCTION: i64 = -2;
    /// The caller is not privileged for the call.
    pub(crate) const H_PRIVILEGE: i64 = -3;
    /// A parameter is invalid.
    pub(crate) const H_PARAMETER: i64 = -4;
    /// The hypervisor is out of memory.
    pub(crate) const H_NO_MEM: i64 = -9;
    /// The caller lacks the authority for the call.
    pub(crate) const H_AUTHORITY: i64 = -10;
    /// Not enough resources for the call.
    pub(crate) const H_NOT_ENOUGH_RESOURCES: i64 = -44;
    /// Parameter 2 (the first after flags) is invalid.
    pub(crate) const H_P2: i64 = -55;
    /// Parameter 9 is invalid; `H_P2..=H_P9` number the parameters.
    pub(crate) const H_P9: i64 = -62;
    /// The call is not valid in the current state.
    pub(crate) const H_STATE: i64 = -75;
    /// The resource is in use.
    pub(crate) const H_IN_USE: i64 = -77;
    /// A guest state element has an unknown ID.
    pub(crate) const H_INVALID_ELEMENT_ID: i64 = -79;
    /// A guest state element has the wrong size.
    pub(crate) const H_INVALID_ELEMENT_SIZE: i64 = -80;
    /// A guest state element has an invalid value.
    pub(crate) const H_INVALID_ELEMENT_VALUE: i64 = -81;
    /// The vCPU state is not owned by the hypervisor.
    pub(crate) const H_GUEST_VCPU_STATE_NOT_HV_OWNED: i64 = -87;
    /// Last of the unsupported-flag statuses (which flag is encoded).
    pub(crate) const H_UNSUPPORTED_FLAG_END: i64 = -511;
    /// First of the unsupported-flag statuses.
    pub(crate) const H_UNSUPPORTED_FLAG_START: i64 = -256;
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

/// Return registers r4..r7 of a successful call.
pub(crate) type Returns = [u64; RETBUF_LEN];

/// `PLPAR_HCALL_BUFSIZE`: the return buffer of `plpar_hcall`.
const RETBUF_LEN: usize = 4;
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

/// Makes one H_GUEST_* call with up to six arguments, retrying transient
/// statuses within bounds. Sleeps, so it must be called in process context.
pub(crate) fn call(opcode: Opcode, args: &[u64]) -> Result<Returns, HcallError> {
    // PPC64 only: the hcall ABI's registers, `unsigned long` and `u64` are
    // all 64 bits, so the `as` conversions below are lossless.
    const_assert!(size_of::<c_ulong>() == size_of::<u64>());
    let mut a: [c_ulong; 6] = [0; 6];
    for (reg, arg) in a.iter_mut().zip(args) {
        *reg = *arg as c_ulong;
    }
    let mut busy = 0u32;
    let mut slept_ms = 0u32;
    loop {
        let mut ret: [c_ulong; RETBUF_LEN] = [0; RETBUF_LEN];
        // SAFETY: `plpar_hcall` writes at most `PLPAR_HCALL_BUFSIZE` (4)
        // words to `ret`, which has that many. The arguments are plain
        // values passed in registers; none of the calls made here hands
        // the L0 an address.
        let rc = unsafe {
            bindings::plpar_hcall(
                opcode as c_ulong,
                ret.as_mut_ptr(),
                a[0],
                a[1],
                a[2],
                a[3],
                a[4],
                a[5],
            )
        } as i64;
        CALLS[opcode.index()].fetch_add(1, Relaxed);
        let ret = ret.map(|r| r as u64);
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
    }
}

/// `firmware_has_feature(feature)`: whether the firmware (here the L0)
/// advertised `feature`, one of the `FW_FEATURE_*` bits of
/// `asm/firmware.h`.
pub(crate) fn firmware_has_feature(feature: c_ulong) -> bool {
    // SAFETY: `powerpc_firmware_features` is written once during early boot
    // and only read afterwards.
    let features = unsafe { bindings::powerpc_firmware_features };
    features & feature != 0
}

/// Whether this kernel runs as a logical partition under a PAPR hypervisor
/// (`firmware_has_feature(FW_FEATURE_LPAR)`).
pub(crate) fn running_as_lpar() -> bool {
    /// `FW_FEATURE_LPAR` in `asm/firmware.h`.
    const FW_FEATURE_LPAR: c_ulong = 0x0000_0000_0040_0000;
    firmware_has_feature(FW_FEATURE_LPAR)
}

/// The real address the L0 needs for `buf`: the L1's linear mapping is
/// offset by `PAGE_OFFSET`. Buffers handed to the L0 must be physically
/// contiguous, so they come from kmalloc (`KBox`, `KVec`), never vmalloc;
/// anything outside the linear map is refused with `-EINVAL`.
pub(crate) fn linear_map_pa(buf: &[u8]) -> Result<u64> {
    const PAGE_OFFSET: u64 = bindings::CONFIG_PAGE_OFFSET as u64;
    let start = buf.as_ptr() as u64;
    // SAFETY: `high_memory` is set once during boot and only read after.
    let high = unsafe { bindings::high_memory } as u64;
    let end = start.checked_add(buf.len() as u64).ok_or(EINVAL)?;
    if start < PAGE_OFFSET || end > high {
        return Err(EINVAL);
    }
    Ok(start - PAGE_OFFSET)
}
