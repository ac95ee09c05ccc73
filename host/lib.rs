// SPDX-License-Identifier: GPL-2.0

//! The pure-logic parts of rust_papr_nested, built for the host from the
//! module's own sources: the Guest State Buffer codec (`gsb/`) and the
//! MMIO emulation's decoder and radix walk (`emul/`).

#![no_std]
#![warn(missing_docs)]

#[path = "../emul/mod.rs"]
pub mod emul;
#[path = "../gsb/mod.rs"]
pub mod gsb;
