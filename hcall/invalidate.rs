// SPDX-License-Identifier: GPL-2.0

//! H_RPT_INVALIDATE for an L2's partition-scoped tree: after the L1 has
//! taken a translation out of the tree, the L0 must drop what it caches of
//! it (TLB entries) before the L1 may reuse the page.
//!
//! The L0 advertises the call in `ibm,hypertas-functions`
//! (`hcall-rpt-invalidate`, `FW_FEATURE_RPT_INVALIDATE`). An L0 that does
//! not advertise it offers the L1 no way to flush an L2 translation, and
//! must not keep one across an L1 <-> L2 switch: QEMU's L0 (TCG) is such
//! an L0, flushing its TLB on every switch. The L1 then has nothing to
//! send, and it may reuse the page once the L2 is not running.

use super::{call, firmware_has_feature, HcallError, Opcode};
use kernel::prelude::*;

/// `FW_FEATURE_RPT_INVALIDATE` in `asm/firmware.h`.
const FW_FEATURE_RPT_INVALIDATE: c_ulong = 0x0000_0100_0000_0000;
/// `H_RPTI_TARGET_CMMU`: all virtual processors of the partition.
const H_RPTI_TARGET_CMMU: u64 = 0x01;
/// `H_RPTI_TYPE_NESTED`: the target is a nested guest's partition scope.
const H_RPTI_TYPE_NESTED: u64 = 0x0001;
/// `H_RPTI_TYPE_TLB`: drop TLB entries.
const H_RPTI_TYPE_TLB: u64 = 0x0002;
/// `H_RPTI_PAGE_64K`: the page size of the range.
const H_RPTI_PAGE_64K: u64 = 0x02;

/// Whether the L0 advertises H_RPT_INVALIDATE, so that unmapping an L2
/// page needs a call to it (see the module documentation).
pub(crate) fn available() -> bool {
    firmware_has_feature(FW_FEATURE_RPT_INVALIDATE)
}

/// H_RPT_INVALIDATE of the TLB entries that translate the 64 KiB pages in
/// guest real `start..end` of `guest`, on all its vCPUs.
pub(crate) fn nested_tlb_64k(guest: u64, start: u64, end: u64) -> Result<(), HcallError> {
    call(
        Opcode::RptInvalidate,
        &[
            guest,
            H_RPTI_TARGET_CMMU,
            H_RPTI_TYPE_NESTED | H_RPTI_TYPE_TLB,
            H_RPTI_PAGE_64K,
            start,
            end,
        ],
    )
    .map(|_| ())
}
