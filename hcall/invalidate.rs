// SPDX-License-Identifier: GPL-2.0

//! H_RPT_INVALIDATE for an L2's partition-scoped tree: after the L1 has
//! taken a translation out of the tree, the L0 must drop what it caches of
//! it (TLB entries, page-walk caches) before the L1 may reuse the memory.
//!
//! The L0 advertises the call in `ibm,hypertas-functions`
//! (`hcall-rpt-invalidate`, `FW_FEATURE_RPT_INVALIDATE`). An L0 that does
//! not advertise it offers the L1 no way to flush an L2 translation, and
//! must not keep one across an L1 <-> L2 switch: QEMU's L0 (TCG) is such
//! an L0, flushing its TLB on every switch. The L1 then has nothing to
//! send, and it may reuse the memory once the L2 is not running.

use super::{call, HcallError, Opcode, Tally};
use crate::platform::firmware_has_feature;
use kernel::bindings;

/// `FW_FEATURE_RPT_INVALIDATE` in `asm/firmware.h` (an `ASM_CONST()`,
/// which bindgen cannot evaluate).
const FW_FEATURE_RPT_INVALIDATE: u64 = 0x0000_0100_0000_0000;
/// All virtual processors of the partition.
const H_RPTI_TARGET_CMMU: u64 = bindings::H_RPTI_TARGET_CMMU as u64;

/// Whether the L0 advertises H_RPT_INVALIDATE, so that unmapping an L2
/// page needs a call to it (see the module documentation).
pub(crate) fn available() -> bool {
    firmware_has_feature(FW_FEATURE_RPT_INVALIDATE)
}

/// H_RPT_INVALIDATE of `types` for page sizes `pages` in guest real
/// `start..end` of `guest`, on all its vCPUs.
fn invalidate(
    guest: u64,
    types: u64,
    pages: u64,
    start: u64,
    end: u64,
    tally: &mut Tally,
) -> Result<(), HcallError> {
    // SAFETY: H_RPT_INVALIDATE passes no L1 address; it makes the L0 forget
    // what it cached of the guest's tree.
    unsafe {
        call(
            Opcode::RptInvalidate,
            &[guest, H_RPTI_TARGET_CMMU, types, pages, start, end],
            tally,
        )
    }
    .map(|_| ())
}

/// Drops the TLB entries that translate the 64 KiB pages in guest real
/// `start..end` of `guest`, counted in `tally`.
pub(crate) fn nested_tlb_64k(
    guest: u64,
    start: u64,
    end: u64,
    tally: &mut Tally,
) -> Result<(), HcallError> {
    invalidate(
        guest,
        (bindings::H_RPTI_TYPE_NESTED | bindings::H_RPTI_TYPE_TLB).into(),
        bindings::H_RPTI_PAGE_64K.into(),
        start,
        end,
        tally,
    )
}

/// Drops everything the L0 caches of `guest`'s partition-scoped tree (TLB,
/// page-walk cache, partition-table entry), for every page
/// size and address: before a tree the L0 was given is freed. Counted in
/// `tally`.
pub(crate) fn nested_all(guest: u64, tally: &mut Tally) -> Result<(), HcallError> {
    invalidate(
        guest,
        (bindings::H_RPTI_TYPE_NESTED | bindings::H_RPTI_TYPE_NESTED_ALL).into(),
        bindings::H_RPTI_PAGE_ALL as u64,
        0,
        u64::MAX,
        tally,
    )
}
