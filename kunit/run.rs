// SPDX-License-Identifier: GPL-2.0

//! Running L2 code on the real L0: the payloads of `demo::payload`, the
//! run path's counters and its distrust of the run-output buffer, and the
//! benchmark's hypervisor calls per exit.

use kernel::prelude::*;

#[kunit_tests(rust_papr_nested_run)]
mod tests {
    use crate::demo::{bench, payload};
    use crate::gsb::{Id, Value};
    use crate::hcall::{self, Opcode};
    use crate::vcpu::{exit::Exit, pgtable::PartitionTree, stats};
    use kernel::prelude::*;

    /// Payload (a): two hypervisor calls; GPR3 comes back in the
    /// run-output buffer, so the first exit costs exactly one hcall.
    #[test]
    fn hypervisor_calls() -> Result {
        let seen = payload::hypervisor_calls()?;
        assert_eq!(seen.exits, [Exit::HypervisorCall, Exit::HypervisorCall]);
        assert_eq!(seen.sum, payload::A_X + payload::A_Y);
        assert_eq!(seen.hcalls_first_exit, 1);
        assert_eq!(seen.second, payload::A_ANSWER + 1);
        assert!(seen.verify().is_ok());
        Ok(())
    }

    /// Payload (b): a data storage exit at the unmapped address, then the
    /// value from the page the L1 mapped there.
    #[test]
    fn data_storage_fault() -> Result {
        let seen = payload::data_storage()?;
        assert_eq!(seen.fault, Exit::DataStorage);
        assert_eq!(seen.hdar, payload::DATA_GRA);
        assert_eq!(seen.nia, payload::CODE_GRA);
        assert_eq!(seen.after, Exit::HypervisorCall);
        assert_eq!(seen.loaded, payload::B_VALUE);
        assert!(seen.verify().is_ok());
        Ok(())
    }

    /// Payload (c): the L2 loops until the HDEC expiry fires.
    #[test]
    fn hdec_expiry() -> Result {
        assert_eq!(payload::hdec_expiry()?, Exit::HypervisorDecrementer);
        Ok(())
    }

    /// Payload (d): after the L1 unmaps a page the L2 has used, the L2's
    /// next load from it faults; the L0 was told where it must be.
    #[test]
    fn unmap_at_runtime() -> Result {
        let seen = payload::unmap()?;
        assert_eq!(seen.first, payload::B_VALUE);
        assert_eq!(seen.after_unmap, Exit::DataStorage);
        assert_eq!(seen.hdar, payload::DATA_GRA);
        assert_eq!(seen.second, payload::D_VALUE);
        let want = u64::from(hcall::invalidate::available());
        assert_eq!(seen.invalidations, want);
        assert!(seen.verify().is_ok());
        Ok(())
    }

    /// Payload (e): an illegal instruction; HEIR, a word, holds it.
    #[test]
    fn emulation_assist() -> Result {
        let seen = payload::emulation_assist()?;
        assert_eq!(seen.exit, Exit::EmulationAssist);
        assert_eq!(seen.heir, u64::from(payload::insn::ILLEGAL));
        assert_eq!(seen.nia, payload::CODE_GRA);
        Ok(())
    }

    /// The process table is mapped in the L2 and given to the L0 with the
    /// partition table; unmapping its page is refused.
    #[test]
    fn process_table() -> Result {
        let mut g = payload::guest_with_code(&[payload::insn::SC_1])?;
        let t = match g.get(Id::PROCESS_TABLE)? {
            Value::ProcessTable(t) => t,
            _ => return Err(EPROTO),
        };
        assert_eq!(t.address, payload::PROCESS_TABLE_GRA);
        assert_eq!(t.gpd_size, crate::vcpu::pgtable::PROCESS_TABLE_SIZE);
        assert_eq!(g.unmap(payload::PROCESS_TABLE_GRA), Err(EBUSY));
        assert_eq!(g.unmap(payload::DATA_GRA), Err(ENOENT));
        // The guest still runs with both tables set.
        let v0 = payload::shared0(&g)?;
        let mut v = v0.lock();
        assert_eq!(
            payload::run_logged("process table", &mut v, payload::HDEC_TICKS)?,
            Exit::HypervisorCall
        );
        Ok(())
    }

    /// Each run counts one exit of its reason and the elements and bytes
    /// of both buffers.
    #[test]
    fn run_counters() -> Result {
        let g = payload::guest_with_code(&[payload::insn::SC_1])?;
        let v0 = payload::shared0(&g)?;
        let mut v = v0.lock();
        let before = stats::snapshot();
        let runs = hcall::calls(Opcode::RunVcpu);
        payload::run_logged("counters", &mut v, payload::HDEC_TICKS)?;
        let after = stats::snapshot();
        assert_eq!(hcall::calls(Opcode::RunVcpu), runs + 1);
        assert_eq!(after.runs, before.runs + 1);
        let i = Exit::HypervisorCall.index();
        assert_eq!(after.exits[i], before.exits[i] + 1);
        // NIA, MSR and the HDEC expiry went in: three doublewords.
        assert_eq!(after.last_sent.elements, 3);
        assert_eq!(after.last_sent.bytes, 4 + 3 * (4 + 8));
        // GPR3-GPR12 came back.
        assert_eq!(after.last_received.elements, 10);
        assert_eq!(after.last_received.bytes, 4 + 10 * (4 + 8));
        assert_eq!(after.sent.bytes, before.sent.bytes + 40);
        assert_eq!(after.received.bytes, before.received.bytes + 124);
        Ok(())
    }

    /// Writes a run-output buffer as a misbehaving L0 would: `count` in the
    /// header, then `elems` (raw ID and data).
    fn forge(out: &mut [u8], count: u32, elems: &[(u16, &[u8])]) {
        out[..4].copy_from_slice(&count.to_be_bytes());
        let mut at = 4;
        for (id, data) in elems {
            out[at..at + 2].copy_from_slice(&id.to_be_bytes());
            out[at + 2..at + 4].copy_from_slice(&(data.len() as u16).to_be_bytes());
            out[at + 4..at + 4 + data.len()].copy_from_slice(data);
            at += 4 + data.len();
        }
    }

    /// The run-output buffer is untrusted input: an element of another
    /// scope or a meta element, a malformed buffer, or an exit without its
    /// registers fails the run with -EPROTO, counted, and nothing of it
    /// reaches the vCPU's state.
    #[test]
    fn forged_run_output_refused() -> Result {
        let g = payload::guest_with_code(&[payload::insn::SC_1])?;
        let v0 = payload::shared0(&g)?;
        let mut v = v0.lock();
        let hcall_exit = Exit::HypervisorCall.vector();
        let eight = 7u64.to_be_bytes();
        let sixteen = [0x11u8; 16];
        // A count, then elements: raw ID and data.
        type Forged<'a> = (u32, &'a [(u16, &'a [u8])]);
        let forged: [Forged<'_>; 4] = [
            // TB_OFFSET: guest-wide.
            (1, &[(0x0004, &eight)]),
            // L0_GUEST_HEAP: host-wide.
            (1, &[(0x0800, &eight)]),
            // RUN_INPUT: the L1's record of its own buffer.
            (1, &[(0x0C00, &sixteen)]),
            // A count the bytes do not hold.
            (9, &[(0x1003, &eight)]),
        ];
        for (count, elems) in forged {
            let failed = stats::snapshot().failed;
            let sent = v.begin_run()?;
            forge(v.run_output_mut(), count, elems);
            assert_eq!(v.end_run(hcall_exit, sent), Err(EPROTO));
            assert_eq!(stats::snapshot().failed, failed + 1);
            assert_eq!(v.cached(Id::GPRS[3]), None);
            assert!(v.cached(Id::RUN_INPUT).is_some());
        }
        Ok(())
    }

    /// The run-output buffer's count is cleared before each run: an L0 that
    /// returned without writing it cannot make the last exit look fresh.
    #[test]
    fn stale_run_output_refused() -> Result {
        let g = payload::guest_with_code(&[payload::insn::SC_1])?;
        let v0 = payload::shared0(&g)?;
        let mut v = v0.lock();
        v.set(Id::GPRS[3], Value::Be64(0x4242))?;
        let exit = payload::run_logged("stale output", &mut v, payload::HDEC_TICKS)?;
        assert_eq!(exit, Exit::HypervisorCall);
        assert_eq!(v.cached(Id::GPRS[3]), Some(Value::Be64(0x4242)));
        // The same exit again, as if H_GUEST_RUN_VCPU had returned 0xC00
        // without writing the buffer.
        let failed = stats::snapshot().failed;
        let sent = v.begin_run()?;
        assert_eq!(v.end_run(Exit::HypervisorCall.vector(), sent), Err(EPROTO));
        assert_eq!(stats::snapshot().failed, failed + 1);
        assert_eq!(v.cached(Id::GPRS[3]), None);
        // An exit that brings no registers is fine with an empty buffer.
        let sent = v.begin_run()?;
        let hdec = Exit::HypervisorDecrementer.vector();
        assert_eq!(v.end_run(hdec, sent)?, Exit::HypervisorDecrementer);
        Ok(())
    }

    /// A guest given a new tree runs from it, and the old tree is freed
    /// only after the L0 was told to forget it (where it has the call).
    #[test]
    fn tree_replaced() -> Result {
        let mut g = payload::guest_with_code(&payload::A_CODE)?;
        let before = g.invalidations();
        let mut tree = PartitionTree::new()?;
        let page = tree.map_new_page(payload::CODE_GRA)?;
        page[..4].copy_from_slice(&payload::insn::ILLEGAL.to_be_bytes());
        tree.map_process_table(payload::PROCESS_TABLE_GRA)?;
        g.set_partition_tree(tree)?;
        let want = u64::from(hcall::invalidate::available());
        assert_eq!(g.invalidations() - before, want);
        let v0 = payload::shared0(&g)?;
        let mut v = v0.lock();
        v.set(Id::NIA, Value::Be64(payload::CODE_GRA))?;
        let exit = payload::run_logged("tree replaced", &mut v, payload::HDEC_TICKS)?;
        assert_eq!(exit, Exit::EmulationAssist);
        assert_eq!(
            v.cached(Id::HEIR),
            Some(Value::Be32(payload::insn::ILLEGAL))
        );
        Ok(())
    }

    /// Memory the tree does not own (as a VMM's pinned slot) is mapped
    /// with `map_external`: the L2 loads from it through the L0, and after
    /// `unmap_external` the same load faults.
    #[test]
    fn external_mapping() -> Result {
        // Declared before the guest, so dropped after the L0 deleted it.
        let mut page = crate::hcall::mem::L0Mem::zeroed(crate::vcpu::pgtable::PAGE_SIZE)?;
        page[..8].copy_from_slice(&payload::B_VALUE.to_be_bytes());
        let mut g = payload::guest_with_code(&[payload::insn::LD_R3_0_R4, payload::insn::SC_1])?;
        let tree = g.partition_tree().ok_or(ENOENT)?;
        tree.map_external(payload::DATA_GRA, page.real_address())?;
        assert_eq!(tree.unmap_page(payload::DATA_GRA).err(), Some(EINVAL));
        let v0 = payload::shared0(&g)?;
        let mut v = v0.lock();
        v.set(Id::GPRS[4], Value::Be64(payload::DATA_GRA))?;
        let exit = payload::run_logged("external", &mut v, payload::HDEC_TICKS)?;
        assert_eq!(exit, Exit::HypervisorCall);
        assert_eq!(v.cached(Id::GPRS[3]), Some(Value::Be64(payload::B_VALUE)));
        let tree = g.partition_tree().ok_or(ENOENT)?;
        assert_eq!(tree.unmap_external(payload::DATA_GRA)?, page.real_address());
        v.set(Id::NIA, Value::Be64(payload::CODE_GRA))?;
        let exit = payload::run_logged("external", &mut v, payload::HDEC_TICKS)?;
        assert_eq!(exit, Exit::DataStorage);
        assert_eq!(v.cached(Id::HDAR), Some(Value::Be64(payload::DATA_GRA)));
        Ok(())
    }

    /// The benchmark makes exactly one hypervisor call per exit; its
    /// timings are reported, never asserted.
    #[test]
    fn bench_one_hcall_per_exit() -> Result {
        let r = bench::run(50)?;
        pr_info!(
            "bench 50: {} exits, {} hcalls, round trip {} ticks, bare hcall {} ticks\n",
            r.exits,
            r.hcalls,
            r.round_trip(),
            r.bare()
        );
        // Two exits per iteration, and any interrupt for the L1 between.
        assert!(r.exits >= 100);
        assert_eq!(r.hcalls, r.exits);
        assert_eq!(r.hcalls_per_exit_x100(), 100);
        assert_eq!(bench::run(0), Err(EINVAL));
        Ok(())
    }
}
