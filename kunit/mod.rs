// SPDX-License-Identifier: GPL-2.0

//! KUnit suites of rust_papr_nested.
//!
//! Built in with `CONFIG_RUST_PAPR_NESTED_KUNIT_TEST`; `make check` runs them
//! through kunit.py on an L1 whose L0 is QEMU's pseries machine with
//! cap-nested-papr=on and a POWER10 CPU (testing/qemu_configs), so the suites
//! that make hcalls talk to a real L0.

mod capabilities;
mod gsb;
mod run;
mod vcpu;
mod warn;
