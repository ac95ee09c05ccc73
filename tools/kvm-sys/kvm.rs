// SPDX-License-Identifier: GPL-2.0

//! `<linux/kvm.h>` of the L1 kernel, as bindgen made it
//! (scripts/build-tools.sh), shared by the tools (`#[path]`).

#![allow(
    dead_code,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    clippy::all,
    reason = "generated from the kernel's C header"
)]

include!(env!("RPN_KVM_BINDINGS"));
