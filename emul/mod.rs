// SPDX-License-Identifier: GPL-2.0

//! MMIO emulation: what the kernel must know of an L2's load or store to
//! a guest real address outside every memory slot before it can hand the
//! access to the VMM as a `KVM_EXIT_MMIO`.
//!
//! The L0 reports such an access as a Hypervisor Data Storage interrupt
//! (0xE00) with the faulting effective address (HDAR), the guest real
//! address (ASDR) and the L2's instruction address (NIA), but not the
//! instruction. So:
//!
//! - [`radix`]: translate the NIA through the L2's own process-scoped
//!   radix tree, which lives in L2 guest real memory, and
//!   [`fetch_instruction`] reads the instruction word there.
//! - [`insn`]: decode that word as one of the integer loads and stores
//!   (size, sign extension, byte reversal, register, update), compute its
//!   effective address, and convert between register values and the bytes
//!   as memory holds them.
//!
//! - [`doorbell`]: decode msgsndp, msgclrp and the mfspr of DPDES and
//!   TIR, which an L2 without HFSCR\[MSGP\] traps on.
//!
//! The code here needs only `core` and takes no locks: guest memory is
//! read through [`radix::GuestMemory`], which the caller implements. The
//! same files build in the kernel module and in the host crate under
//! `host/`, which tests and fuzzes them with cargo.

pub mod doorbell;
pub mod insn;
pub mod radix;

pub use insn::{decode, load_value, store_bytes, Kind, MemOp};
#[cfg_attr(
    CONFIG_RUST,
    expect(unused_imports, reason = "named by the host crate's tests")
)]
pub use insn::{DecodeError, Form};
#[cfg_attr(
    CONFIG_RUST,
    expect(unused_imports, reason = "named by the host crate's tests")
)]
pub use radix::Translation;
pub use radix::{translate, GuestMemory, WalkError};

/// Reads the L2's instruction word at effective address `nia`.
///
/// `nia` is translated as an instruction fetch: through the process-scoped
/// tree of `pid` in `process_table` (guest real base and size in bytes)
/// when `msr_ir` (MSR\[IR\]) is set, as a real address otherwise; see
/// [`translate`]. The word is then read from guest real memory in the
/// byte order of MSR\[LE\] (`msr_le`), as the processor fetched it.
///
/// The two low bits of `nia` are ignored: instruction addresses are word
/// aligned, so the word never crosses a page. Prefixed instructions (a
/// second word) are not fetched; [`decode`] refuses their prefix. The
/// leaf's permissions are not checked: the L2 has just fetched this word,
/// and only its memory is read.
pub fn fetch_instruction(
    mem: &impl GuestMemory,
    nia: u64,
    pid: u32,
    process_table: (u64, u64),
    msr_ir: bool,
    msr_le: bool,
) -> Result<u32, WalkError> {
    let t = translate(mem, nia & !3, pid, process_table, msr_ir)?;
    let dw_gra = t.gra & !7;
    let b = mem
        .read_be64(dw_gra)
        .ok_or(WalkError::Unreadable { gra: dw_gra })?
        .to_be_bytes();
    let word = if t.gra & 4 == 0 {
        [b[0], b[1], b[2], b[3]]
    } else {
        [b[4], b[5], b[6], b[7]]
    };
    Ok(if msr_le {
        u32::from_le_bytes(word)
    } else {
        u32::from_be_bytes(word)
    })
}
