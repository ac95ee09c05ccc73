// SPDX-License-Identifier: GPL-2.0

//! Host tests of the doorbell instructions' decoder (`emul/doorbell.rs`).

use rpn_gsb::emul::doorbell::{decode, is_server, target, Doorbell, HFSCR_MSGP};

/// Encodings as binutils assembles them (`msgsndp r5`, `msgclrp r9`,
/// `mfspr r3,176`, `mfspr r31,446`).
#[test]
fn decodes_the_four() {
    assert_eq!(decode(0x7c00_291c), Some(Doorbell::Send { rb: 5 }));
    assert_eq!(decode(0x7c00_495c), Some(Doorbell::Clear { rb: 9 }));
    assert_eq!(decode(0x7c70_2aa6), Some(Doorbell::ReadDpdes { rt: 3 }));
    assert_eq!(decode(0x7ffe_6aa6), Some(Doorbell::ReadTir { rt: 31 }));
}

/// Everything else is refused: other SPRs, msgsnd (the hypervisor's),
/// the reserved bit, other primary opcodes.
#[test]
fn refuses_the_rest() {
    // mfspr r3,LR (8); mtspr DPDES,r3 (467); msgsnd r5 (206).
    assert_eq!(decode(0x7c68_02a6), None);
    assert_eq!(decode(0x7c70_2ba6), None);
    assert_eq!(decode(0x7c00_299c), None);
    // msgsndp with the Rc bit set.
    assert_eq!(decode(0x7c00_291d), None);
    assert_eq!(decode(0x3860_0001), None);
    for w in [0u32, u32::MAX] {
        assert_eq!(decode(w), None);
    }
}

/// RB of msgsndp: type 5 (a thread of the core) in bits 32:36, the
/// thread in the low 7 bits, which must be inside the core.
#[test]
fn targets_a_thread_of_the_core() {
    let server = 5u64 << 27;
    assert_eq!(target(server | 1, 2), Some(1));
    assert_eq!(target(server, 2), Some(0));
    assert_eq!(target(server | 2, 2), None);
    assert_eq!(target(server | 0x7f, 8), None);
    assert_eq!(target(1, 2), None);
    assert_eq!(target((4u64 << 27) | 1, 2), None);
    assert!(is_server(server | 3));
    assert!(!is_server(0));
    assert_eq!(HFSCR_MSGP, 0x400);
}
