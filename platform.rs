// SPDX-License-Identifier: GPL-2.0

//! What the module needs of the L1's own platform that is not a hypervisor
//! call: firmware features, the linear map, the timebase, and whether the
//! task it works for wants to stop.

use kernel::{bindings, prelude::*};

/// `firmware_has_feature(feature)`: whether the firmware (here the L0)
/// advertised `feature`, one of the `FW_FEATURE_*` bits of
/// `asm/firmware.h`.
pub(crate) fn firmware_has_feature(feature: u64) -> bool {
    // SAFETY: `powerpc_firmware_features` is written once during early boot
    // and only read afterwards.
    let features = unsafe { bindings::powerpc_firmware_features };
    features as u64 & feature != 0
}

/// Whether this kernel runs as a logical partition under a PAPR hypervisor
/// (`firmware_has_feature(FW_FEATURE_LPAR)`).
pub(crate) fn running_as_lpar() -> bool {
    /// `FW_FEATURE_LPAR` in `asm/firmware.h` (an `ASM_CONST()`, which
    /// bindgen cannot evaluate).
    const FW_FEATURE_LPAR: u64 = 0x0000_0000_0040_0000;
    firmware_has_feature(FW_FEATURE_LPAR)
}

/// The real address of the `len` bytes at kernel address `addr`, which
/// must lie in the L1's linear map (the map is offset by `PAGE_OFFSET`);
/// `-EINVAL` for anything outside it. Only arithmetic: nothing is read.
pub(crate) fn linear_map_pa(addr: usize, len: usize) -> Result<u64> {
    const PAGE_OFFSET: u64 = bindings::CONFIG_PAGE_OFFSET as u64;
    let start = addr as u64;
    // SAFETY: `high_memory` is set once during boot and only read after.
    let high = unsafe { bindings::high_memory } as u64;
    let end = start.checked_add(len as u64).ok_or(EINVAL)?;
    if start < PAGE_OFFSET || end > high {
        return Err(EINVAL);
    }
    Ok(start - PAGE_OFFSET)
}

/// The timebase now (`mftb`).
pub(crate) fn timebase() -> u64 {
    let tb: u64;
    // SAFETY: `mftb` reads the timebase register into `tb`; it touches no
    // memory and no other register.
    unsafe { kernel::asm!("mftb {tb}"; tb = out(reg) tb, options(nomem, nostack)) };
    tb
}

/// `-EINTR` when the current task has a signal pending: a loop that runs
/// an L2 on behalf of a task asks between two runs, so that a killed or
/// interrupted task gets its CPU back within one run.
pub(crate) fn check_signal() -> Result {
    if kernel::current!().signal_pending() {
        return Err(EINTR);
    }
    Ok(())
}

/// The timebase frequency in Hz (`ppc_tb_freq`, from the device tree).
pub(crate) fn timebase_hz() -> u64 {
    // SAFETY: `ppc_tb_freq` is set once during boot, from the device
    // tree, and only read after.
    (unsafe { bindings::ppc_tb_freq }) as u64
}

/// The processor version register (`mfspr PVR`): the L1's processor,
/// which is the only one an L2 can have.
pub(crate) fn pvr() -> u32 {
    let pvr: u64;
    // SAFETY: reading the PVR (SPR 287) touches no memory and no other
    // register; the L1 kernel may read it.
    unsafe { kernel::asm!("mfspr {pvr}, 287"; pvr = out(reg) pvr, options(nomem, nostack)) };
    pvr as u32
}

/// The kernel virtual address of L1 real address `pa` in the linear map;
/// only arithmetic, as [`linear_map_pa`] the other way.
pub(crate) fn linear_map_va(pa: u64) -> usize {
    (pa + bindings::CONFIG_PAGE_OFFSET as u64) as usize
}

/// Gives the CPU to another runnable task, if there is one (`yield()`):
/// for H_CONFER, which asks for that.
pub(crate) fn yield_cpu() {
    // SAFETY: `yield()` may be called from any task context that may
    // sleep, which the ioctl path is.
    unsafe { bindings::yield_() };
}

/// How many CPUs of the L1 are online (`num_online_cpus()`).
pub(crate) fn online_cpus() -> u32 {
    // SAFETY: `__num_online_cpus` is a static the kernel keeps for as
    // long as it runs; `num_online_cpus()` reads its counter with
    // READ_ONCE, as this volatile read does.
    let n = unsafe { core::ptr::read_volatile(&raw const bindings::__num_online_cpus.counter) };
    n.max(1) as u32
}
