// SPDX-License-Identifier: GPL-2.0

//! Fuzz the load/store decoder with any instruction word, as an L2 could
//! leave it at its NIA. It must never panic; what it accepts must agree
//! with the word's fields and with the invariants of `MemOp`; storing a
//! value and loading it back in the same shape must give it back.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rpn_gsb::emul::{decode, load_value, store_bytes, Form, Kind, MemOp};

/// The value a load of `op`'s shape gives back for a store of `v`.
fn reloaded(op: &MemOp, v: u64) -> u64 {
    let bits = 8 * u32::from(op.size);
    let low = v & (u64::MAX >> (64 - bits));
    if op.sign_extend {
        let shift = 64 - bits;
        (((low << shift) as i64) >> shift) as u64
    } else {
        low
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((word, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let insn = u32::from_be_bytes(*word);
    let Ok(op) = decode(insn) else {
        return;
    };
    let field = |shift: u32| ((insn >> shift) & 0x1f) as u8;
    assert!(matches!(op.size, 1 | 2 | 4 | 8));
    assert_eq!(op.rs_rt, field(21));
    assert_eq!(op.ra, field(16));
    let po = insn >> 26;
    let d16 = i64::from(insn as u16 as i16);
    match op.form {
        Form::D { d } => {
            assert!((32..=45).contains(&po));
            assert_eq!(d, d16);
        }
        Form::Ds { d } => {
            assert!(po == 58 || po == 62);
            assert_eq!(d, d16 & !3);
            assert!(op.size == 8 || (op.size == 4 && op.sign_extend));
        }
        Form::X { rb } => {
            assert_eq!(po, 31);
            assert_eq!(rb, field(11));
            assert_eq!(insn & 1, 0);
        }
    }
    if op.sign_extend {
        assert_eq!(op.kind, Kind::Load);
        assert!(op.size == 2 || op.size == 4);
    }
    if op.byte_reverse {
        assert!(matches!(op.form, Form::X { .. }));
        assert!(op.size >= 2 && !op.update && !op.sign_extend);
    }
    if op.update {
        assert_ne!(op.ra, 0);
        if op.kind == Kind::Load {
            assert_ne!(op.ra, op.rs_rt);
        }
    }
    // The data and register values from the rest of the input.
    let mut b = [0u8; 8];
    for (d, s) in b.iter_mut().zip(rest) {
        *d = *s;
    }
    let v = u64::from_be_bytes(b);
    let sf = rest.get(8).is_some_and(|f| f & 1 != 0);
    let ea = op.effective_address(v, v.rotate_left(17), sf);
    if !sf {
        assert_eq!(ea >> 32, 0);
    }
    for be in [true, false] {
        let bytes = store_bytes(&op, v, be);
        assert!(bytes[usize::from(op.size)..].iter().all(|&x| x == 0));
        assert_eq!(load_value(&op, &bytes, be), reloaded(&op, v));
        // The other byte order reverses the bytes.
        let mut other = store_bytes(&op, v, !be);
        other[..usize::from(op.size)].reverse();
        assert_eq!(other, bytes);
        let loaded = load_value(&op, &b, be);
        if !op.sign_extend && op.size < 8 {
            assert_eq!(loaded >> (8 * op.size), 0);
        }
    }
});
