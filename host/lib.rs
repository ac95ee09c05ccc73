// SPDX-License-Identifier: GPL-2.0

//! The Guest State Buffer codec of rust_papr_nested, built for the host
//! from the module's own `gsb/` sources.

#![no_std]
#![warn(missing_docs)]

#[path = "../gsb/mod.rs"]
pub mod gsb;
