// SPDX-License-Identifier: GPL-2.0

//! A vCPU fd: one vCPU of a VM's guest.

use super::{anon::AnonFile, regs, vm::Vm};
use kernel::{
    prelude::*,
    sync::{Arc, ArcBorrow},
    uaccess::{UserPtr, UserSlice},
    uapi,
};

/// A vCPU made by `KVM_CREATE_VCPU`. The vCPU itself belongs to the
/// guest (its run buffers must outlive the L0's use of them); the fd holds
/// the VM, so the guest lives at least as long as the fd.
pub(crate) struct VcpuFd {
    vm: Arc<Vm>,
    id: u64,
}

impl VcpuFd {
    /// The fd's object for vCPU `id` of `vm`.
    pub(super) fn new(vm: Arc<Vm>, id: u64) -> VcpuFd {
        VcpuFd { vm, id }
    }

    /// `KVM_GET_REGS`: the registers from the L1's copy, the ones it does
    /// not hold fetched from the L0 in one H_GUEST_GET_STATE.
    fn get_regs(&self, arg: usize) -> Result<isize> {
        let r = self.vm.with_vcpu(self.id, |v| {
            v.fetch(&regs::ids())?;
            regs::from_elements(|id| v.cached(id))
        })?;
        let len = core::mem::size_of::<regs::Regs>();
        UserSlice::new(UserPtr::from_addr(arg), len)
            .writer()
            .write(&regs::Regs(r))?;
        Ok(0)
    }

    /// `KVM_SET_REGS`: every register or none (a value the element cannot
    /// take, an MSR with bits the L1 may not set, SPRG4-7 not 0: -EINVAL);
    /// they reach the L0 with the next run or state exchange.
    fn set_regs(&self, arg: usize) -> Result<isize> {
        let len = core::mem::size_of::<regs::Regs>();
        let r = UserSlice::new(UserPtr::from_addr(arg), len)
            .reader()
            .read::<regs::Regs>()?
            .0;
        let elements = regs::elements(&r)?;
        self.vm.with_vcpu(self.id, |v| v.set_all(&elements))?;
        Ok(0)
    }
}

impl AnonFile for VcpuFd {
    const NAME: &'static CStr = c"papr-nested-vcpu";

    fn ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            uapi::KVM_GET_REGS => this.get_regs(arg),
            uapi::KVM_SET_REGS => this.set_regs(arg),
            _ => Err(ENOTTY),
        }
    }
}
