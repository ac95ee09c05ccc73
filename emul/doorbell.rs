// SPDX-License-Identifier: GPL-2.0

//! The instructions an L2 runs on its doorbells, which trap to the L1 as
//! a hypervisor facility unavailable interrupt (0xF80, HFSCR's cause
//! [`HFSCR_IC_MSGP`]) when its HFSCR lacks [`HFSCR_MSGP`], as kvm-hv runs
//! L2s so that it can emulate doorbells between the threads of a virtual
//! core (`kvmppc_emulate_doorbell_instr()`): msgsndp, msgclrp, and mfspr
//! of DPDES and TIR.

/// HFSCR\[MSGP\]: msgsndp, msgclrp and DPDES are available to the L2.
pub const HFSCR_MSGP: u64 = 1 << HFSCR_IC_MSGP;

/// HFSCR's interrupt cause (its top byte) for an L2 use of the doorbell
/// facility (`FSCR_MSGP_LG`).
pub const HFSCR_IC_MSGP: u64 = 10;

/// The doorbell type of msgsndp and msgclrp's RB (bits 32:36) that
/// addresses a thread of the same core (`PPC_DBELL_SERVER`): any other
/// type does nothing.
const DBELL_SERVER: u64 = 5;

/// SPR numbers.
const SPRN_DPDES: u32 = 176;
const SPRN_TIR: u32 = 446;

/// One of the doorbell instructions, with the registers it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doorbell {
    /// `msgsndp RB`: ring the doorbell of a thread of the core.
    Send {
        /// RB.
        rb: u8,
    },
    /// `msgclrp RB`: clear the thread's own doorbell.
    Clear {
        /// RB.
        rb: u8,
    },
    /// `mfspr RT, DPDES`: the core's pending doorbells, a bit per thread.
    ReadDpdes {
        /// RT.
        rt: u8,
    },
    /// `mfspr RT, TIR`: the thread's number in its core.
    ReadTir {
        /// RT.
        rt: u8,
    },
}

/// Decodes `insn` as one of [`Doorbell`]; `None` for any other word
/// (kvm-hv then gives the L2 a program interrupt).
pub fn decode(insn: u32) -> Option<Doorbell> {
    if insn >> 26 != 31 || insn & 1 != 0 {
        return None;
    }
    let rt = ((insn >> 21) & 0x1f) as u8;
    let rb = ((insn >> 11) & 0x1f) as u8;
    match (insn >> 1) & 0x3ff {
        142 => Some(Doorbell::Send { rb }),
        174 => Some(Doorbell::Clear { rb }),
        339 => {
            // The SPR number's two halves are swapped in the word.
            let spr = ((insn >> 16) & 0x1f) | (((insn >> 11) & 0x1f) << 5);
            match spr {
                SPRN_DPDES => Some(Doorbell::ReadDpdes { rt }),
                SPRN_TIR => Some(Doorbell::ReadTir { rt }),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The thread msgsndp's (or msgclrp's) RB value `rb` addresses, in a core
/// of `threads` threads: `None` where the type is not a core's doorbell or
/// the thread is not in the core, as kvm-hv ignores both.
pub fn target(rb: u64, threads: u64) -> Option<u64> {
    if !is_server(rb) {
        return None;
    }
    let thread = rb & 0x7f;
    (thread < threads).then_some(thread)
}

/// Whether msgclrp's RB value `rb` is of the core's doorbell type.
pub fn is_server(rb: u64) -> bool {
    (rb >> 27) & 0x1f == DBELL_SERVER
}
