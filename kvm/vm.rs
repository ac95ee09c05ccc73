// SPDX-License-Identifier: GPL-2.0

//! A VM: one guest at the L0, reached through a VM fd, and the memory
//! slots userspace gave it.

use super::{
    anon,
    anon::AnonFile,
    capability, doorbell,
    hcalls::{Enabled, Vpa},
    ioeventfd::IoEventFds,
    irq::Wake,
    mmu,
    one_reg::Request,
    state,
    vcpu::{self, VcpuFd},
};
use crate::gsb::{
    ids::{Scope, LPCR_SETTABLE},
    Id, IdSet, Value,
};
use crate::hcall::guest::VcpuFlags;
use crate::vcpu::{
    pgtable::{PartitionTree, EA_BITS, PAGE_SIZE},
    pinned::PinnedPages,
    Guest,
};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{
        atomic::{ordering::Relaxed, Atomic},
        Arc, ArcBorrow, Mutex,
    },
    transmute::FromBytes,
    uaccess::{UserPtr, UserSlice},
    uapi,
};

/// The largest memory slot: 4 GiB. Every page of a slot is pinned, so a
/// slot is L1 memory the VMM gives away for as long as it lives.
pub(crate) const MAX_SLOT_BYTES: u64 = 1 << 32;

/// The most threads per virtual core (`MAX_SMT_THREADS`, kvm-hv's).
pub(crate) const MAX_SMT: u64 = 8;

/// A memory slot: `size` bytes of the VMM's memory at `uaddr`, seen by the
/// L2 at guest real `gpa`; its pages are pinned and mapped by the guest
/// (range key `id`).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Slot {
    id: u32,
    gpa: u64,
    size: u64,
    uaddr: u64,
}

impl Slot {
    fn overlaps(&self, gpa: u64, end: u64) -> bool {
        self.gpa < end && gpa < self.gpa + self.size
    }
}

/// What other vCPUs reach of a vCPU: its wake-ups and its VPA areas.
pub(super) struct VcpuShared {
    id: u64,
    pub(super) wake: Arc<Wake>,
    pub(super) vpa: Arc<Mutex<Vpa>>,
}

/// The guest and its slots, under one lock.
struct State {
    guest: Guest,
    slots: KVec<Slot>,
    /// Each vCPU's wake-ups and VPA, by id.
    vcpus: KVec<VcpuShared>,
    /// `KVM_REG_PPC_ARCH_COMPAT` as the VMM last set it on a vCPU fd (0:
    /// the processor's own, never sent to the L0).
    arch_compat: u32,
    /// The `KVM_IOEVENTFD` bindings.
    ioeventfds: IoEventFds,
}

/// The L2's memory as the radix walk reads it: the user memory of the
/// guest's slots.
struct L2Memory<'a>(&'a Guest);

impl crate::emul::GuestMemory for L2Memory<'_> {
    fn read_be64(&self, gra: u64) -> Option<u64> {
        let mut b = [0u8; 8];
        self.0.read_user(gra, &mut b).ok()?;
        Some(u64::from_be_bytes(b))
    }
}

/// `struct kvm_userspace_memory_region`, as read from userspace.
#[repr(transparent)]
struct Region(uapi::kvm_userspace_memory_region);

// SAFETY: the struct is integers only (`__u32` slot and flags, three
// `__u64`), with no padding: every bit pattern is a valid value.
unsafe impl FromBytes for Region {}

/// A VM made by `KVM_CREATE_VM`: it owns its guest at the L0, which is
/// deleted when the last reference goes (the VM fd closed, by userspace or
/// by the process's exit), and with it go the pinned slots.
#[pin_data]
pub(crate) struct Vm {
    /// The processor mode of its L2 (an `H_GUEST_CAP_POWER*` bit).
    mode: u64,
    /// The hypervisor calls `KVM_RUN` answers in the kernel.
    hcalls: Enabled,
    /// `KVM_CAP_PPC_FWNMI` enabled: machine checks go to the VMM.
    fwnmi: Atomic<bool>,
    /// `KVM_CAP_PPC_DAWR1` enabled: H_SET_MODE may set DAWR1.
    dawr1: Atomic<bool>,
    /// Threads per virtual core (`KVM_ENABLE_CAP(KVM_CAP_PPC_SMT)`, 1 to
    /// 8, a power of 2): vCPU `id` is thread `id % smt` of its core, and
    /// the threads of a core ring each other's doorbells.
    smt: Atomic<u32>,
    /// Its operations sleep (hcalls, pinning), hence a mutex.
    #[pin]
    state: Mutex<State>,
}

impl Vm {
    /// Creates the guest at the L0, with an empty partition-scoped tree,
    /// and the VM that owns it. On failure nothing is left at the L0.
    pub(crate) fn new(mode: u64) -> Result<Arc<Vm>> {
        let mut guest = Guest::create()?;
        guest.set_partition_tree(PartitionTree::new()?)?;
        Arc::pin_init(
            pin_init!(Vm {
                mode,
                hcalls: Enabled::new(),
                fwnmi: Atomic::new(false),
                dawr1: Atomic::new(false),
                smt: Atomic::new(1),
                state <- new_mutex!(State {
                    guest,
                    slots: KVec::new(),
                    vcpus: KVec::new(),
                    arch_compat: 0,
                    ioeventfds: IoEventFds::default(),
                }),
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    /// The guest's id at the L0.
    pub(crate) fn guest_id(&self) -> u64 {
        self.state.lock().guest.id()
    }

    /// The processor mode of the VM's L2 (an `H_GUEST_CAP_POWER*` bit).
    pub(super) fn mode(&self) -> u64 {
        self.mode
    }

    /// `KVM_GET_ONE_REG` on the VM fd: a guest-wide register (see
    /// [`super::one_reg`]), from the L0.
    fn get_one_reg(&self, arg: usize) -> Result<isize> {
        let req = Request::read(arg, Scope::Guest)?;
        let v = self.state.lock().guest.get(req.element()?)?;
        req.put(v)
    }

    /// `KVM_SET_ONE_REG` on the VM fd: a guest-wide register, set at the
    /// L0 at once.
    fn set_one_reg(&self, arg: usize) -> Result<isize> {
        let req = Request::read(arg, Scope::Guest)?;
        let v = req.take()?;
        self.state.lock().guest.set(&[(req.element()?, v)])?;
        Ok(0)
    }

    /// `KVM_CREATE_VCPU(id)`: the next vCPU of the guest, as a vCPU fd.
    /// Ids go in order from 0, as the L0 (QEMU's, at least) requires: an id
    /// already made is `-EEXIST`, one past the next `-EINVAL`. No limit
    /// but the L0's.
    fn create_vcpu(this: ArcBorrow<'_, Self>, id: usize) -> Result<isize> {
        let id = u64::try_from(id).map_err(|_| EINVAL)?;
        if id >= u64::from(capability::MAX_VCPUS) {
            return Err(EINVAL);
        }
        // Before the L0 makes the vCPU, which it cannot delete again: with
        // no fd or file free (-EMFILE, -ENFILE) nothing is made.
        let fd = anon::Reservation::new()?;
        let wake = Wake::new()?;
        let vpa = Arc::pin_init(new_mutex!(Vpa::default()), GFP_KERNEL_ACCOUNT)?;
        let mem = vcpu::VcpuFdMemory::alloc()?;
        let vcpu = {
            let mut st = this.state.lock();
            let next = u64::try_from(st.guest.vcpu_count()).map_err(|_| EINVAL)?;
            if id < next {
                return Err(EEXIST);
            }
            if id > next {
                return Err(EINVAL);
            }
            st.vcpus.reserve(1, GFP_KERNEL_ACCOUNT)?;
            let vcpu = st.guest.create_vcpu(VcpuFlags::default())?;
            // Without MSGP, for the doorbells to trap (`doorbell`): a
            // write of the L1's copy, sent with the first run.
            let made = {
                let mut v = vcpu.lock();
                v.set(Id::HFSCR, Value::Be64(doorbell::L2_HFSCR))?;
                v.id()
            };
            if made != id {
                pr_err!("KVM_CREATE_VCPU({}): the guest made vCPU {}\n", id, made);
                return Err(EIO);
            }
            // Room was reserved above: the push does not allocate.
            st.vcpus.push(
                VcpuShared {
                    id,
                    wake: wake.clone(),
                    vpa: vpa.clone(),
                },
                GFP_KERNEL_ACCOUNT,
            )?;
            vcpu
        };
        Ok(fd.install(VcpuFd::new(mem, this.into(), vcpu, id, wake, vpa)) as isize)
    }

    /// The wake-ups of vCPU `id`, if the guest has it.
    pub(super) fn wake_of(&self, id: u64) -> Option<Arc<Wake>> {
        let st = self.state.lock();
        st.vcpus.iter().find(|v| v.id == id).map(|v| v.wake.clone())
    }

    /// The VPA areas of vCPU `id`, if the guest has it.
    pub(super) fn vpa_of(&self, id: u64) -> Option<Arc<Mutex<Vpa>>> {
        let st = self.state.lock();
        st.vcpus.iter().find(|v| v.id == id).map(|v| v.vpa.clone())
    }

    /// The hypervisor calls answered in the kernel.
    pub(super) fn hcalls(&self) -> &Enabled {
        &self.hcalls
    }

    /// Whether machine checks go to the VMM (`KVM_CAP_PPC_FWNMI`).
    pub(super) fn fwnmi(&self) -> bool {
        self.fwnmi.load(Relaxed)
    }

    /// `KVM_ENABLE_CAP(KVM_CAP_PPC_FWNMI)`, on the VM or any vCPU fd.
    pub(super) fn enable_fwnmi(&self) {
        self.fwnmi.store(true, Relaxed);
    }

    /// Whether H_SET_MODE may set DAWR1 (`KVM_CAP_PPC_DAWR1`).
    pub(super) fn dawr1(&self) -> bool {
        self.dawr1.load(Relaxed)
    }

    /// Copies L2 memory at `gra` into `buf` (see [`Guest::read_user`]).
    pub(super) fn read_guest(&self, gra: u64, buf: &mut [u8]) -> Result {
        self.state.lock().guest.read_user(gra, buf)
    }

    /// Copies `buf` into L2 memory at `gra` (see [`Guest::write_user`]).
    pub(super) fn write_guest(&self, gra: u64, buf: &[u8]) -> Result {
        self.state.lock().guest.write_user(gra, buf)
    }

    /// Whether guest real `gra` is in a memory slot.
    pub(super) fn is_guest_memory(&self, gra: u64) -> bool {
        self.state.lock().guest.is_user_memory(gra)
    }

    /// The L2's instruction at effective address `nia` (see
    /// [`crate::emul::fetch_instruction`]), through its process table
    /// (`KVM_PPC_CONFIGURE_V3_MMU`) when `relocate`; `-EFAULT` where it
    /// has none, or the walk or the read fails.
    pub(super) fn fetch_instruction(
        &self,
        nia: u64,
        pid: u32,
        relocate: bool,
        little_endian: bool,
    ) -> Result<u32> {
        let mut st = self.state.lock();
        let table = match st.guest.get(Id::PROCESS_TABLE) {
            Ok(Value::ProcessTable(t)) => (t.address, t.gpd_size),
            _ if !relocate => (0, 0),
            _ => return Err(EFAULT),
        };
        let mem = L2Memory(&st.guest);
        crate::emul::fetch_instruction(&mem, nia, pid, table, relocate, little_endian)
            .map_err(|_| EFAULT)
    }

    /// An L2 store to guest real `addr` outside every slot: signals the
    /// `KVM_IOEVENTFD` binding it matches; whether one did.
    pub(super) fn ioeventfd_write(&self, addr: u64, data: &[u8; 8], len: usize) -> bool {
        self.state.lock().ioeventfds.write(addr, data, len)
    }

    /// A guest-wide element, from the L1's copy or the L0.
    pub(super) fn get_wide(&self, id: Id) -> Result<Value> {
        self.state.lock().guest.get(id)
    }

    /// Sets a guest-wide element at the L0.
    pub(super) fn set_wide(&self, id: Id, v: Value) -> Result {
        self.state.lock().guest.set(&[(id, v)])
    }

    /// `KVM_REG_PPC_ARCH_COMPAT` of the vCPUs.
    pub(super) fn arch_compat(&self) -> u32 {
        self.state.lock().arch_compat
    }

    /// Sets `KVM_REG_PPC_ARCH_COMPAT` for the guest: a logical PVR goes to
    /// the L0 (which refuses one it cannot run), 0 (the processor's own
    /// mode) is only kept: the L0 runs the L2 in the mode the module
    /// negotiated unless told otherwise.
    pub(super) fn set_arch_compat(&self, pvr: u32) -> Result {
        let mut st = self.state.lock();
        if pvr != 0 {
            st.guest.set(&[(Id::LOGICAL_PVR, Value::Be32(pvr))])?;
        }
        st.arch_compat = pvr;
        Ok(())
    }

    /// `KVM_PPC_CONFIGURE_V3_MMU`: the L2's process table (a guest real
    /// address) to the L0, and LPCR[GTSE] of every vCPU, as
    /// `kvmhv_configure_mmu()`. QEMU makes it for the L2's
    /// H_REGISTER_PROC_TBL.
    fn configure_mmu(&self, arg: usize) -> Result<isize> {
        let cfg = mmu::read_config(arg)?;
        let mut st = self.state.lock();
        st.guest.set_process_table(cfg.process_table)?;
        for i in 0..st.guest.vcpu_count() {
            let Some(v) = st.guest.vcpu(i as u64) else {
                continue;
            };
            let mut v = v.lock();
            let lpcr = match v.get(Id::LPCR)? {
                Value::Be64(x) => x,
                _ => return Err(EPROTO),
            };
            let lpcr = if cfg.gtse {
                lpcr | vcpu::LPCR_GTSE
            } else {
                lpcr & !vcpu::LPCR_GTSE
            };
            v.set(Id::LPCR, Value::Be64(lpcr & LPCR_SETTABLE))?;
        }
        Ok(0)
    }

    /// `KVM_ENABLE_CAP` on the VM: `KVM_CAP_PPC_ENABLE_HCALL` (see
    /// [`Enabled::enable`]), `KVM_CAP_PPC_FWNMI`, `KVM_CAP_PPC_DAWR1`,
    /// `KVM_CAP_PPC_SMT` (see [`Vm::set_smt`]); no flags. Anything else is
    /// `-EINVAL`.
    fn enable_cap(&self, arg: usize) -> Result<isize> {
        let c = vcpu::read_enable_cap(arg)?;
        if c.flags != 0 {
            return Err(EINVAL);
        }
        match c.cap {
            uapi::KVM_CAP_PPC_SMT => self.set_smt(c.args[0], c.args[1])?,
            uapi::KVM_CAP_PPC_ENABLE_HCALL => self.hcalls.enable(c.args[0], c.args[1])?,
            uapi::KVM_CAP_PPC_FWNMI => self.enable_fwnmi(),
            uapi::KVM_CAP_PPC_DAWR1 => self.dawr1.store(c.args[0] != 0, Relaxed),
            _ => return Err(EINVAL),
        }
        Ok(0)
    }

    /// `KVM_ENABLE_CAP(KVM_CAP_PPC_SMT)`: `threads` per virtual core, as
    /// kvm-hv on POWER9 and later takes it (`kvmhv_set_smt_mode()`): any
    /// power of 2 up to 8, each thread a vCPU of its own whose doorbells
    /// the kernel emulates. `flags` (`args[1]`) must be 0; `-EINVAL`
    /// otherwise, `-EBUSY` once a vCPU exists.
    fn set_smt(&self, threads: u64, flags: u64) -> Result {
        if flags != 0 || threads > MAX_SMT || !threads.is_power_of_two() {
            return Err(EINVAL);
        }
        let st = self.state.lock();
        if st.guest.vcpu_count() != 0 {
            return Err(EBUSY);
        }
        // `threads` <= 8 was checked above.
        self.smt.store(threads as u32, Relaxed);
        Ok(())
    }

    /// Threads per virtual core.
    pub(super) fn smt(&self) -> u64 {
        u64::from(self.smt.load(Relaxed))
    }

    /// DPDES of the virtual core whose first thread is vCPU `first`: bit
    /// `t` set where thread `t`'s doorbell is pending
    /// (`kvmppc_read_dpdes()`).
    pub(super) fn dpdes(&self, first: u64) -> u64 {
        (0..self.smt())
            .filter(|t| self.wake_of(first + t).is_some_and(|w| w.doorbell()))
            .fold(0, |d, t| d | (1 << t))
    }

    /// `KVM_SET_USER_MEMORY_REGION`.
    ///
    /// - `memory_size` 0 deletes the slot (`-EINVAL` if there is none):
    ///   its pages are unmapped, the L0 told, then unpinned.
    /// - Otherwise the slot is made, or replaced when its id exists with
    ///   other values: the new pages are pinned (`FOLL_LONGTERM`) first,
    ///   so a refusal leaves the old slot; then the old one is deleted and
    ///   the new one mapped at `guest_phys_addr` onwards. (The old and the
    ///   new memory count against the memlock limit together meanwhile.)
    /// - `-EINVAL`: flags (none is supported), an address space other than
    ///   0, an address or size not a multiple of 64 KiB (the L2's page
    ///   size), a range that wraps or goes past 2^52, a slot over
    ///   [`MAX_SLOT_BYTES`]. `-EEXIST` (as KVM): a range that overlaps
    ///   another slot's. `-EFAULT`: memory the VMM does not have mapped
    ///   writable.
    fn set_memory_region(&self, arg: usize) -> Result<isize> {
        let len = core::mem::size_of::<Region>();
        let r = UserSlice::new(UserPtr::from_addr(arg), len)
            .reader()
            .read::<Region>()?
            .0;
        if r.flags != 0 || r.slot >> 16 != 0 {
            return Err(EINVAL);
        }
        let page = PAGE_SIZE as u64;
        let new = Slot {
            id: r.slot,
            gpa: r.guest_phys_addr,
            size: r.memory_size,
            uaddr: r.userspace_addr,
        };
        let mut st = self.state.lock();
        let existing = st.slots.iter().position(|s| s.id == new.id);
        if new.size == 0 {
            let at = existing.ok_or(EINVAL)?;
            st.slots.remove(at).map_err(|_| EINVAL)?;
            st.guest.unmap_user(new.id)?;
            return Ok(0);
        }
        if [new.gpa, new.size, new.uaddr].iter().any(|v| v % page != 0) {
            return Err(EINVAL);
        }
        let end = new.gpa.checked_add(new.size).ok_or(EINVAL)?;
        new.uaddr.checked_add(new.size).ok_or(EINVAL)?;
        if end > 1 << EA_BITS || new.size > MAX_SLOT_BYTES {
            return Err(EINVAL);
        }
        if st
            .slots
            .iter()
            .any(|s| s.id != new.id && s.overlaps(new.gpa, end))
        {
            return Err(EEXIST);
        }
        if existing.is_some_and(|at| st.slots[at] == new) {
            return Ok(0);
        }
        st.slots.reserve(1, GFP_KERNEL_ACCOUNT)?;
        let uaddr = usize::try_from(new.uaddr).map_err(|_| EINVAL)?;
        let n = usize::try_from(new.size / page).map_err(|_| EINVAL)?;
        // The new memory is pinned before the old slot goes: a new slot
        // that cannot be had (memory the VMM has not mapped, the memlock
        // limit) leaves the old one as it was, as KVM does.
        let pages = PinnedPages::pin(uaddr, n)?;
        if let Some(at) = existing {
            st.slots.remove(at).map_err(|_| EINVAL)?;
            st.guest.unmap_user(new.id)?;
        }
        st.guest.map_user(new.id, new.gpa, pages)?;
        // Room was reserved above: the push does not allocate.
        st.slots.push(new, GFP_KERNEL_ACCOUNT)?;
        Ok(0)
    }
}

impl AnonFile for Vm {
    const NAME: &'static CStr = c"papr-nested-vm";

    fn ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            // The VM's own threads per core once set, as kvm-hv answers.
            uapi::KVM_CHECK_EXTENSION if arg == uapi::KVM_CAP_PPC_SMT as usize => {
                Ok(this.smt() as isize)
            }
            uapi::KVM_CHECK_EXTENSION => Ok(capability::check(arg)),
            uapi::KVM_SET_USER_MEMORY_REGION => this.set_memory_region(arg),
            uapi::KVM_CREATE_VCPU => Vm::create_vcpu(this, arg),
            uapi::KVM_GET_ONE_REG => this.get_one_reg(arg),
            uapi::KVM_SET_ONE_REG => this.set_one_reg(arg),
            uapi::KVM_ENABLE_CAP => this.enable_cap(arg),
            uapi::KVM_PPC_GET_SMMU_INFO => mmu::smmu_info(arg),
            uapi::KVM_PPC_GET_RMMU_INFO => mmu::rmmu_info(arg),
            uapi::KVM_PPC_CONFIGURE_V3_MMU => this.configure_mmu(arg),
            uapi::KVM_PPC_GET_CPU_CHAR => mmu::cpu_char(arg),
            uapi::KVM_IOEVENTFD => this.state.lock().ioeventfds.ioctl(arg),
            state::GET_STATE | state::SET_STATE | state::SNAPSHOT | state::RESTORE => {
                state::ioctl(&*this, cmd, arg)
            }
            _ => Err(ENOTTY),
        }
    }
}

/// Our state ioctls on the VM fd: the guest-wide elements.
impl state::Target for Vm {
    const SCOPE: Scope = Scope::Guest;

    fn fetch(&self, ids: &IdSet, out: &mut dyn FnMut(Id, Value)) -> Result {
        self.state.lock().guest.get_many(ids, out)
    }

    /// A guest's elements are always set at the L0 at once.
    fn apply(&self, elements: &[(Id, Value)], _now: bool) -> Result {
        self.state.lock().guest.set(elements)
    }

    fn mode(&self) -> u64 {
        self.mode
    }
}
