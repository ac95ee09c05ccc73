// SPDX-License-Identifier: GPL-2.0

//! The kernel's own count of hypervisor calls (CONFIG_HCALL_STATS, debugfs
//! `hcall_inst/cpuN`: one "opcode calls ..." line per opcode), shared by
//! the tools (`#[path]`).

use std::io;

/// The calls of the opcodes `ops` the kernel has counted, summed over the
/// CPUs; an error where debugfs does not show them.
pub fn calls(ops: &[u64]) -> io::Result<u64> {
    let mut n = 0;
    for e in std::fs::read_dir("/sys/kernel/debug/hcall_inst")? {
        for line in std::fs::read_to_string(e?.path())?.lines() {
            let mut f = line.split_whitespace().map(|x| x.parse::<u64>().ok());
            if let (Some(Some(op)), Some(Some(count))) = (f.next(), f.next()) {
                if ops.contains(&op) {
                    n += count;
                }
            }
        }
    }
    Ok(n)
}
