// SPDX-License-Identifier: GPL-2.0

//! Running L2 code on the real L0.

use kernel::prelude::*;

#[kunit_tests(rust_papr_nested_run)]
mod tests {
    use crate::gsb::{Id, Value};
    use crate::hcall::{self, guest::VcpuFlags};
    use crate::vcpu::{exit::Exit, pgtable::PartitionTree, timebase, Guest};
    use kernel::prelude::*;

    /// `add r3,r4,r5`
    const ADD_R3_R4_R5: u32 = 0x7C64_2A14;
    /// `sc 1`: a hypervisor call, which exits to the L1.
    const SC_1: u32 = 0x4400_0022;
    /// `addi r3,r3,1`
    const ADDI_R3_R3_1: u32 = 0x3863_0001;
    /// `ld r3,0(r4)`
    const LD_R3_0_R4: u32 = 0xE864_0000;
    /// `b .`: loop forever.
    const B_SELF: u32 = 0x4800_0000;
    /// MSR of the L2: 64-bit, big-endian, real mode (IR, DR off).
    const MSR_SF: u64 = 1 << 63;
    /// Timebase ticks the L2 may run before the HDEC fires (QEMU's
    /// timebase is 512 MHz: half a second).
    const HDEC_TICKS: u64 = 256_000_000;

    fn gpr(n: u8) -> Id {
        Id::gpr(n).unwrap_or(Id::NIA)
    }

    /// Payload (a): in real mode the L2 adds two registers the L1 set and
    /// makes a hypervisor call; the L1 sees it with GPR3, answers in GPR3,
    /// and the L2 continues to a second call with the answer plus one.
    #[test]
    fn hypervisor_calls() -> Result {
        let mut g = guest_with_code(&[ADD_R3_R4_R5, SC_1, ADDI_R3_R3_1, SC_1])?;
        let v = g.vcpu(0).ok_or(EINVAL)?;
        v.set(gpr(4), Value::Be64(40))?;
        v.set(gpr(5), Value::Be64(2))?;
        v.set(Id::HDEC_EXPIRY_TB, Value::Be64(timebase() + HDEC_TICKS))?;
        let before = hcall::calls_total();
        let exit = v.run()?;
        pr_info!("run 1: exit {:?}\n", exit);
        assert_eq!(exit, Exit::HypervisorCall);
        // GPR3 came back in the run-output buffer: one hcall for the exit.
        assert_eq!(v.get(gpr(3))?, Value::Be64(42));
        assert_eq!(hcall::calls_total() - before, 1);
        v.set(gpr(3), Value::Be64(100))?;
        v.set(Id::HDEC_EXPIRY_TB, Value::Be64(timebase() + HDEC_TICKS))?;
        let exit = v.run()?;
        pr_info!("run 2: exit {:?}\n", exit);
        assert_eq!(exit, Exit::HypervisorCall);
        assert_eq!(v.get(gpr(3))?, Value::Be64(101));
        Ok(())
    }

    /// Sets up a guest whose vCPU 0 starts in real mode at guest real 0
    /// with `code` there; the guest owns its partition-scoped tree.
    fn guest_with_code(code: &[u32]) -> Result<Guest> {
        let mut tree = PartitionTree::new()?;
        let page = tree.map_new_page(0)?;
        for (i, insn) in code.iter().enumerate() {
            page[i * 4..i * 4 + 4].copy_from_slice(&insn.to_be_bytes());
        }
        let mut g = Guest::create()?;
        g.create_vcpu(VcpuFlags::default())?;
        g.set_partition_tree(tree)?;
        let v = g.vcpu(0).ok_or(EINVAL)?;
        v.set(Id::NIA, Value::Be64(0))?;
        v.set(Id::MSR, Value::Be64(MSR_SF))?;
        Ok(g)
    }

    /// Payload (b): the L2 loads from an unmapped guest real address; the
    /// L1 sees the data storage exit with that address, maps a page there
    /// holding a known value and resumes; the L2 reports the value.
    #[test]
    fn data_storage_fault() -> Result {
        const WHERE: u64 = 0x3_0000;
        const VALUE: u64 = 0x0123_4567_89ab_cdef;
        let mut g = guest_with_code(&[LD_R3_0_R4, SC_1])?;
        let v = g.vcpu(0).ok_or(EINVAL)?;
        v.set(gpr(4), Value::Be64(WHERE))?;
        v.set(Id::HDEC_EXPIRY_TB, Value::Be64(timebase() + HDEC_TICKS))?;
        let exit = v.run()?;
        pr_info!("run 1: exit {:?}\n", exit);
        assert_eq!(exit, Exit::DataStorage);
        assert_eq!(v.get(Id::HDAR)?, Value::Be64(WHERE));
        assert_eq!(v.get(Id::NIA)?, Value::Be64(0));
        let page = g.partition_tree().ok_or(EINVAL)?.map_new_page(WHERE)?;
        page[..8].copy_from_slice(&VALUE.to_be_bytes());
        let v = g.vcpu(0).ok_or(EINVAL)?;
        v.set(Id::HDEC_EXPIRY_TB, Value::Be64(timebase() + HDEC_TICKS))?;
        let exit = v.run()?;
        pr_info!("run 2: exit {:?}\n", exit);
        assert_eq!(exit, Exit::HypervisorCall);
        assert_eq!(v.get(gpr(3))?, Value::Be64(VALUE));
        Ok(())
    }

    /// Payload (c): the L2 loops until the HDEC expiry fires.
    #[test]
    fn hdec_expiry() -> Result {
        let mut g = guest_with_code(&[B_SELF])?;
        let v = g.vcpu(0).ok_or(EINVAL)?;
        // A millisecond of timebase.
        v.set(Id::HDEC_EXPIRY_TB, Value::Be64(timebase() + 512_000))?;
        let exit = v.run()?;
        pr_info!("run: exit {:?}\n", exit);
        assert_eq!(exit, Exit::HypervisorDecrementer);
        Ok(())
    }
}
