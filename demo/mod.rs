// SPDX-License-Identifier: GPL-2.0

//! The module's demonstrations and measurements, apart from the layers a
//! VMM-facing interface builds on: the L2 payloads, the exit benchmark,
//! the codec benchmark against the kernel's C library (where it is built),
//! the load-time self-check, and the debugfs directory that drives the
//! first two and shows the module's counters.

pub(crate) mod bench;
#[cfg(CONFIG_KVM_BOOK3S_64_HANDLER)]
pub(crate) mod codec;
pub(crate) mod debugfs;
pub(crate) mod payload;
pub(crate) mod selfcheck;
