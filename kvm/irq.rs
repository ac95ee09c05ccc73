// SPDX-License-Identifier: GPL-2.0

//! What other threads tell a vCPU: its external interrupt line
//! (`KVM_INTERRUPT`), H_PROD and doorbells (msgsndp) from another vCPU;
//! and the sleep of a vCPU that ceded (H_CEDE), which either ends.

use crate::platform::timebase;
use kernel::{
    bindings, new_condvar, new_mutex,
    prelude::*,
    sync::{aref::ARef, Arc, CondVar, Mutex},
    task::Task,
    time::{Delta, NSEC_PER_SEC},
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
    /// Its doorbell, rung by a msgsndp of a thread of its virtual core
    /// and not yet taken or cleared (its DPDES bit).
    doorbell: bool,
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
/// again, as a fraction of a second (250 ms): a decrementer set far ahead
/// still wakes it in time, a few times a second at most.
const WAITS_PER_SECOND: u64 = 4;

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

    /// msgsndp from a thread of its core: rings its doorbell, waking it if
    /// it ceded and kicking it if it runs.
    pub(crate) fn ring_doorbell(&self) {
        let mut lines = self.lines.lock();
        if !lines.doorbell {
            lines.doorbell = true;
            lines.kick();
            self.cond.notify_all();
        }
    }

    /// Whether its doorbell is pending.
    pub(crate) fn doorbell(&self) -> bool {
        self.lines.lock().doorbell
    }

    /// Clears its doorbell (msgclrp, or the interrupt taken).
    pub(crate) fn clear_doorbell(&self) {
        self.lines.lock().doorbell = false;
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
    /// prodded or its doorbell rung, the timebase reaches `until_tb` (the
    /// L2's decrementer expiry, in the L1's timebase), or a signal is
    /// pending. A pending prod is consumed.
    pub(crate) fn cede(&self, until_tb: u64) -> Woken {
        let mut lines = self.lines.lock();
        loop {
            if lines.external || lines.prodded || lines.doorbell {
                lines.prodded = false;
                return Woken::Resume;
            }
            let now = timebase();
            if until_tb <= now {
                return Woken::Resume;
            }
            // On an hrtimer, to the decrementer's expiry: a Linux L2's
            // idle CPU has its next timer event there, often less than a
            // jiffy away, and a wait in jiffies would be late by up to one
            // (or, resuming at once instead, the L2 would cede again and
            // again until its decrementer fired).
            let hz = crate::platform::timebase_hz().max(1);
            let ticks = (until_tb - now).min(hz / WAITS_PER_SECOND);
            let ns = ticks.saturating_mul(NSEC_PER_SEC.unsigned_abs()) / hz;
            let wait = Delta::from_nanos(i64::try_from(ns).unwrap_or(i64::MAX));
            if self.cond.wait_interruptible_hrtimeout(&mut lines, wait) {
                return Woken::Signal;
            }
        }
    }
}

/// The longest a cede sleeps on a decrementer expiry read as QEMU's L0
/// gives it (see [`dec_expiry`]): 1 s of the 512 MHz timebase.
const MAX_CORRECTED_TICKS: u64 = 512_000_000;

/// The L2's decrementer expiry, in the L1's timebase, from the
/// DEC_EXPIRY_TB the L0 returned at the exit and the timebase `now` just
/// after it.
///
/// PAPR's DEC_EXPIRY_TB is the timebase at which the L2's decrementer
/// reaches zero: at an H_CEDE it is ahead of `now`, since Linux ceding
/// has its decrementer set to its next timer event. QEMU's L0 (through at
/// least 11.1, hw/ppc/spapr_nested.c) computes it as `now - DEC` where it
/// means `now + DEC`: an expiry already passed by the decrementer's value.
/// Taken as given, the vCPU would resume at once and an idle L2 CPU would
/// spin through H_CEDE. So an expiry behind `now` is read as that L0's
/// `now - DEC`, and the decrementer's value added forwards: `now + (now -
/// reported)`, late by twice the time since the exit (microseconds), and
/// bounded by [`MAX_CORRECTED_TICKS`], which is also the most an L0 that
/// reports truly expired decrementers costs: the cede still ends on any
/// interrupt, prod or signal.
pub(crate) fn dec_expiry(reported: u64, now: u64) -> u64 {
    if reported >= now {
        return reported;
    }
    now.saturating_add((now - reported).min(MAX_CORRECTED_TICKS))
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
