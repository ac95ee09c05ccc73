// SPDX-License-Identifier: GPL-2.0

//! rust-papr-nested: make an L1 POWER guest a host for its own (L2) guests
//! through the PAPR nested-guest API.
//!
//! The L0 hypervisor owns the L2s; the L1 asks it to create guests and
//! vCPUs, to set and get their state and to run them, with the H_GUEST_*
//! hypervisor calls. The layers, bottom up:
//!
//! - [`emul`]: MMIO emulation: the L2's process-scoped radix walk, to
//!   read the instruction at its NIA, and the decoder of the loads and
//!   stores. Needs only `core`; `host/` builds the same files for cargo
//!   tests and fuzzing.
//! - [`gsb`]: the Guest State Buffer format: the one table of guest state
//!   IDs, a writer, a validating parser, ID sets and messages. Needs only
//!   `core`; `host/` builds the same files for cargo tests and fuzzing.
//! - [`hcall`]: the H_GUEST_* calls, typed, with bounded retries and every
//!   PAPR status mapped to a kernel error.
//! - [`vcpu`]: guests and vCPUs: lifetimes at the L0, preallocated run
//!   buffers, the L1's cached and dirty-tracked copy of their state, the
//!   L2's partition-scoped tree, typed exits.
//! - [`platform`]: what the module needs of the L1 that is not an hcall.
//! - [`kvm`]: the userspace interface, KVM's ABI on `/dev/papr-nested`.
//! - [`demo`]: the demonstrations and measurements: the L2 payloads, the
//!   exit benchmark, the load-time self-check, and the debugfs directory
//!   `/sys/kernel/debug/rust_papr_nested/` with the counters.
//! - `kunit`: the KUnit suites (with `CONFIG_RUST_PAPR_NESTED_KUNIT_TEST`).
//!
//! On load the module negotiates the L2 processor mode with the L0; where
//! there is no L0 with the nested-guest API it fails with `-ENODEV`. With
//! `selfcheck_guests=N selfcheck_vcpus=M` it also creates N guests of M
//! vCPUs at the L0, checks them, and deletes them on unload.

use kernel::prelude::*;

mod demo;
#[expect(
    unreachable_pub,
    reason = "the emulation's items are `pub` for the host crate in host/, which builds these same files"
)]
pub(crate) mod emul;
#[expect(
    unreachable_pub,
    reason = "the codec's items are `pub` for the host crate in host/, which builds these same files"
)]
pub(crate) mod gsb;
pub(crate) mod hcall;
#[cfg(CONFIG_RUST_PAPR_NESTED_KUNIT_TEST)]
mod kunit;
pub(crate) mod kvm;
pub(crate) mod platform;
pub(crate) mod vcpu;

use hcall::capabilities::{self, SetOutcome};

module! {
    type: RustPaprNested,
    name: "rust_papr_nested",
    authors: ["rust-papr-nested developers"],
    description: "Host L2 guests from an L1 through the PAPR nested-guest API (H_GUEST_*)",
    license: "GPL",
    params: {
        selfcheck_guests: u32 {
            default: 0,
            description: "Guests to create at load as a self-check (deleted at unload)",
        },
        selfcheck_vcpus: u32 {
            default: 1,
            description: "vCPUs of each self-check guest",
        },
    },
}

/// The loaded module: the L2 processor mode agreed with the L0, and the
/// self-check's guests, deleted at the L0 when the module goes.
struct RustPaprNested {
    mode: capabilities::ProcessorMode,
    guests: KVec<vcpu::Guest>,
    /// Removed on unload, after a payload or benchmark run in progress
    /// has returned; those runs use guests of their own.
    _debugfs: demo::debugfs::Debugfs,
    /// `/dev/papr-nested`. The module cannot be unloaded while an fd of
    /// it, or of a VM, is open.
    _kvm: Pin<KBox<kernel::miscdevice::MiscDeviceRegistration<kvm::Device>>>,
}

impl kernel::Module for RustPaprNested {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let n = capabilities::negotiate()?;
        let how = match n.outcome {
            SetOutcome::Selected => "selected",
            SetOutcome::AlreadySet => "already set at the L0 by an earlier load, using",
        };
        pr_info!(
            "L0 offers capabilities {:#018x} (H_GUEST_COPY_MEMORY: {}); {} {} mode for L2 guests\n",
            n.offered.0,
            if n.offered.copy_memory() { "yes" } else { "no" },
            how,
            n.mode.name()
        );
        match hcall::state::host_wide_counters() {
            Ok(c) => pr_info!(
                "L0 host-wide counters: guest heap {}/{} bytes, guest page tables {}/{} bytes, reclaimed {} bytes\n",
                c.guest_heap,
                c.guest_heap_max,
                c.guest_pgtable_size,
                c.guest_pgtable_size_max,
                c.guest_pgtable_reclaim
            ),
            // Information only: the module works without it.
            Err(e) => pr_warn!("cannot read the L0's host-wide counters: {:?}\n", e),
        }
        let guests = demo::selfcheck::run(
            module_parameters::selfcheck_guests.value(),
            module_parameters::selfcheck_vcpus.value(),
        )?;
        Ok(RustPaprNested {
            mode: n.mode,
            guests,
            _debugfs: demo::debugfs::Debugfs::new()?,
            _kvm: KBox::pin_init(kvm::register(n.mode), GFP_KERNEL)?,
        })
    }
}

impl Drop for RustPaprNested {
    fn drop(&mut self) {
        if !self.guests.is_empty() {
            // Each guest deletes itself at the L0 and logs a failure.
            pr_info!(
                "deleting the self-check's {} guests at the L0\n",
                self.guests.len()
            );
            self.guests.clear();
        }
        pr_info!("unloaded ({} mode)\n", self.mode.name());
    }
}
