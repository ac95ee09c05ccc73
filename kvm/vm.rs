// SPDX-License-Identifier: GPL-2.0

//! A VM: one guest at the L0, reached through a VM fd, and the memory
//! slots userspace gave it.

use super::{anon, anon::AnonFile, capability, one_reg::Request, state, vcpu::VcpuFd};
use crate::gsb::{ids::Scope, Id, IdSet, Value};
use crate::hcall::guest::VcpuFlags;
use crate::vcpu::{
    pgtable::{PartitionTree, EA_BITS, PAGE_SIZE},
    pinned::PinnedPages,
    Guest,
};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{Arc, ArcBorrow, Mutex},
    transmute::FromBytes,
    uaccess::{UserPtr, UserSlice},
    uapi,
};

/// The largest memory slot: 4 GiB. Every page of a slot is pinned, so a
/// slot is L1 memory the VMM gives away for as long as it lives.
pub(crate) const MAX_SLOT_BYTES: u64 = 1 << 32;

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

/// The guest and its slots, under one lock.
struct State {
    guest: Guest,
    slots: KVec<Slot>,
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
                state <- new_mutex!(State {
                    guest,
                    slots: KVec::new(),
                }),
            }),
            GFP_KERNEL,
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
        let v = self.state.lock().guest.get(req.id)?;
        req.put(v)
    }

    /// `KVM_SET_ONE_REG` on the VM fd: a guest-wide register, set at the
    /// L0 at once.
    fn set_one_reg(&self, arg: usize) -> Result<isize> {
        let req = Request::read(arg, Scope::Guest)?;
        let v = req.take()?;
        self.state.lock().guest.set(&[(req.id, v)])?;
        Ok(0)
    }

    /// `KVM_CREATE_VCPU(id)`: the next vCPU of the guest, as a vCPU fd.
    /// Ids go in order from 0, as the L0 (QEMU's, at least) requires: an id
    /// already made is `-EEXIST`, one past the next `-EINVAL`. No limit
    /// but the L0's.
    fn create_vcpu(this: ArcBorrow<'_, Self>, id: usize) -> Result<isize> {
        let id = u64::try_from(id).map_err(|_| EINVAL)?;
        let vcpu = {
            let mut st = this.state.lock();
            let next = u64::try_from(st.guest.vcpu_count()).map_err(|_| EINVAL)?;
            if id < next {
                return Err(EEXIST);
            }
            if id > next {
                return Err(EINVAL);
            }
            let vcpu = st.guest.create_vcpu(VcpuFlags::default())?;
            let made = vcpu.lock().id();
            if made != id {
                pr_err!("KVM_CREATE_VCPU({}): the guest made vCPU {}\n", id, made);
                return Err(EIO);
            }
            vcpu
        };
        let fd = VcpuFd::new(this.into(), vcpu)?;
        Ok(anon::install(fd)? as isize)
    }

    /// `KVM_SET_USER_MEMORY_REGION`.
    ///
    /// - `memory_size` 0 deletes the slot (`-EINVAL` if there is none):
    ///   its pages are unmapped, the L0 told, then unpinned.
    /// - Otherwise the slot is made, or replaced when its id exists with
    ///   other values (the old one deleted first): its pages are pinned
    ///   (`FOLL_LONGTERM`) and mapped at `guest_phys_addr` onwards.
    /// - `-EINVAL`: flags (none is supported), an address space other than
    ///   0, an address or size not a multiple of 64 KiB (the L2's page
    ///   size), a range that wraps or goes past 2^52, a slot over
    ///   [`MAX_SLOT_BYTES`], a range that overlaps another slot's.
    ///   `-EFAULT`: memory the VMM does not have mapped writable.
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
            return Err(EINVAL);
        }
        if let Some(at) = existing {
            if st.slots[at] == new {
                return Ok(0);
            }
            st.slots.remove(at).map_err(|_| EINVAL)?;
            st.guest.unmap_user(new.id)?;
        }
        st.slots.reserve(1, GFP_KERNEL)?;
        let uaddr = usize::try_from(new.uaddr).map_err(|_| EINVAL)?;
        let n = usize::try_from(new.size / page).map_err(|_| EINVAL)?;
        let pages = PinnedPages::pin(uaddr, n)?;
        st.guest.map_user(new.id, new.gpa, pages)?;
        // Room was reserved above: the push does not allocate.
        st.slots.push(new, GFP_KERNEL)?;
        Ok(0)
    }
}

impl AnonFile for Vm {
    const NAME: &'static CStr = c"papr-nested-vm";

    fn ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            uapi::KVM_CHECK_EXTENSION => Ok(capability::check(arg)),
            uapi::KVM_SET_USER_MEMORY_REGION => this.set_memory_region(arg),
            uapi::KVM_CREATE_VCPU => Vm::create_vcpu(this, arg),
            uapi::KVM_GET_ONE_REG => this.get_one_reg(arg),
            uapi::KVM_SET_ONE_REG => this.set_one_reg(arg),
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
