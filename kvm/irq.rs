// SPDX-License-Identifier: GPL-2.0

//! What other threads tell a vCPU: its external interrupt line
//! (`KVM_INTERRUPT`) and H_PROD from another vCPU; and the sleep of a
//! vCPU that ceded (H_CEDE), which either ends.

use crate::platform::timebase;
use kernel::{
    bindings, new_condvar, new_mutex,
    prelude::*,
    sync::{aref::ARef, Arc, CondVar, CondVarTimeoutResult, Mutex},
    task::Task,
    time::msecs_to_jiffies,
    uaccess::{UserPtr, UserSlice},
    uapi,
};

/// What wakes a ceded vCPU, besides its decrementer and signals.
#[derive(Default)]
struct Lines {
    /// The external interrupt line, as the VMM last set it.
    external: bool,
    /// An H_PROD arrived since the vCPU last ceded or was woken.
    prodded: bool,
    /// The task in the vCPU's `KVM_RUN`, from [`Wake::enter`] to
    /// [`Wake::leave`]: kicked when a line is raised, as kvm-hv kicks a
    /// running vCPU.
    running: Option<ARef<Task>>,
}

impl Lines {
    /// Sends the task in `KVM_RUN`, if any, an IPI where it runs on
    /// another CPU: a vCPU in H_GUEST_RUN_VCPU there comes back to the L1
    /// (the L0 ends the L2's run for the L1's interrupt) and sees the line
    /// at its next entry instead of at the end of its HDEC slice.
    fn kick(&self) {
        if let Some(task) = &self.running {
            // SAFETY: `task` is a counted reference to a live task;
            // `kick_process` takes any task and only sends an IPI.
            unsafe { bindings::kick_process(task.as_ptr()) };
        }
    }
}

/// A vCPU's wake-ups. Shared by its fd (which sleeps on it) and its VM
/// (through which other vCPUs prod it); any thread may raise a line.
#[pin_data]
pub(crate) struct Wake {
    #[pin]
    lines: Mutex<Lines>,
    #[pin]
    cond: CondVar,
}

/// How a cede ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Woken {
    /// An interrupt is pending, the vCPU was prodded, or its decrementer
    /// expired: it resumes.
    Resume,
    /// A signal is pending for the task: `KVM_RUN` returns `-EINTR`.
    Signal,
}

/// The longest one wait of a cede lasts before it looks at the timebase
/// again: a decrementer set far ahead still wakes it in time, a few
/// times a second at most.
const MAX_WAIT_MS: u32 = 250;

impl Wake {
    /// No line raised.
    pub(crate) fn new() -> Result<Arc<Wake>> {
        Arc::pin_init(
            pin_init!(Wake {
                lines <- new_mutex!(Lines::default()),
                cond <- new_condvar!(),
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    /// Sets the external interrupt line to `level`, waking the vCPU if it
    /// ceded.
    pub(crate) fn set_external(&self, level: bool) {
        let mut lines = self.lines.lock();
        lines.external = level;
        if level {
            lines.kick();
            self.cond.notify_all();
        }
    }

    /// The current task enters `KVM_RUN` on this vCPU.
    pub(crate) fn enter(&self) {
        self.lines.lock().running = Some(ARef::from(&**kernel::current!()));
    }

    /// The task leaves `KVM_RUN`.
    pub(crate) fn leave(&self) {
        let task = self.lines.lock().running.take();
        // The reference is dropped outside the lock.
        drop(task);
    }

    /// Whether the external interrupt line is raised.
    pub(crate) fn external(&self) -> bool {
        self.lines.lock().external
    }

    /// H_PROD: wakes the vCPU if it ceded, or makes its next cede return
    /// at once.
    pub(crate) fn prod(&self) {
        let mut lines = self.lines.lock();
        lines.prodded = true;
        lines.kick();
        self.cond.notify_all();
    }

    /// H_CEDE: sleeps until the external line is raised, the vCPU is
    /// prodded, the timebase reaches `until_tb` (the L2's decrementer
    /// expiry, in the L1's timebase), or a signal is pending. A pending
    /// prod is consumed.
    pub(crate) fn cede(&self, until_tb: u64) -> Woken {
        let mut lines = self.lines.lock();
        loop {
            if lines.external || lines.prodded {
                lines.prodded = false;
                return Woken::Resume;
            }
            let now = timebase();
            if now >= until_tb {
                return Woken::Resume;
            }
            let ms = ticks_to_ms(until_tb - now).clamp(1, MAX_WAIT_MS);
            let jiffies = msecs_to_jiffies(ms).max(1);
            if let CondVarTimeoutResult::Signal { .. } =
                self.cond.wait_interruptible_timeout(&mut lines, jiffies)
            {
                return Woken::Signal;
            }
        }
    }
}

/// Milliseconds of `ticks` of the timebase, rounded up, saturating.
fn ticks_to_ms(ticks: u64) -> u32 {
    let per_ms = crate::platform::timebase_hz().div_ceil(1000).max(1);
    u32::try_from(ticks.div_ceil(per_ms)).unwrap_or(u32::MAX)
}

/// `struct kvm_interrupt`.
#[repr(transparent)]
struct Interrupt(uapi::kvm_interrupt);

// SAFETY: one `__u32`: every bit pattern is a value.
unsafe impl kernel::transmute::FromBytes for Interrupt {}

/// `KVM_INTERRUPT` on a vCPU fd, from any thread (it takes no lock a
/// `KVM_RUN` holds): `KVM_INTERRUPT_UNSET` lowers the external line,
/// any other value raises it (`KVM_INTERRUPT_SET_LEVEL`, and
/// `KVM_INTERRUPT_SET`, as on book3s, where both queue the interrupt
/// until it is unset). While it is raised the vCPU runs with LPCR[MER],
/// so that the L2 takes an external interrupt as soon as it enables them.
pub(super) fn interrupt(wake: &Wake, arg: usize) -> Result<isize> {
    let irq = UserSlice::new(UserPtr::from_addr(arg), size_of::<Interrupt>())
        .reader()
        .read::<Interrupt>()?
        .0
        .irq;
    wake.set_external(irq != uapi::KVM_INTERRUPT_UNSET as u32);
    Ok(0)
}
