// SPDX-License-Identifier: GPL-2.0

//! A guest at the L0: its id, its guest-wide state and its vCPUs.

use super::{
    gsb_err,
    pgtable::{PartitionTree, PAGE_SIZE},
    pinned::PinnedPages,
    user_err, Vcpu,
};
use crate::gsb::{ids::Scope, Id, IdSet, Parsed, Trailing, Value, Writer};
use crate::hcall::{self, guest::VcpuFlags, mem::L0Mem, Tally};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{
        atomic::{ordering::Relaxed, Atomic},
        Arc, Mutex, UniqueArc,
    },
};

/// A vCPU as its guest and its users share it. The guest keeps it until
/// the L0 has deleted the guest; the lock serialises the vCPU's runs and
/// state exchanges, and different vCPUs run at the same time.
///
/// Lock order: no vCPU's lock is held across a [`Guest`] method that takes
/// memory away from the L2 ([`Guest::unmap`], [`Guest::unmap_user`],
/// [`Guest::set_partition_tree`]): those wait for each vCPU's run to end.
pub(crate) type SharedVcpu = Arc<Mutex<Vcpu>>;

/// A vCPU of the guest and its id, readable without its lock.
struct GuestVcpu {
    id: u64,
    vcpu: SharedVcpu,
}

/// Guests this module holds at the L0: created and not (successfully)
/// deleted.
static LIVE: Atomic<u64> = Atomic::new(0);

/// How many guests this module holds at the L0 now (debugfs `guests`).
pub(crate) fn live() -> u64 {
    LIVE.load(Relaxed)
}

/// Guest-wide IDs: 0x0001 to 0x0006.
const GUEST_WIDE_IDS: usize = 6;

impl Guest {
    /// Where the L1's copy of guest-wide element `id` is kept; `None` for
    /// an element of another scope.
    fn wide_mut(&mut self, id: Id) -> Option<&mut Option<Value>> {
        if id.scope() != Scope::Guest {
            return None;
        }
        self.wide.get_mut(usize::from(id.raw()).checked_sub(1)?)
    }
}

/// Bytes of a guest-wide request: the header and the largest guest-wide
/// elements (partition table, process table, logical PVR, TB offset).
const GUEST_WIDE_BUF: usize = 4 + (4 + 24) + (4 + 16) + (4 + 4) + (4 + 8) + 2 * (4 + 8);

/// The largest buffer QEMU's L0 accepts (it aborts on larger ones).
const MAX_BUF: usize = 1 << 20;

/// A guest created at the L0. Dropping it deletes it there, with its vCPUs.
///
/// # Invariants
///
/// - `id` is a guest the L0 created for this L1 and has not deleted.
/// - Everything the L0 was given for the guest (the vCPUs' run buffers
///   and VPAs, the partition-scoped tree, which holds the process table
///   and the L2 pages, and the pinned user memory mapped in it) is owned
///   by the guest, and freed only after the L0 has deleted it or dropped
///   its translations; if the delete fails it is leaked, never freed.
pub(crate) struct Guest {
    id: u64,
    /// GSID_RUN_OUTPUT_MIN_SIZE as the L0 reported it (QEMU's L0 keeps it
    /// per vCPU and aborts when asked before one exists, so it is read
    /// when the first vCPU is created).
    run_out_min: Option<usize>,
    /// The id the next vCPU gets at the L0.
    next_vcpu: u64,
    vcpus: KVec<GuestVcpu>,
    scratch: L0Mem,
    /// Guest-wide calls made for this guest.
    tally: Tally,
    /// H_RPT_INVALIDATE calls made for this guest.
    invalidations: Tally,
    /// The guest-wide elements as the L1 last set them (logical PVR, TB
    /// offset, partition and process tables), at their ID - 1. Only the L1
    /// sets them, so reads are served from here once set. QEMU's L0 needs
    /// it: it aborts on reading the tables, and keeps a TB offset only in
    /// the vCPUs it has (a read there gives 0).
    wide: [Option<Value>; GUEST_WIDE_IDS],
    /// The L2 memory the L0 translates through, kept until the L0 has
    /// deleted the guest.
    tree: Option<PartitionTree>,
    /// Pinned user memory mapped in the tree, by the caller's key.
    user: KVec<UserRange>,
}

/// Pinned user memory mapped at guest real `gra` onwards.
struct UserRange {
    key: u32,
    gra: u64,
    pages: PinnedPages,
}

impl UserRange {
    /// Whether guest real `a` is in the range.
    fn contains(&self, a: u64) -> bool {
        a >= self.gra && a - self.gra < (self.pages.len() * PAGE_SIZE) as u64
    }
}

impl Guest {
    /// Creates a guest at the L0. On failure nothing is left there.
    pub(crate) fn create() -> Result<Guest> {
        let scratch = L0Mem::zeroed(GUEST_WIDE_BUF)?;
        let id = hcall::guest::create()?;
        LIVE.fetch_add(1, Relaxed);
        // INVARIANT: the L0 just created `id`, and was given nothing yet.
        Ok(Guest {
            id,
            run_out_min: None,
            next_vcpu: 0,
            vcpus: KVec::new(),
            scratch,
            tally: Tally::default(),
            invalidations: Tally::default(),
            wide: [None; GUEST_WIDE_IDS],
            tree: None,
            user: KVec::new(),
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
    pub(crate) fn create_vcpu(&mut self, flags: VcpuFlags) -> Result<SharedVcpu> {
        self.vcpus.reserve(1, GFP_KERNEL_ACCOUNT)?;
        let parts = super::VcpuParts::alloc()?;
        let cell = UniqueArc::<Mutex<Vcpu>>::new_uninit(GFP_KERNEL_ACCOUNT)?;
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
        let vcpu = Vcpu::register(self.id, id, parts, out_size)?;
        // The memory was allocated above and a mutex's initialiser cannot
        // fail: from here on nothing can, so the registered vCPU is never
        // dropped before the guest keeps it.
        let vcpu: SharedVcpu = match cell.write_pin_init(new_mutex!(vcpu)) {
            Ok(v) => v.into(),
            Err(never) => match never {},
        };
        if let Err(e) = self.vcpus.push_within_capacity(GuestVcpu {
            id,
            vcpu: vcpu.clone(),
        }) {
            // Room was reserved above, so this does not happen; were it
            // to, the registered vCPU must not be freed before the L0
            // deletes the guest.
            core::mem::forget(e);
            return Err(ENOMEM);
        }
        Ok(vcpu)
    }

    /// Reads GSID_RUN_OUTPUT_MIN_SIZE through vCPU `vcpu`.
    fn run_output_min_size_from_l0(&mut self, vcpu: u64) -> Result<usize> {
        let mut one = IdSet::new();
        one.set(Id::RUN_OUTPUT_MIN_SIZE);
        let mut got = None;
        self.get_via(&one, vcpu, |_, v| got = Some(v))?;
        let n = match got {
            Some(Value::Be64(n)) => usize::try_from(n).map_err(|_| EPROTO)?,
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
    pub(crate) fn vcpu(&self, id: u64) -> Option<SharedVcpu> {
        self.vcpus
            .iter()
            .find(|v| v.id == id)
            .map(|v| v.vcpu.clone())
    }

    /// Runs `f` on vCPU `id` under its lock (`-ENOENT` where there is no
    /// such vCPU). The guest is borrowed shared meanwhile, so `f` cannot
    /// call the methods that wait for runs.
    pub(crate) fn with_vcpu<R>(
        &self,
        id: u64,
        f: impl FnOnce(&mut Vcpu) -> Result<R>,
    ) -> Result<R> {
        let v = self.vcpus.iter().find(|v| v.id == id).ok_or(ENOENT)?;
        let mut guard = v.vcpu.lock();
        f(&mut guard)
    }

    /// Returns once every run of a vCPU of the guest that was under way
    /// when it was called has ended: memory taken out of the tree before
    /// the call is not reached by the L2 after it (the L0 has dropped its
    /// translations by then, see `hcall::invalidate`). The caller holds no
    /// vCPU's lock ([`SharedVcpu`]).
    fn wait_for_runs(&self) {
        for v in self.vcpus.iter() {
            drop(v.vcpu.lock());
        }
    }

    /// How many usable vCPUs the guest has.
    pub(crate) fn vcpu_count(&self) -> usize {
        self.vcpus.len()
    }

    /// Sets guest-wide elements (logical PVR, TB offset) with one
    /// H_GUEST_SET_STATE and the guest-wide flag. Per-vCPU IDs (`-EINVAL`),
    /// read-only IDs and the partition and process tables (`-EPERM`: the
    /// guest registers those from the tree it owns,
    /// [`Guest::set_partition_tree`]) are refused before any hcall.
    pub(crate) fn set(&mut self, elements: &[(Id, Value)]) -> Result {
        for (id, v) in elements {
            id.check_set(*v, Scope::Guest).map_err(user_err)?;
        }
        let len = self.encode(elements)?;
        hcall::state::set(
            Scope::Guest,
            self.id,
            0,
            &mut self.scratch,
            len,
            &mut self.tally,
        )?;
        // Each element went in as guest-wide (the writer checked).
        for (id, v) in elements {
            if let Some(slot) = self.wide_mut(*id) {
                *slot = Some(*v);
            }
        }
        Ok(())
    }

    /// Guest-wide H_GUEST_SET_STATE of the first `len` bytes of the
    /// scratch buffer, whose elements name memory the L0 keeps using.
    ///
    /// # Safety
    ///
    /// As [`hcall::state::set_registering`]: every address in those bytes
    /// is of memory the guest keeps (or leaks) until the L0 has deleted it
    /// or dropped what it cached of it.
    unsafe fn register_scratch(&mut self, len: usize) -> Result {
        // SAFETY: the caller vouches for the addresses in the buffer.
        unsafe {
            hcall::state::set_registering(
                Scope::Guest,
                self.id,
                0,
                &mut self.scratch,
                len,
                &mut self.tally,
            )
        }
    }

    /// Writes `elements` into the scratch buffer. Returns the bytes
    /// written.
    fn encode(&mut self, elements: &[(Id, Value)]) -> Result<usize> {
        let mut w = Writer::new(&mut self.scratch, Scope::Guest).map_err(gsb_err)?;
        for (id, v) in elements {
            w.put(*id, *v).map_err(gsb_err)?;
        }
        Ok(w.len())
    }

    /// Gives the guest its partition-scoped tree: one guest-wide SET of the
    /// partition-table element, with the process-table element where the
    /// tree maps one, then the guest owns the tree, so its memory outlives
    /// the L0's use of it. A tree given before is dropped once the L0 has
    /// the new one.
    ///
    /// Should the SET fail, the L0 may have taken part of it: the new tree
    /// is leaked, and the old one kept. Before an old tree is freed, the
    /// L0 is told to drop what it cached of it (H_RPT_INVALIDATE, where it
    /// has the call); if it refuses, the old tree is leaked.
    pub(crate) fn set_partition_tree(&mut self, tree: PartitionTree) -> Result {
        let part_table = tree.partition_table();
        let proc_table = tree.process_table();
        let part = (Id::PARTITION_TABLE, Value::PartitionTable(part_table));
        let len = match proc_table {
            Some(t) => self.encode(&[part, (Id::PROCESS_TABLE, Value::ProcessTable(t))])?,
            None => self.encode(&[part])?,
        };
        // SAFETY: the buffer names the tree's root and process table, which
        // the guest keeps from here on until the L0 has deleted it or
        // dropped what it cached of them (type invariant); should the call
        // fail, the tree is leaked below.
        let set = unsafe { self.register_scratch(len) };
        if let Err(e) = set {
            pr_err!(
                "guest {}: leaking the partition-scoped tree the L0 may have taken\n",
                self.id
            );
            tree.leak();
            return Err(e);
        }
        if let Some(slot) = self.wide_mut(Id::PARTITION_TABLE) {
            *slot = Some(Value::PartitionTable(part_table));
        }
        if let Some(slot) = self.wide_mut(Id::PROCESS_TABLE) {
            *slot = proc_table.map(Value::ProcessTable);
        }
        if let Some(old) = self.tree.replace(tree) {
            self.retire_tree(old);
        }
        Ok(())
    }

    /// Frees a tree the L0 no longer has as the guest's, once it has
    /// dropped what it cached of it; leaks it if the L0 refuses.
    fn retire_tree(&mut self, old: PartitionTree) {
        if hcall::invalidate::available() {
            if let Err(e) = hcall::invalidate::nested_all(self.id, &mut self.invalidations) {
                pr_err!(
                    "guest {}: H_RPT_INVALIDATE of the old tree: {} ({}); leaking it\n",
                    self.id,
                    e.status.name(),
                    e.status.0
                );
                old.leak();
                return;
            }
        }
        self.wait_for_runs();
        drop(old);
    }

    /// Unmaps the L2 page at guest real address `gra`: out of the tree,
    /// then the L0 told to drop its translation (H_RPT_INVALIDATE, where
    /// the L0 has it; see `hcall::invalidate`), then, once the vCPUs' runs
    /// under way have ended, the page freed.
    ///
    /// Should the L0 refuse the flush, the page is leaked rather than
    /// freed, since the L0 may still translate to it.
    pub(crate) fn unmap(&mut self, gra: u64) -> Result {
        let tree = self.tree.as_mut().ok_or(ENOENT)?;
        let page = tree.unmap_page(gra)?;
        if hcall::invalidate::available() {
            let end = gra + PAGE_SIZE as u64;
            if let Err(e) =
                hcall::invalidate::nested_tlb_64k(self.id, gra, end, &mut self.invalidations)
            {
                pr_err!(
                    "guest {}: H_RPT_INVALIDATE of {:#x}: {} ({}); leaking the page\n",
                    self.id,
                    gra,
                    e.status.name(),
                    e.status.0
                );
                page.leak();
                return Err(e.into());
            }
        }
        self.wait_for_runs();
        drop(page);
        Ok(())
    }

    /// Maps `pages` at guest real `gra` onwards, as range `key` (a key in
    /// use: `-EEXIST`). Needs the guest's tree (`-ENOENT` before one is
    /// set); `-EBUSY` where something is mapped already. On failure
    /// nothing stays mapped and the pages are unpinned.
    pub(crate) fn map_user(&mut self, key: u32, gra: u64, pages: PinnedPages) -> Result {
        if self.user.iter().any(|r| r.key == key) {
            return Err(EEXIST);
        }
        self.user.reserve(1, GFP_KERNEL_ACCOUNT)?;
        let tree = self.tree.as_mut().ok_or(ENOENT)?;
        let mut mapped = 0;
        let mut res = Ok(());
        for i in 0..pages.len() {
            let at = gra + (i * PAGE_SIZE) as u64;
            res = match pages.real_address(i) {
                Some(pa) => tree.map_external(at, pa),
                None => Err(EINVAL),
            };
            if res.is_err() {
                break;
            }
            mapped += 1;
        }
        if let Err(e) = res {
            let r = UserRange { key, gra, pages };
            // The caller sees the first error; a failure to retire is
            // logged by `retire_user` itself.
            let _ = self.retire_user(r, mapped);
            return Err(e);
        }
        // Room was reserved above: the push does not allocate.
        self.user
            .push(UserRange { key, gra, pages }, GFP_KERNEL_ACCOUNT)?;
        Ok(())
    }

    /// Takes range `key` out of the tree; the L0 is told to drop its
    /// translations (where it has H_RPT_INVALIDATE) before the pages are
    /// unpinned, and they stay pinned, leaked, if it refuses. `-ENOENT`
    /// for an unknown key.
    pub(crate) fn unmap_user(&mut self, key: u32) -> Result {
        let at = self.user.iter().position(|r| r.key == key).ok_or(ENOENT)?;
        let r = self.user.remove(at).map_err(|_| ENOENT)?;
        let n = r.pages.len();
        self.retire_user(r, n)
    }

    /// Unmaps the first `mapped` pages of `r`, has the L0 drop what it
    /// cached of them, then unpins `r` (or leaks it if the L0 refuses).
    fn retire_user(&mut self, r: UserRange, mapped: usize) -> Result {
        if let Some(tree) = self.tree.as_mut() {
            for i in 0..mapped {
                // The entries were mapped by `map_user`: only a tree
                // changed behind our back could refuse, and then the page
                // must stay pinned.
                if tree.unmap_external(r.gra + (i * PAGE_SIZE) as u64).is_err() {
                    pr_err!(
                        "guest {}: user range {} is not in the tree; leaking it\n",
                        self.id,
                        r.key
                    );
                    r.pages.leak();
                    return Err(EINVAL);
                }
            }
        }
        if mapped > 0 && hcall::invalidate::available() {
            let end = r.gra + (mapped * PAGE_SIZE) as u64;
            if let Err(e) =
                hcall::invalidate::nested_tlb_64k(self.id, r.gra, end, &mut self.invalidations)
            {
                pr_err!(
                    "guest {}: H_RPT_INVALIDATE of user range {}: {} ({}); leaking it\n",
                    self.id,
                    r.key,
                    e.status.name(),
                    e.status.0
                );
                r.pages.leak();
                return Err(e.into());
            }
        }
        self.wait_for_runs();
        drop(r);
        Ok(())
    }

    /// Copies L2 memory at guest real `gra` onwards into `buf`, from the
    /// user memory mapped there (memory slots); `-EFAULT` where any of it
    /// is outside every range.
    pub(crate) fn read_user(&self, gra: u64, buf: &mut [u8]) -> Result {
        self.each_user_chunk(gra, buf.len(), |va, at, n| {
            for (i, b) in buf[at..at + n].iter_mut().enumerate() {
                // SAFETY: `va..va + n` is in the linear map of a page pinned
                // for a range of this guest (`each_user_chunk`), which stays
                // pinned while `&self` is borrowed. The L2 may write the
                // page meanwhile: each byte is read once, volatile.
                *b = unsafe { core::ptr::read_volatile((va + i) as *const u8) };
            }
        })
    }

    /// Copies `buf` into L2 memory at guest real `gra` onwards, as
    /// [`Guest::read_user`] reads it.
    pub(crate) fn write_user(&self, gra: u64, buf: &[u8]) -> Result {
        self.each_user_chunk(gra, buf.len(), |va, at, n| {
            for (i, b) in buf[at..at + n].iter().enumerate() {
                // SAFETY: as in `read_user`: a pinned page of this guest's
                // user memory, written a byte at a time, volatile (the L2
                // may read or write it meanwhile, as it may any of its
                // memory).
                unsafe { core::ptr::write_volatile((va + i) as *mut u8, *b) };
            }
        })
    }

    /// Calls `f(va, at, n)` for each piece of the `len` bytes of L2 memory
    /// at `gra`: `n` bytes at kernel address `va` (the linear map of a
    /// pinned page of a user range), which are bytes `at..at + n` of the
    /// whole. `-EFAULT` before any call where a byte is outside every
    /// range.
    fn each_user_chunk(
        &self,
        gra: u64,
        len: usize,
        mut f: impl FnMut(usize, usize, usize),
    ) -> Result {
        let page = PAGE_SIZE as u64;
        let mut pieces: [(u64, usize, usize); 2] = [(0, 0, 0); 2];
        let mut count = 0;
        let mut at = 0;
        // The few bytes an instruction, a VPA field or an MMIO access
        // takes: at most two pages.
        if len as u64 > page {
            return Err(EFAULT);
        }
        while at < len {
            let a = gra.checked_add(at as u64).ok_or(EFAULT)?;
            let r = self.user.iter().find(|r| r.contains(a)).ok_or(EFAULT)?;
            let index = ((a - r.gra) / page) as usize;
            let offset = (a - r.gra) % page;
            let n = (len - at).min((page - offset) as usize);
            let pa = r.pages.real_address(index).ok_or(EFAULT)?;
            pieces[count] = (pa + offset, at, n);
            count += 1;
            at += n;
        }
        for (pa, at, n) in &pieces[..count] {
            f(crate::platform::linear_map_va(*pa), *at, *n);
        }
        Ok(())
    }

    /// Whether guest real `gra` is in user memory mapped for the L2.
    pub(crate) fn is_user_memory(&self, gra: u64) -> bool {
        self.user.iter().any(|r| r.contains(gra))
    }

    /// Sets the L2's process table (guest-wide, at the L0 at once). Its
    /// address is guest real: the L0 reaches it through the guest's
    /// partition-scoped tree, which maps only memory the guest owns.
    pub(crate) fn set_process_table(&mut self, t: crate::gsb::value::ProcessTable) -> Result {
        let len = self.encode(&[(Id::PROCESS_TABLE, Value::ProcessTable(t))])?;
        // SAFETY: the element's address is an L2 guest real address, not
        // an L1 one: the L0 translates it through the guest's tree, whose
        // pages and the user memory it maps the guest keeps until the L0
        // has deleted it or dropped its translations (type invariant).
        unsafe { self.register_scratch(len) }?;
        if let Some(slot) = self.wide_mut(Id::PROCESS_TABLE) {
            *slot = Some(Value::ProcessTable(t));
        }
        Ok(())
    }

    /// H_RPT_INVALIDATE calls made for this guest so far.
    pub(crate) fn invalidations(&self) -> u64 {
        self.invalidations.count()
    }

    /// The guest's partition-scoped tree, to map L2 memory.
    pub(crate) fn partition_tree(&mut self) -> Option<&mut PartitionTree> {
        self.tree.as_mut()
    }

    /// Reads guest-wide element `id`: from the L1's copy once the L1 has
    /// set it, otherwise from the L0. See [`Guest::get_many`].
    pub(crate) fn get(&mut self, id: Id) -> Result<Value> {
        let mut one = IdSet::new();
        one.set(id);
        let mut got = None;
        self.get_many(&one, |_, v| got = Some(v))?;
        got.ok_or(EPROTO)
    }

    /// Reads the guest-wide elements of `ids` and gives each to `out`:
    /// those the L1 has set from its copy, the rest from the L0 in one
    /// H_GUEST_GET_STATE (none where the L1 holds them all). Per-vCPU IDs
    /// are `-EINVAL`. HOST_STATE_SIZE and RUN_OUTPUT_MIN_SIZE are per vCPU
    /// at QEMU's L0, which aborts when asked for them before a vCPU
    /// exists: refused with `-ENOENT` then. The partition and process
    /// tables are never read from the L0 (`-ENOENT` before they are set):
    /// QEMU's L0 aborts on reading them.
    pub(crate) fn get_many(&mut self, ids: &IdSet, mut out: impl FnMut(Id, Value)) -> Result {
        let mut missing = IdSet::new();
        for id in ids.iter() {
            if id.scope() != Scope::Guest {
                return Err(EINVAL);
            }
            match self.wide_mut(id) {
                Some(Some(v)) => out(id, *v),
                _ if id.names_l1_memory() => return Err(ENOENT),
                _ => missing.set(id),
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let per_vcpu = missing.test(Id::HOST_STATE_SIZE) || missing.test(Id::RUN_OUTPUT_MIN_SIZE);
        let vcpu = match self.vcpus.first() {
            Some(v) => v.id,
            None if per_vcpu => return Err(ENOENT),
            None => 0,
        };
        self.get_via(&missing, vcpu, out)
    }

    /// One H_GUEST_GET_STATE of `ids` through vCPU `vcpu`, each answer
    /// given to `out`.
    fn get_via(&mut self, ids: &IdSet, vcpu: u64, mut out: impl FnMut(Id, Value)) -> Result {
        let len = {
            let mut w = Writer::new(&mut self.scratch, Scope::Guest).map_err(gsb_err)?;
            for id in ids.iter() {
                w.put_request(id).map_err(gsb_err)?;
            }
            w.len()
        };
        hcall::state::get(
            Scope::Guest,
            self.id,
            vcpu,
            &mut self.scratch,
            len,
            &mut self.tally,
        )?;
        let answer = Parsed::parse(&self.scratch[..len], Trailing::Reject).map_err(gsb_err)?;
        for id in ids.iter() {
            out(id, answer.get(id).ok_or(EPROTO)?);
        }
        Ok(())
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        let deleted = hcall::guest::delete(self.id);
        if deleted.is_ok() {
            LIVE.fetch_sub(1, Relaxed);
        }
        if let Err(e) = deleted {
            pr_err!(
                "H_GUEST_DELETE({}) failed: {} ({}); the L0 keeps the guest: leaking its run buffers, VPAs, page tables, L2 memory and pinned user memory\n",
                self.id,
                e.status.name(),
                e.status.0
            );
            // The L0 may still use all of it: it must never be reused, so
            // it is leaked rather than freed.
            core::mem::forget(core::mem::take(&mut self.vcpus));
            core::mem::forget(core::mem::take(&mut self.user));
            if let Some(tree) = self.tree.take() {
                tree.leak();
            }
        }
        // Otherwise the fields, the tree among them, are freed after this,
        // once the L0 no longer has the guest.
    }
}
