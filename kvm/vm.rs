// SPDX-License-Identifier: GPL-2.0

//! A VM: one guest at the L0, reached through a VM fd.

use super::{anon::AnonFile, capability};
use crate::vcpu::Guest;
use kernel::{
    new_mutex,
    prelude::*,
    sync::{Arc, ArcBorrow, Mutex},
    uapi,
};

/// A VM made by `KVM_CREATE_VM`: it owns its guest at the L0, which is
/// deleted when the last reference goes (the VM fd closed, by userspace or
/// by the process's exit).
#[pin_data]
pub(crate) struct Vm {
    /// The guest. Its operations sleep (hcalls), hence a mutex.
    #[pin]
    guest: Mutex<Guest>,
}

impl Vm {
    /// Creates the guest at the L0 and the VM that owns it. On failure
    /// nothing is left at the L0.
    pub(crate) fn new() -> Result<Arc<Vm>> {
        let guest = Guest::create()?;
        let id = guest.id();
        let vm = Arc::pin_init(
            pin_init!(Vm {
                guest <- new_mutex!(guest),
            }),
            GFP_KERNEL,
        )?;
        pr_debug!("VM created: guest {}\n", id);
        Ok(vm)
    }

    /// The guest's id at the L0.
    pub(crate) fn guest_id(&self) -> u64 {
        self.guest.lock().id()
    }
}

impl AnonFile for Vm {
    const NAME: &'static CStr = c"papr-nested-vm";

    fn ioctl(_this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            uapi::KVM_CHECK_EXTENSION => Ok(capability::check(arg)),
            _ => Err(ENOTTY),
        }
    }
}
