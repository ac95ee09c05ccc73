// SPDX-License-Identifier: GPL-2.0

//! Guests and vCPUs against the real L0 (QEMU's pseries, cap-nested-papr).

use kernel::prelude::*;

#[kunit_tests(rust_papr_nested_vcpu)]
mod tests {
    use crate::gsb::ids::{Class, ElemType, Scope};
    use crate::gsb::value::{BufferInfo, Vec128};
    use crate::gsb::{Id, IdSet, Parsed, Trailing, Value, Writer};
    use crate::hcall::{self, guest::VcpuFlags, mem::L0Mem, status, HvStatus, Opcode, Tally};
    use crate::vcpu::{pgtable::PartitionTree, Guest};
    use kernel::prelude::*;

    fn gpr(n: u8) -> Id {
        Id::gpr(n).unwrap_or(Id::NIA)
    }

    /// Thread-wide registers the L1 may set: the register classes.
    fn registers() -> IdSet {
        let mut s = IdSet::new();
        for id in IdSet::of_scope(Scope::Thread).iter() {
            if matches!(id.class(), Class::DwordReg | Class::WordReg | Class::Vector) {
                s.set(id);
            }
        }
        s
    }

    /// A distinct value for `id` within its settable bits.
    fn value(id: Id) -> Value {
        let x = u64::from(id.raw()).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        match id.ty() {
            ElemType::Be32 => Value::Be32(x as u32),
            ElemType::Be64 => Value::Be64(x & id.settable()),
            ElemType::Vec128 => Value::Vec128(Vec128 { dw0: x, dw1: !x }),
            t => Value::zero(t),
        }
    }

    /// A guest gets an id, a run-output size from the L0, and gives the id
    /// back when dropped: with no other guest at the L0, the next guest
    /// gets the lowest id again.
    #[test]
    fn guest_create_delete() -> Result {
        let (a, b) = {
            let g1 = Guest::create()?;
            let g2 = Guest::create()?;
            assert!(g1.id() != 0);
            assert!(g1.id() != g2.id());
            assert_eq!(g1.run_output_min_size(), None);
            (g1.id(), g2.id())
        };
        let g3 = Guest::create()?;
        assert_eq!(g3.id(), a.min(b));
        assert_eq!(g3.id(), 1);
        Ok(())
    }

    /// vCPUs are created in order from 0, each with its run buffers: input
    /// for every thread-wide element, output the L0's minimum.
    #[test]
    fn vcpus_in_order() -> Result {
        let mut g = Guest::create()?;
        // Asked of the L0 through a vCPU: none yet, so no hcall.
        assert_eq!(g.get(Id::RUN_OUTPUT_MIN_SIZE), Err(ENOENT));
        for want in 0..3u64 {
            let v = g.create_vcpu(VcpuFlags::default())?;
            let v = v.lock();
            assert_eq!(v.id(), want);
            let (inp, _) = v.run_buffer_sizes();
            assert_eq!(inp, IdSet::of_scope(Scope::Thread).buffer_size());
        }
        assert_eq!(g.vcpu_count(), 3);
        let min = g.run_output_min_size().ok_or(EINVAL)?;
        assert_eq!(g.get(Id::RUN_OUTPUT_MIN_SIZE)?, Value::Be64(min as u64));
        let v = g.vcpu(2).ok_or(EINVAL)?;
        let mut v = v.lock();
        assert_eq!(v.run_buffer_sizes().1, min);
        // The registered buffers stay known after the L0 may have run it.
        v.forget_clean();
        let Value::BufferInfo(b) = v.get(Id::RUN_INPUT)? else {
            return Err(EPROTO);
        };
        assert_eq!(
            b.size as usize,
            IdSet::of_scope(Scope::Thread).buffer_size()
        );
        Ok(())
    }

    /// The L0's errors for an unknown guest, a vCPU id in use, flags it does
    /// not know and a call it lacks, each mapped to an errno.
    #[test]
    fn vcpu_errors() -> Result {
        let unknown = hcall::guest::create_vcpu(VcpuFlags::default(), 4000, 0);
        assert_eq!(unknown.map_err(|e| e.status), Err(HvStatus(status::H_P2)));
        assert_eq!(HvStatus(status::H_P2).to_errno(), EINVAL);
        let mut g = Guest::create()?;
        g.create_vcpu(VcpuFlags::default())?;
        let again = hcall::guest::create_vcpu(VcpuFlags::default(), g.id(), 0);
        assert_eq!(again.map_err(|e| e.status), Err(HvStatus(status::H_IN_USE)));
        // Flags are passed through (the C wrapper drops them): QEMU's L0
        // knows none and says so.
        let flagged = g.create_vcpu(VcpuFlags(1)).map(|_| ()).err();
        assert_eq!(flagged, Some(EOPNOTSUPP));
        assert_eq!(g.vcpu_count(), 1);
        // COPY_MEMORY reports what the L0 answers: QEMU's has no such call
        // (and offers no COPY_MEM capability).
        let mut src = L0Mem::zeroed(8)?;
        // SAFETY: `src` is L1 memory of 8 bytes, alive for the call; the L0
        // refuses the call before touching any memory.
        let copy = unsafe { hcall::guest::copy_memory(g.id(), src.real_address(), 0x1000, 8) }
            .map_err(|e| e.status);
        src[0] = 1;
        assert_eq!(copy, Err(HvStatus(status::H_FUNCTION)));
        assert_eq!(HvStatus(status::H_FUNCTION).to_errno(), EOPNOTSUPP);
        Ok(())
    }

    /// Registers of every element type (be64, be32, vec128) round-trip
    /// through the L0, per vCPU and guest-wide. The partition and process
    /// tables are set at the L0 and read from the L1's copy: QEMU's L0
    /// aborts on reading them (as on reading the run buffers).
    #[test]
    fn set_get_round_trip() -> Result {
        let mut g = Guest::create()?;
        let v = g.create_vcpu(VcpuFlags::default())?;
        let mut v = v.lock();
        let vsr = Id::vsr(5).unwrap_or(Id::NIA);
        let elems = [
            (gpr(3), Value::Be64(0xdead_beef_cafe_f00d)),
            (Id::CR, Value::Be32(0x2400_0042)),
            (
                vsr,
                Value::Vec128(Vec128 {
                    dw0: 0x0123_4567_89ab_cdef,
                    dw1: 0xfedc_ba98_7654_3210,
                }),
            ),
        ];
        for (id, val) in elems {
            v.set(id, val)?;
        }
        v.flush()?;
        v.forget_clean();
        let gets = hcall::calls(Opcode::GetState);
        for (id, val) in elems {
            assert_eq!(v.get(id)?, val);
        }
        assert_eq!(hcall::calls(Opcode::GetState), gets + 3);
        // No vCPU's lock is held across the guest's memory changes.
        drop(v);

        // The tables come from a tree the guest owns (QEMU takes only a
        // 52-bit radix tree and 4 KiB or 16 MiB process tables).
        let mut tree = PartitionTree::new()?;
        let proc_table = tree.map_process_table(0x1_0000)?;
        let part = tree.partition_table();
        assert_eq!(g.get(Id::PARTITION_TABLE), Err(ENOENT));
        g.set_partition_tree(tree)?;
        assert_eq!(g.get(Id::PARTITION_TABLE)?, Value::PartitionTable(part));
        assert_eq!(g.get(Id::PROCESS_TABLE)?, Value::ProcessTable(proc_table));
        let Value::Be32(pvr) = g.get(Id::LOGICAL_PVR)? else {
            return Err(EPROTO);
        };
        pr_info!("L0's logical PVR for a new guest: {:#010x}\n", pvr);
        g.set(&[(Id::LOGICAL_PVR, Value::Be32(pvr))])?;
        assert_eq!(g.get(Id::LOGICAL_PVR)?, Value::Be32(pvr));
        Ok(())
    }

    /// A guest-wide element the L1 has set is read from its copy, with no
    /// hcall: only the L1 sets guest-wide state, and QEMU's L0 reads a TB
    /// offset back as 0 (it keeps it only in the vCPUs). Before a set, the
    /// read goes to the L0.
    #[test]
    fn guest_wide_reads_the_l1_copy() -> Result {
        let mut g = Guest::create()?;
        g.create_vcpu(VcpuFlags::default())?;
        let gets = hcall::calls(Opcode::GetState);
        g.get(Id::TB_OFFSET)?;
        assert_eq!(hcall::calls(Opcode::GetState), gets + 1);
        let offset = Value::Be64(5 << 24);
        g.set(&[(Id::TB_OFFSET, offset)])?;
        let gets = hcall::calls(Opcode::GetState);
        assert_eq!(g.get(Id::TB_OFFSET)?, offset);
        assert_eq!(hcall::calls(Opcode::GetState), gets);
        Ok(())
    }

    /// Scope and access are checked before any hcall.
    #[test]
    fn scope_enforced() -> Result {
        let mut g = Guest::create()?;
        let v = g.create_vcpu(VcpuFlags::default())?;
        let mut v = v.lock();
        let before = hcall::calls_total();
        assert_eq!(v.set(Id::TB_OFFSET, Value::Be64(1)), Err(EINVAL));
        assert_eq!(v.set(Id::L0_GUEST_HEAP, Value::Be64(1)), Err(EINVAL));
        assert_eq!(v.set(Id::HDAR, Value::Be64(1)), Err(EPERM));
        assert_eq!(v.set(Id::NIA, Value::Be32(1)), Err(EINVAL));
        assert_eq!(v.set(Id::MSR, Value::Be64(1 << 60)), Err(EINVAL));
        let mut guest_wide = IdSet::new();
        guest_wide.set(Id::TB_OFFSET);
        assert_eq!(v.fetch(&guest_wide), Err(EINVAL));
        assert_eq!(g.set(&[(Id::NIA, Value::Be64(0))]), Err(EINVAL));
        assert_eq!(
            g.set(&[(Id::RUN_OUTPUT_MIN_SIZE, Value::Be64(0))]),
            Err(EPERM)
        );
        assert_eq!(hcall::calls_total(), before);
        Ok(())
    }

    /// No safe path hands the L0 an address of the caller's choosing: the
    /// IDs that name L1 memory are refused with -EPERM, by the vCPU, the
    /// guest and the SET call itself, before any hcall.
    #[test]
    fn l1_memory_ids_refused() -> Result {
        let mut g = Guest::create()?;
        let v = g.create_vcpu(VcpuFlags::default())?;
        let mut v = v.lock();
        let (gid, vid) = (v.guest_id(), v.id());
        let before = hcall::calls_total();
        let buf = Value::BufferInfo(BufferInfo {
            address: 0x10_0000,
            size: 4096,
        });
        assert_eq!(v.set(Id::RUN_INPUT, buf), Err(EPERM));
        assert_eq!(v.set(Id::RUN_OUTPUT, buf), Err(EPERM));
        assert_eq!(v.set(Id::VPA, Value::Be64(0x10_0000)), Err(EPERM));
        assert_eq!(v.fill_run_input()?.elements, 0);
        let tree = PartitionTree::new()?;
        let part = Value::PartitionTable(tree.partition_table());
        assert_eq!(g.set(&[(Id::PARTITION_TABLE, part)]), Err(EPERM));
        let mut raw = L0Mem::zeroed(64)?;
        let len = {
            let mut w = Writer::new(&mut raw, Scope::Thread)?;
            w.put_be64(Id::VPA, 0x10_0000)?;
            w.len()
        };
        let mut tally = Tally::default();
        let r = hcall::state::set(Scope::Thread, gid, vid, &mut raw, len, &mut tally);
        assert_eq!(r, Err(EPERM));
        assert_eq!(tally.count(), 0);
        assert_eq!(hcall::calls_total(), before);
        Ok(())
    }

    /// H_GUEST_CREATE on H_BUSY passes back the continuation token the L0
    /// returned, as the PAPR asks, rather than starting a new creation;
    /// driven through a pretend L0, since QEMU's is never busy.
    #[test]
    fn create_busy_passes_token() -> Result {
        const TOKEN: u64 = 0x5eed;
        let mut seen = KVec::new();
        let mut attempt = 0;
        let id = hcall::guest::create_with(|args| {
            let _ = seen.push(args[1], GFP_KERNEL);
            attempt += 1;
            match attempt {
                1 => (status::H_BUSY, [TOKEN, 0, 0, 0]),
                2 => (status::H_LONG_BUSY_ORDER_1_MSEC, [TOKEN + 1, 0, 0, 0]),
                _ => (status::H_SUCCESS, [42, 0, 0, 0]),
            }
        })
        .map_err(Error::from)?;
        assert_eq!(id, 42);
        assert_eq!(
            &seen[..],
            &[hcall::guest::CREATE_NO_CONTINUATION, TOKEN, TOKEN + 1]
        );
        // A status other than busy ends the call at once.
        let mut calls = 0;
        let e = hcall::guest::create_with(|_| {
            calls += 1;
            (status::H_PARAMETER, [0; 4])
        });
        assert_eq!(e.map_err(|e| e.status), Err(HvStatus(status::H_PARAMETER)));
        assert_eq!(calls, 1);
        Ok(())
    }

    /// The run-input buffer holds exactly the dirty elements.
    #[test]
    fn run_input_is_the_dirty_set() -> Result {
        let mut g = Guest::create()?;
        let v = g.create_vcpu(VcpuFlags::default())?;
        let mut v = v.lock();
        assert_eq!(v.fill_run_input()?.elements, 0);
        v.set(gpr(4), Value::Be64(4))?;
        v.set(Id::NIA, Value::Be64(0x100))?;
        v.set(Id::CR, Value::Be32(8))?;
        v.set(gpr(4), Value::Be64(5))?;
        assert_eq!(v.fill_run_input()?.elements, 3);
        let p = Parsed::parse(v.run_input(), Trailing::Allow)?;
        let mut want = IdSet::new();
        want.set(gpr(4));
        want.set(Id::NIA);
        want.set(Id::CR);
        assert_eq!(p.ids(), want);
        assert_eq!(p.get_be64(gpr(4)), Some(5));
        v.flush()?;
        assert_eq!(v.fill_run_input()?.elements, 0);
        Ok(())
    }

    /// Hcall counts: a guest with one vCPU, and a set-then-get of every
    /// thread-wide register, where the get is served from the L1's copy.
    #[test]
    fn hcall_counts() -> Result {
        let start = hcall::calls_total();
        let mut g = Guest::create()?;
        g.create_vcpu(VcpuFlags::default())?;
        let create = hcall::calls_total() - start;
        pr_info!("hcalls to create a guest with one vCPU: {}\n", create);
        assert_eq!(create, 4);

        let v = g.vcpu(0).ok_or(EINVAL)?;

        let mut v = v.lock();
        let regs = registers();
        assert_eq!(regs.len(), 84 + 15 + 64);
        let start = hcall::calls_total();
        let gets = hcall::calls(Opcode::GetState);
        for id in regs.iter() {
            v.set(id, value(id))?;
        }
        v.flush()?;
        for id in regs.iter() {
            assert_eq!(v.get(id)?, value(id));
        }
        let set_get = hcall::calls_total() - start;
        pr_info!(
            "hcalls for a set-then-get of all {} thread-wide registers: {}\n",
            regs.len(),
            set_get
        );
        assert_eq!(set_get, 1);
        assert_eq!(hcall::calls(Opcode::GetState), gets);

        // Forgotten values come back in one batched GET.
        v.forget_clean();
        let start = hcall::calls_total();
        v.fetch(&regs)?;
        assert_eq!(hcall::calls_total() - start, 1);
        Ok(())
    }

    /// The self-check's module parameters are checked before any hcall, and
    /// its guests are deleted when dropped.
    #[test]
    fn selfcheck_params() -> Result {
        use crate::demo::selfcheck;
        let before = hcall::calls_total();
        assert_eq!(selfcheck::run(1, 0).err(), Some(EINVAL));
        assert_eq!(selfcheck::run(2, 600).err(), Some(EINVAL));
        assert_eq!(selfcheck::run(u32::MAX, u32::MAX).err(), Some(EINVAL));
        assert!(selfcheck::run(0, 7)?.is_empty());
        assert_eq!(hcall::calls_total(), before);
        let guests = selfcheck::run(2, 3)?;
        assert_eq!(guests.len(), 2);
        assert!(guests.iter().all(|g| g.vcpu_count() == 3));
        drop(guests);
        // Both deleted: the next guest gets the lowest id again.
        assert_eq!(Guest::create()?.id(), 1);
        Ok(())
    }

    /// VPA registration goes alone, with a VPA of the vCPU's own: QEMU's
    /// L0 has no VPA element and refuses the request (H_P3, -EINVAL), and
    /// the vCPU's other state still flushes.
    #[test]
    fn vpa_registration() -> Result {
        let mut g = Guest::create()?;
        let v = g.create_vcpu(VcpuFlags::default())?;
        let mut v = v.lock();
        v.set(gpr(5), Value::Be64(5))?;
        let sets = v.hcalls();
        assert_eq!(v.register_vpa(), Err(EINVAL));
        assert_eq!(v.hcalls(), sets + 1);
        // The VPA stays the vCPU's until the guest is deleted.
        assert_eq!(v.register_vpa(), Err(EBUSY));
        v.flush()?;
        v.forget_clean();
        assert_eq!(v.get(gpr(5))?, Value::Be64(5));
        Ok(())
    }

    /// A ceded vCPU's decrementer expiry: one ahead of the timebase is
    /// the L0's as it is; one behind it is QEMU's L0's `now - DEC`, read
    /// forwards as `now + DEC`, for at most 1 s of the timebase.
    #[test]
    fn dec_expiry_read_forwards() {
        use crate::kvm::irq::dec_expiry;
        assert_eq!(dec_expiry(1_000, 500), 1_000);
        assert_eq!(dec_expiry(500, 500), 500);
        assert_eq!(dec_expiry(400, 500), 600);
        assert_eq!(dec_expiry(0, 2_000_000_000), 2_512_000_000);
        assert_eq!(dec_expiry(0, u64::MAX), u64::MAX);
    }

    /// A cede ends once the timebase has reached its expiry, not before
    /// (here 200 us ahead, less than a jiffy: an hrtimer's wait); and at
    /// once, with its expiry 10 s away, when the vCPU was prodded first or
    /// its external line is up. The prod is consumed by that cede.
    #[test]
    fn cede_until_expiry_prod_or_line() -> Result {
        use crate::kvm::irq::{Wake, Woken};
        use crate::platform::{timebase, timebase_hz};
        let w = Wake::new()?;
        let until = timebase() + timebase_hz() / 5_000;
        assert_eq!(w.cede(until), Woken::Resume);
        assert!(timebase() >= until);
        w.prod();
        let far = timebase() + 10 * timebase_hz();
        assert_eq!(w.cede(far), Woken::Resume);
        assert!(timebase() < far);
        let until = timebase() + timebase_hz() / 5_000;
        assert_eq!(w.cede(until), Woken::Resume);
        assert!(timebase() >= until);
        w.set_external(true);
        let far = timebase() + 10 * timebase_hz();
        assert_eq!(w.cede(far), Woken::Resume);
        assert!(timebase() < far);
        Ok(())
    }
}
