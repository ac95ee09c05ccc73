// SPDX-License-Identifier: GPL-2.0

//! A guest at the L0: its id, its guest-wide state and its vCPUs.

use super::{
    gsb_err,
    pgtable::{PartitionTree, PAGE_SIZE},
    Vcpu,
};
use crate::gsb::{ids::Scope, Id, Parsed, Trailing, Value, Writer};
use crate::hcall::{self, guest::VcpuFlags};
use kernel::prelude::*;

/// Bytes of a guest-wide request: the header and the largest guest-wide
/// elements (partition table, process table, logical PVR, TB offset).
const GUEST_WIDE_BUF: usize = 4 + (4 + 24) + (4 + 16) + (4 + 4) + (4 + 8) + 2 * (4 + 8);

/// The largest buffer QEMU's L0 accepts (it aborts on larger ones).
const MAX_BUF: usize = 1 << 20;

/// A guest created at the L0. Dropping it deletes it there, with its vCPUs.
pub(crate) struct Guest {
    id: u64,
    /// GSID_RUN_OUTPUT_MIN_SIZE as the L0 reported it (QEMU's L0 keeps it
    /// per vCPU and aborts when asked before one exists, so it is read
    /// when the first vCPU is created).
    run_out_min: Option<usize>,
    /// The id the next vCPU gets at the L0.
    next_vcpu: u64,
    vcpus: KVec<Vcpu>,
    scratch: KVec<u8>,
    /// The partition and process tables as last set: write-only at QEMU's
    /// L0, which aborts on a read, so reads are served from here.
    part_table: Option<Value>,
    proc_table: Option<Value>,
    /// The L2 memory the L0 translates through, kept until the L0 has
    /// deleted the guest.
    tree: Option<PartitionTree>,
}

impl Guest {
    /// Creates a guest at the L0. On failure nothing is left there.
    pub(crate) fn create() -> Result<Guest> {
        let scratch = KVec::from_elem(0u8, GUEST_WIDE_BUF, GFP_KERNEL)?;
        let id = hcall::guest::create()?;
        Ok(Guest {
            id,
            run_out_min: None,
            next_vcpu: 0,
            vcpus: KVec::new(),
            scratch,
            part_table: None,
            proc_table: None,
            tree: None,
        })
    }

    /// The guest's id at the L0.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// GSID_RUN_OUTPUT_MIN_SIZE, once a vCPU exists.
    #[cfg_attr(
        not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST),
        allow(dead_code, reason = "only the KUnit suites call it yet")
    )]
    pub(crate) fn run_output_min_size(&self) -> Option<usize> {
        self.run_out_min
    }

    /// Creates the next vCPU (ids go in order from 0, as QEMU's L0
    /// requires; it aborts on any other order) and returns it. Any number
    /// of vCPUs: the limit is the L0's.
    ///
    /// Everything that can be allocated is allocated before the L0 is
    /// asked. Should a step after that fail, the vCPU stays at the L0 (the
    /// API cannot delete one vCPU) unused, until the guest is deleted.
    pub(crate) fn create_vcpu(&mut self, flags: VcpuFlags) -> Result<&mut Vcpu> {
        self.vcpus.reserve(1, GFP_KERNEL)?;
        let mut parts = super::VcpuParts::alloc()?;
        let id = self.next_vcpu;
        hcall::guest::create_vcpu(flags, self.id, id)?;
        self.next_vcpu += 1;
        let out_size = match self.run_out_min {
            Some(n) => n,
            None => {
                let n = self.run_output_min_size_from_l0(id)?;
                self.run_out_min = Some(n);
                n
            }
        };
        parts.alloc_run_output(out_size)?;
        let vcpu = Vcpu::register(self.id, id, parts)?;
        self.vcpus.push(vcpu, GFP_KERNEL)?;
        let last = self.vcpus.len() - 1;
        Ok(&mut self.vcpus[last])
    }

    /// Reads GSID_RUN_OUTPUT_MIN_SIZE through vCPU `vcpu`.
    fn run_output_min_size_from_l0(&mut self, vcpu: u64) -> Result<usize> {
        let n = match self.get_via(Id::RUN_OUTPUT_MIN_SIZE, vcpu)? {
            Value::Be64(n) => usize::try_from(n).map_err(|_| EPROTO)?,
            _ => return Err(EPROTO),
        };
        // Bounded both ways: it must hold a header, and QEMU's L0 aborts
        // on buffers over 1 MiB.
        if !(crate::gsb::HEADER_SIZE..=MAX_BUF).contains(&n) {
            pr_err!("the L0 asks for a {}-byte run-output buffer\n", n);
            return Err(EPROTO);
        }
        Ok(n)
    }

    /// vCPU `id`, if created.
    pub(crate) fn vcpu(&mut self, id: u64) -> Option<&mut Vcpu> {
        self.vcpus.iter_mut().find(|v| v.id() == id)
    }

    /// How many usable vCPUs the guest has.
    #[cfg_attr(
        not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST),
        allow(dead_code, reason = "only the KUnit suites call it yet")
    )]
    pub(crate) fn vcpu_count(&self) -> usize {
        self.vcpus.len()
    }

    /// Sets guest-wide elements (logical PVR, TB offset, partition table,
    /// process table) with one H_GUEST_SET_STATE and the guest-wide flag.
    /// Per-vCPU and read-only IDs are refused before any hcall.
    pub(crate) fn set(&mut self, elements: &[(Id, Value)]) -> Result {
        let len = {
            let mut w = Writer::new(&mut self.scratch, Scope::Guest).map_err(gsb_err)?;
            for (id, v) in elements {
                if id.is_read_only() {
                    pr_err!("{} is read-only for the L1\n", id.name());
                    return Err(EPERM);
                }
                w.put(*id, *v).map_err(gsb_err)?;
            }
            w.len()
        };
        hcall::state::set(Scope::Guest, self.id, 0, &mut self.scratch[..len])?;
        for (id, v) in elements {
            match *id {
                Id::PARTITION_TABLE => self.part_table = Some(*v),
                Id::PROCESS_TABLE => self.proc_table = Some(*v),
                _ => {}
            }
        }
        Ok(())
    }

    /// Gives the guest its partition-scoped tree: one guest-wide SET of the
    /// partition-table element, with the process-table element where the
    /// tree maps one, then the guest owns the tree, so its memory outlives
    /// the L0's use of it. A tree given before is dropped once the L0 has
    /// the new one.
    pub(crate) fn set_partition_tree(&mut self, tree: PartitionTree) -> Result {
        let part = (
            Id::PARTITION_TABLE,
            Value::PartitionTable(tree.partition_table()?),
        );
        match tree.process_table() {
            Some(t) => self.set(&[part, (Id::PROCESS_TABLE, Value::ProcessTable(t))])?,
            None => self.set(&[part])?,
        }
        self.tree = Some(tree);
        Ok(())
    }

    /// Unmaps the L2 page at guest real address `gra`: out of the tree,
    /// then the L0 told to drop its translation (H_RPT_INVALIDATE, where
    /// the L0 has it; see `hcall::invalidate`), then the page freed. No
    /// vCPU of the guest runs meanwhile: both take `&mut self`.
    ///
    /// Should the L0 refuse the flush, the page is leaked rather than
    /// freed, since the L0 may still translate to it.
    pub(crate) fn unmap(&mut self, gra: u64) -> Result {
        let tree = self.tree.as_mut().ok_or(ENOENT)?;
        let page = tree.unmap_page(gra)?;
        if hcall::invalidate::available() {
            let end = gra + PAGE_SIZE as u64;
            if let Err(e) = hcall::invalidate::nested_tlb_64k(self.id, gra, end) {
                pr_err!(
                    "guest {}: H_RPT_INVALIDATE of {:#x}: {} ({}); leaking the page\n",
                    self.id,
                    gra,
                    e.status.name(),
                    e.status.0
                );
                core::mem::forget(page);
                return Err(e.into());
            }
        }
        drop(page);
        Ok(())
    }

    /// The guest's partition-scoped tree, to map L2 memory.
    pub(crate) fn partition_tree(&mut self) -> Option<&mut PartitionTree> {
        self.tree.as_mut()
    }

    /// Reads guest-wide element `id` from the L0. HOST_STATE_SIZE and
    /// RUN_OUTPUT_MIN_SIZE are per vCPU at QEMU's L0, which aborts when
    /// asked for them before a vCPU exists: refused with `-ENOENT` then.
    /// The partition and process tables come from the L1's copy (`-ENOENT`
    /// before they are set): QEMU's L0 aborts on reading them.
    #[cfg_attr(
        not(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST),
        allow(dead_code, reason = "only the KUnit suites call it yet")
    )]
    pub(crate) fn get(&mut self, id: Id) -> Result<Value> {
        match id {
            Id::PARTITION_TABLE => return self.part_table.ok_or(ENOENT),
            Id::PROCESS_TABLE => return self.proc_table.ok_or(ENOENT),
            _ => {}
        }
        let per_vcpu = matches!(id, Id::HOST_STATE_SIZE | Id::RUN_OUTPUT_MIN_SIZE);
        let vcpu = match self.vcpus.first() {
            Some(v) => v.id(),
            None if per_vcpu => return Err(ENOENT),
            None => 0,
        };
        self.get_via(id, vcpu)
    }

    fn get_via(&mut self, id: Id, vcpu: u64) -> Result<Value> {
        let len = {
            let mut w = Writer::new(&mut self.scratch, Scope::Guest).map_err(gsb_err)?;
            w.put_request(id).map_err(gsb_err)?;
            w.len()
        };
        hcall::state::get(Scope::Guest, self.id, vcpu, &mut self.scratch[..len])?;
        let answer = Parsed::parse(&self.scratch[..len], Trailing::Reject).map_err(gsb_err)?;
        answer.get(id).ok_or(EPROTO)
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if let Err(e) = hcall::guest::delete(self.id) {
            pr_err!(
                "H_GUEST_DELETE({}) failed: {} ({}); the L0 keeps the guest\n",
                self.id,
                e.status.name(),
                e.status.0
            );
            // The L0 may still translate through the tree: its memory must
            // never be reused, so it is leaked rather than freed.
            if let Some(tree) = self.tree.take() {
                pr_err!(
                    "leaking guest {}'s L2 memory, which the L0 may still use\n",
                    self.id
                );
                core::mem::forget(tree);
            }
        }
        // Otherwise the fields, the tree among them, are freed after this,
        // once the L0 no longer has the guest.
    }
}
