// SPDX-License-Identifier: GPL-2.0

//! Rust's `warn_on!` on powerpc (patches/0001-powerpc-bug-*): the trap and
//! its `__bug_table` entry must make the kernel log a WARNING that names
//! this file and line, and execution must go on after it.

use kernel::prelude::*;

#[kunit_tests(rust_papr_nested_warn)]
mod tests {
    use kernel::prelude::*;

    /// Raises one deliberate warning. The test asserts that execution comes
    /// back; `make check` asserts that the log holds
    /// `WARNING: <file>:<line>` for the location printed just before.
    #[test]
    fn warn_on_reports_file_and_line() {
        let warn_line = line!() + 2;
        pr_info!("expect WARNING: {}:{}\n", file!(), warn_line);
        let fired = kernel::warn_on!(core::hint::black_box(true));
        assert!(fired);
    }
}
