// SPDX-License-Identifier: GPL-2.0

//! The load-time self-check (module parameters `selfcheck_guests` and
//! `selfcheck_vcpus`): real guests and vCPUs at the L0, kept until unload.

use crate::gsb::{Id, Value};
use crate::hcall::{self, guest::VcpuFlags};
use crate::vcpu::Guest;
use kernel::prelude::*;

/// The most vCPUs in all a self-check may create: QEMU's L0 allows 2048 per
/// guest and 4096 guests, far more than a check needs, and each vCPU costs
/// about 8 KiB of buffers here.
pub(crate) const MAX_VCPUS: u32 = 1024;

/// Creates `guests` guests of `vcpus` vCPUs each, writes a distinct GPR3
/// to every vCPU, sends it to the L0 and reads it back from there. Returns
/// the guests, which the caller keeps until unload. On any failure every
/// guest made so far is deleted again (by dropping it).
pub(crate) fn run(guests: u32, vcpus: u32) -> Result<KVec<Guest>> {
    if guests == 0 {
        return Ok(KVec::new());
    }
    let total = guests.checked_mul(vcpus).filter(|t| *t <= MAX_VCPUS);
    if vcpus == 0 || total.is_none() {
        pr_err!(
            "self-check: {} guests of {} vCPUs: want 1..={} vCPUs in all\n",
            guests,
            vcpus,
            MAX_VCPUS
        );
        return Err(EINVAL);
    }
    let start = hcall::calls_total();
    let mut made = KVec::with_capacity(guests as usize, GFP_KERNEL)?;
    for _ in 0..guests {
        let mut g = Guest::create()?;
        let gid = g.id();
        for _ in 0..vcpus {
            let v = g.create_vcpu(VcpuFlags::default())?;
            let mut v = v.lock();
            let mark = (gid << 32) | v.id();
            let gpr3 = Id::gpr(3).ok_or(EINVAL)?;
            v.set(gpr3, Value::Be64(mark))?;
            v.flush()?;
            v.forget_clean();
            if v.get(gpr3)? != Value::Be64(mark) {
                pr_err!(
                    "self-check: guest {} vCPU {}: GPR3 did not round-trip\n",
                    gid,
                    v.id()
                );
                return Err(EIO);
            }
        }
        made.push(g, GFP_KERNEL)?;
    }
    let first = made.first().map_or(0, |g| g.id());
    let last = made.last().map_or(0, |g| g.id());
    pr_info!(
        "self-check: {} guests (ids {}..={}) of {} vCPUs, GPR3 round-tripped through the L0, {} hcalls\n",
        made.len(),
        first,
        last,
        vcpus,
        hcall::calls_total() - start
    );
    Ok(made)
}
