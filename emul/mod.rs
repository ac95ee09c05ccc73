// SPDX-License-Identifier: GPL-2.0

//! MMIO emulation: what the kernel must know of an L2's load or store to
//! a guest real address outside every memory slot before it can hand the
//! access to the VMM as a `KVM_EXIT_MMIO`.
//!
//! The L0 reports such an access as a Hypervisor Data Storage interrupt
//! (0xE00) with the faulting effective address (HDAR), the guest real
//! address (ASDR) and the L2's instruction address (NIA), but not the
//! instruction. Given the instruction word:
//!
//! - [`insn`]: decode it as one of the integer loads and stores
//!   (size, sign extension, byte reversal, register, update), compute its
//!   effective address, and convert between register values and the bytes
//!   as memory holds them.
//!
//! The code here needs only `core`. The same files build in the kernel
//! module and in the host crate under `host/`, which tests them with
//! cargo.

#![cfg_attr(
    CONFIG_RUST,
    expect(
        dead_code,
        reason = "the MMIO exit path of kvm/ is the caller, still to come; \
                  the host crate's tests use every item"
    )
)]

pub mod insn;

#[cfg_attr(
    CONFIG_RUST,
    expect(unused_imports, reason = "no caller in the module yet")
)]
pub use insn::{decode, load_value, store_bytes, DecodeError, Form, Kind, MemOp};
