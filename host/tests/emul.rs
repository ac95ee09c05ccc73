// SPDX-License-Identifier: GPL-2.0

//! Host tests of the MMIO emulation: the load/store decoder and the
//! process-scoped radix walk.

use std::cell::Cell;
use std::collections::BTreeMap;

use rpn_gsb::emul::insn::{InvalidForm, Unsupported};
use rpn_gsb::emul::radix::{
    DIR_BASE_MASK, MAX_LEVELS, PTE_EXECUTE, PTE_LEAF, PTE_READ, PTE_REFERENCED, PTE_VALID,
    REAL_MODE_MASK,
};
use rpn_gsb::emul::{
    decode, fetch_instruction, load_value, store_bytes, translate, DecodeError, Form, GuestMemory,
    Kind, MemOp, Translation, WalkError,
};

// ---------------------------------------------------------------------------
// The decoder
// ---------------------------------------------------------------------------

/// How an instruction of [`SUPPORTED`] forms its address.
#[derive(Clone, Copy, Debug, PartialEq)]
enum F {
    D,
    Ds,
    X,
}

use Kind::{Load as L, Store as S};

/// A row of [`SUPPORTED`].
type Row = (&'static str, u32, Kind, u8, bool, bool, bool, F);

/// Every instruction the decoder supports, with RT/RS = 5, RA = 3 and
/// either D = -8 or RB = 4: (mnemonic, word, kind, size, sign_extend,
/// byte_reverse, update, form).
///
/// The words were produced in the build root by binutils 2.44:
///   printf 'lwzx 5,3,4\n...' | powerpc64le-linux-gnu-as -mpower10 -o x.o -
///   powerpc64le-linux-gnu-objdump -d x.o
/// with "lbz 5,-8(3)" for the D and DS forms and "lbzx 5,3,4" for the X
/// forms, the little-endian bytes read back as a word.
#[rustfmt::skip]
const SUPPORTED: [Row; 53] = [
    ("lbz",    0x88a3fff8, L, 1, false, false, false, F::D),
    ("lhz",    0xa0a3fff8, L, 2, false, false, false, F::D),
    ("lha",    0xa8a3fff8, L, 2, true,  false, false, F::D),
    ("lwz",    0x80a3fff8, L, 4, false, false, false, F::D),
    ("lwa",    0xe8a3fffa, L, 4, true,  false, false, F::Ds),
    ("ld",     0xe8a3fff8, L, 8, false, false, false, F::Ds),
    ("stb",    0x98a3fff8, S, 1, false, false, false, F::D),
    ("sth",    0xb0a3fff8, S, 2, false, false, false, F::D),
    ("stw",    0x90a3fff8, S, 4, false, false, false, F::D),
    ("std",    0xf8a3fff8, S, 8, false, false, false, F::Ds),
    ("lbzu",   0x8ca3fff8, L, 1, false, false, true,  F::D),
    ("lhzu",   0xa4a3fff8, L, 2, false, false, true,  F::D),
    ("lhau",   0xaca3fff8, L, 2, true,  false, true,  F::D),
    ("lwzu",   0x84a3fff8, L, 4, false, false, true,  F::D),
    ("ldu",    0xe8a3fff9, L, 8, false, false, true,  F::Ds),
    ("stbu",   0x9ca3fff8, S, 1, false, false, true,  F::D),
    ("sthu",   0xb4a3fff8, S, 2, false, false, true,  F::D),
    ("stwu",   0x94a3fff8, S, 4, false, false, true,  F::D),
    ("stdu",   0xf8a3fff9, S, 8, false, false, true,  F::Ds),
    ("lbzx",   0x7ca320ae, L, 1, false, false, false, F::X),
    ("lhzx",   0x7ca3222e, L, 2, false, false, false, F::X),
    ("lhax",   0x7ca322ae, L, 2, true,  false, false, F::X),
    ("lwzx",   0x7ca3202e, L, 4, false, false, false, F::X),
    ("lwax",   0x7ca322aa, L, 4, true,  false, false, F::X),
    ("ldx",    0x7ca3202a, L, 8, false, false, false, F::X),
    ("stbx",   0x7ca321ae, S, 1, false, false, false, F::X),
    ("sthx",   0x7ca3232e, S, 2, false, false, false, F::X),
    ("stwx",   0x7ca3212e, S, 4, false, false, false, F::X),
    ("stdx",   0x7ca3212a, S, 8, false, false, false, F::X),
    ("lbzux",  0x7ca320ee, L, 1, false, false, true,  F::X),
    ("lhzux",  0x7ca3226e, L, 2, false, false, true,  F::X),
    ("lhaux",  0x7ca322ee, L, 2, true,  false, true,  F::X),
    ("lwzux",  0x7ca3206e, L, 4, false, false, true,  F::X),
    ("lwaux",  0x7ca322ea, L, 4, true,  false, true,  F::X),
    ("ldux",   0x7ca3206a, L, 8, false, false, true,  F::X),
    ("stbux",  0x7ca321ee, S, 1, false, false, true,  F::X),
    ("sthux",  0x7ca3236e, S, 2, false, false, true,  F::X),
    ("stwux",  0x7ca3216e, S, 4, false, false, true,  F::X),
    ("stdux",  0x7ca3216a, S, 8, false, false, true,  F::X),
    ("lhbrx",  0x7ca3262c, L, 2, false, true,  false, F::X),
    ("lwbrx",  0x7ca3242c, L, 4, false, true,  false, F::X),
    ("ldbrx",  0x7ca32428, L, 8, false, true,  false, F::X),
    ("sthbrx", 0x7ca3272c, S, 2, false, true,  false, F::X),
    ("stwbrx", 0x7ca3252c, S, 4, false, true,  false, F::X),
    ("stdbrx", 0x7ca32528, S, 8, false, true,  false, F::X),
    ("lbzcix", 0x7ca326aa, L, 1, false, false, false, F::X),
    ("lhzcix", 0x7ca3266a, L, 2, false, false, false, F::X),
    ("lwzcix", 0x7ca3262a, L, 4, false, false, false, F::X),
    ("ldcix",  0x7ca326ea, L, 8, false, false, false, F::X),
    ("stbcix", 0x7ca327aa, S, 1, false, false, false, F::X),
    ("sthcix", 0x7ca3276a, S, 2, false, false, false, F::X),
    ("stwcix", 0x7ca3272a, S, 4, false, false, false, F::X),
    ("stdcix", 0x7ca327ea, S, 8, false, false, false, F::X),
];

/// The MemOp a [`SUPPORTED`] row should decode to.
fn expected(row: &Row) -> MemOp {
    let &(_, _, kind, size, sign_extend, byte_reverse, update, f) = row;
    MemOp {
        kind,
        size,
        sign_extend,
        byte_reverse,
        rs_rt: 5,
        ra: 3,
        update,
        form: match f {
            F::D => Form::D { d: -8 },
            F::Ds => Form::Ds { d: -8 },
            F::X => Form::X { rb: 4 },
        },
    }
}

fn check_group(filter: impl Fn(&Row) -> bool) -> usize {
    let mut n = 0;
    for row in SUPPORTED.iter().filter(|r| filter(r)) {
        assert_eq!(decode(row.1), Ok(expected(row)), "{}", row.0);
        n += 1;
    }
    n
}

#[test]
fn decode_d_and_ds_forms() {
    let n = check_group(|r| r.7 != F::X && !r.6);
    assert_eq!(n, 10);
}

#[test]
fn decode_d_and_ds_update_forms() {
    let n = check_group(|r| r.7 != F::X && r.6);
    assert_eq!(n, 9);
}

#[test]
fn decode_x_forms() {
    let n = check_group(|r| r.7 == F::X && !r.0.contains("br") && !r.0.contains("cix"));
    assert_eq!(n, 20);
}

#[test]
fn decode_byte_reversed() {
    let n = check_group(|r| r.0.contains("br"));
    assert_eq!(n, 6);
}

#[test]
fn decode_cache_inhibited() {
    let n = check_group(|r| r.0.contains("cix"));
    assert_eq!(n, 8);
}

/// Register and displacement fields at their extremes; words from the
/// same binutils, as in [`SUPPORTED`].
#[test]
fn decode_fields() {
    let op = |kind, size, sign_extend, rs_rt, ra, update, form| MemOp {
        kind,
        size,
        sign_extend,
        byte_reverse: false,
        rs_rt,
        ra,
        update,
        form,
    };
    // lwz 5,32764(3)
    assert_eq!(
        decode(0x80a37ffc),
        Ok(op(L, 4, false, 5, 3, false, Form::D { d: 32764 }))
    );
    // ld 5,32764(3)
    assert_eq!(
        decode(0xe8a37ffc),
        Ok(op(L, 8, false, 5, 3, false, Form::Ds { d: 32764 }))
    );
    // ld 5,-32768(3)
    assert_eq!(
        decode(0xe8a38000),
        Ok(op(L, 8, false, 5, 3, false, Form::Ds { d: -32768 }))
    );
    // lwa 31,4(0)
    assert_eq!(
        decode(0xebe00006),
        Ok(op(L, 4, true, 31, 0, false, Form::Ds { d: 4 }))
    );
    // stdux 31,30,29
    assert_eq!(
        decode(0x7ffee96a),
        Ok(op(S, 8, false, 31, 30, true, Form::X { rb: 29 }))
    );
    // lwzx 5,0,4
    assert_eq!(
        decode(0x7ca0202e),
        Ok(op(L, 4, false, 5, 0, false, Form::X { rb: 4 }))
    );
    // stw 5,0(0)
    assert_eq!(
        decode(0x90a00000),
        Ok(op(S, 4, false, 5, 0, false, Form::D { d: 0 }))
    );
    // lbz 0,1(1)
    assert_eq!(
        decode(0x88010001),
        Ok(op(L, 1, false, 0, 1, false, Form::D { d: 1 }))
    );
    // stwu 5,-8(5): a store with update may name RS as RA.
    assert_eq!(
        decode(0x94a5fff8),
        Ok(op(S, 4, false, 5, 5, true, Form::D { d: -8 }))
    );
}

#[test]
fn decode_invalid_forms() {
    use DecodeError::InvalidForm as I;
    // Hand-made words; objdump shows them as the POWER mnemonics "lu",
    // "stu", "lux" or as .long.
    let cases = [
        ("lwzu 5,-8(5)", 0x84a5fff8, I(InvalidForm::UpdateRaIsRt)),
        ("lwzu 5,-8(0)", 0x84a0fff8, I(InvalidForm::UpdateRaZero)),
        ("stwu 5,-8(0)", 0x94a0fff8, I(InvalidForm::UpdateRaZero)),
        ("ldu 5,-8(5)", 0xe8a5fff9, I(InvalidForm::UpdateRaIsRt)),
        ("lwzux 5,5,4", 0x7ca5206e, I(InvalidForm::UpdateRaIsRt)),
        ("stwux 5,0,4", 0x7ca0216e, I(InvalidForm::UpdateRaZero)),
        ("lhzx. 5,3,4", 0x7ca3222f, I(InvalidForm::ReservedBit)),
        ("ldbrx. 5,3,4", 0x7ca32429, I(InvalidForm::ReservedBit)),
        ("DS XO 3 of 58", 0xe8a3fffb, DecodeError::NotLoadStore),
        ("DS XO 3 of 62", 0xf8a3fffb, DecodeError::NotLoadStore),
    ];
    for (what, word, err) in cases {
        assert_eq!(decode(word), Err(err), "{what}");
    }
}

#[test]
fn decode_unsupported() {
    use Unsupported::*;
    // From binutils as in SUPPORTED, with -mbig where the instruction is
    // big-endian only (lmw, stmw and the strings).
    let cases = [
        ("lmw 5,-8(3)", 0xb8a3fff8, MultipleOrString),
        ("stmw 5,-8(3)", 0xbca3fff8, MultipleOrString),
        ("lswi 5,3,4", 0x7ca324aa, MultipleOrString),
        ("stswi 5,3,4", 0x7ca325aa, MultipleOrString),
        ("lswx 5,3,4", 0x7ca3242a, MultipleOrString),
        ("stswx 5,3,4", 0x7ca3252a, MultipleOrString),
        ("lfs 5,-8(3)", 0xc0a3fff8, FloatingPoint),
        ("lfsu 5,-8(3)", 0xc4a3fff8, FloatingPoint),
        ("lfd 5,-8(3)", 0xc8a3fff8, FloatingPoint),
        ("lfdu 5,-8(3)", 0xcca3fff8, FloatingPoint),
        ("stfs 5,-8(3)", 0xd0a3fff8, FloatingPoint),
        ("stfd 5,-8(3)", 0xd8a3fff8, FloatingPoint),
        ("stfdu 5,-8(3)", 0xdca3fff8, FloatingPoint),
        ("lfdx 5,3,4", 0x7ca324ae, FloatingPoint),
        ("stfdx 5,3,4", 0x7ca325ae, FloatingPoint),
        ("lfiwzx 5,3,4", 0x7ca326ee, FloatingPoint),
        ("stfiwx 5,3,4", 0x7ca327ae, FloatingPoint),
        ("lq 4,-16(3)", 0xe083fff0, Quadword),
        ("stq 4,-8(3)", 0xf883fffa, Quadword),
        ("lqarx 4,3,5", 0x7c832a28, Atomic),
        ("stqcx. 4,3,5", 0x7c83296d, Atomic),
        ("lbarx 5,3,4", 0x7ca32068, Atomic),
        ("lharx 5,3,4", 0x7ca320e8, Atomic),
        ("lwarx 5,3,4", 0x7ca32028, Atomic),
        ("ldarx 5,3,4", 0x7ca320a8, Atomic),
        ("stbcx. 5,3,4", 0x7ca3256d, Atomic),
        ("sthcx. 5,3,4", 0x7ca325ad, Atomic),
        ("stwcx. 5,3,4", 0x7ca3212d, Atomic),
        ("stdcx. 5,3,4", 0x7ca321ad, Atomic),
        ("lwat 5,3,0", 0x7ca3048c, Atomic),
        ("ldat 5,3,0", 0x7ca304cc, Atomic),
        ("stwat 5,3,0", 0x7ca3058c, Atomic),
        ("stdat 5,3,0", 0x7ca305cc, Atomic),
        ("lvx 5,3,4", 0x7ca320ce, Vector),
        ("stvx 5,3,4", 0x7ca321ce, Vector),
        ("lvebx 5,3,4", 0x7ca3200e, Vector),
        ("lxvd2x 5,3,4", 0x7ca32698, Vector),
        ("stxvd2x 5,3,4", 0x7ca32798, Vector),
        ("lxsd 5,-8(3)", 0xe4a3fffa, Vector),
        ("stxsd 5,-8(3)", 0xf4a3fffa, Vector),
        ("lxv 5,-16(3)", 0xf4a3fff1, Vector),
        ("stxv 5,-16(3)", 0xf4a3fff5, Vector),
        ("lxvp 4,-32(3)", 0x1883ffe0, Vector),
        ("stxvp 4,-32(3)", 0x1883ffe1, Vector),
        ("lxvl 5,3,4", 0x7ca3221a, Vector),
        ("pld 5,-8(3) (prefix)", 0x0403ffff, Prefixed),
        ("plwz 5,-8(3) (prefix)", 0x0603ffff, Prefixed),
        ("pnop (prefix)", 0x07000000, Prefixed),
        ("dcbz 3,4", 0x7c0327ec, CacheBlockZero),
    ];
    for (what, word, why) in cases {
        assert_eq!(decode(word), Err(DecodeError::Unsupported(why)), "{what}");
    }
}

#[test]
fn decode_not_load_store() {
    let cases = [
        ("dcbf 3,4", 0x7c0320ac),
        ("dcbst 3,4", 0x7c03206c),
        ("icbi 3,4", 0x7c0327ac),
        ("eieio", 0x7c0006ac),
        ("hwsync", 0x7c0004ac),
        ("isync", 0x4c00012c),
        ("mflr 5", 0x7ca802a6),
        ("add 5,3,4", 0x7ca32214),
        ("nop", 0x60000000),
        ("sc", 0x44000002),
        ("b .", 0x48000000),
        ("all zeros", 0x00000000),
        ("all ones", 0xffffffff),
    ];
    for (what, word) in cases {
        assert_eq!(decode(word), Err(DecodeError::NotLoadStore), "{what}");
    }
}

/// Every primary opcode and every extended opcode of 31, with registers
/// that make no invalid form: exactly the words of [`SUPPORTED`] decode.
#[test]
fn decode_nothing_else() {
    let fields = (5 << 21) | (3 << 16) | (4 << 11);
    let mut ok = BTreeMap::new();
    for po in 0..64u32 {
        if po == 31 {
            for xo in 0..1024u32 {
                let word = (31 << 26) | fields | (xo << 1);
                if let Ok(op) = decode(word) {
                    ok.insert(word, op);
                }
            }
        } else {
            // The two low bits are the XO of the DS forms, part of D
            // otherwise.
            let lows = if po == 58 || po == 62 { 0..4u32 } else { 0..1 };
            for low in lows {
                let word = (po << 26) | (5 << 21) | (3 << 16) | 0xfff8 | low;
                if let Ok(op) = decode(word) {
                    ok.insert(word, op);
                }
            }
        }
    }
    let want: BTreeMap<u32, MemOp> = SUPPORTED.iter().map(|r| (r.1, expected(r))).collect();
    assert_eq!(ok, want);
}

#[test]
fn effective_address() {
    let lwz = decode(0x80a3fff8).unwrap(); // lwz 5,-8(3)
    assert_eq!(lwz.effective_address(0x1000, 0xdead, true), 0xff8);
    assert_eq!(lwz.effective_address(4, 0, true), u64::MAX - 3);
    assert_eq!(lwz.effective_address(4, 0, false), 0xffff_fffc);
    let lwzx = decode(0x7ca3202e).unwrap(); // lwzx 5,3,4
    assert_eq!(lwzx.effective_address(0x1000, 0x234, true), 0x1234);
    assert_eq!(
        lwzx.effective_address(0xffff_ffff_0000_0000, 0x1_0000_0010, true),
        0x10
    );
    assert_eq!(
        lwzx.effective_address(0x1234_5678_0000_0000, 0x10, false),
        0x10
    );
    // RA = 0 is no base, whatever register 0 holds.
    let x0 = decode(0x7ca0202e).unwrap(); // lwzx 5,0,4
    assert_eq!(x0.effective_address(0x5555, 0x40, true), 0x40);
    let d0 = decode(0x90a00000).unwrap(); // stw 5,0(0)
    assert_eq!(d0.effective_address(0x5555, 0x40, true), 0);
    let ld = decode(0xe8a37ffc).unwrap(); // ld 5,32764(3)
    assert_eq!(ld.effective_address(0x10_0000, 0, true), 0x10_7ffc);
}

fn op(word: u32) -> MemOp {
    decode(word).unwrap()
}

#[test]
fn load_values() {
    let data = [0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88];
    let lbz = op(0x88a3fff8);
    let lhz = op(0xa0a3fff8);
    let lha = op(0xa8a3fff8);
    let lwz = op(0x80a3fff8);
    let lwa = op(0xe8a3fffa);
    let ld = op(0xe8a3fff8);
    let lhbrx = op(0x7ca3262c);
    let lwbrx = op(0x7ca3242c);
    let ldbrx = op(0x7ca32428);
    for be in [true, false] {
        assert_eq!(load_value(&lbz, &data, be), 0x81);
    }
    assert_eq!(load_value(&lhz, &data, true), 0x8182);
    assert_eq!(load_value(&lhz, &data, false), 0x8281);
    assert_eq!(load_value(&lha, &data, true), 0xffff_ffff_ffff_8182);
    assert_eq!(load_value(&lha, &data, false), 0xffff_ffff_ffff_8281);
    assert_eq!(load_value(&lwz, &data, true), 0x8182_8384);
    assert_eq!(load_value(&lwz, &data, false), 0x8483_8281);
    assert_eq!(load_value(&lwa, &data, true), 0xffff_ffff_8182_8384);
    assert_eq!(load_value(&lwa, &data, false), 0xffff_ffff_8483_8281);
    assert_eq!(load_value(&ld, &data, true), 0x8182_8384_8586_8788);
    assert_eq!(load_value(&ld, &data, false), 0x8887_8685_8483_8281);
    assert_eq!(load_value(&lhbrx, &data, true), 0x8281);
    assert_eq!(load_value(&lhbrx, &data, false), 0x8182);
    assert_eq!(load_value(&lwbrx, &data, true), 0x8483_8281);
    assert_eq!(load_value(&ldbrx, &data, false), 0x8182_8384_8586_8788);
    // Positive values stay so.
    let pos = [0x7f, 0xff, 0x7f, 0xff, 0, 0, 0, 0];
    assert_eq!(load_value(&lha, &pos, true), 0x7fff);
    assert_eq!(load_value(&lwa, &pos, true), 0x7fff_7fff);
}

#[test]
fn store_bytes_and_back() {
    let v = 0x0102_0304_0506_0708;
    let stb = op(0x98a3fff8);
    let sth = op(0xb0a3fff8);
    let stw = op(0x90a3fff8);
    let std = op(0xf8a3fff8);
    let sthbrx = op(0x7ca3272c);
    let stdbrx = op(0x7ca32528);
    assert_eq!(store_bytes(&stb, v, true), [8, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(store_bytes(&stb, v, false), [8, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(store_bytes(&sth, v, true), [7, 8, 0, 0, 0, 0, 0, 0]);
    assert_eq!(store_bytes(&sth, v, false), [8, 7, 0, 0, 0, 0, 0, 0]);
    assert_eq!(store_bytes(&stw, v, true), [5, 6, 7, 8, 0, 0, 0, 0]);
    assert_eq!(store_bytes(&stw, v, false), [8, 7, 6, 5, 0, 0, 0, 0]);
    assert_eq!(store_bytes(&std, v, true), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(store_bytes(&std, v, false), [8, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(store_bytes(&sthbrx, v, true), [8, 7, 0, 0, 0, 0, 0, 0]);
    assert_eq!(store_bytes(&stdbrx, v, false), [1, 2, 3, 4, 5, 6, 7, 8]);
    // A store, then the load of the same size and order, gives the
    // register's low bytes back.
    for row in SUPPORTED.iter().filter(|r| r.2 == S) {
        let st = expected(row);
        let ld = MemOp { kind: L, ..st };
        for be in [true, false] {
            let mask = u64::MAX >> (64 - 8 * u32::from(st.size));
            let back = load_value(&ld, &store_bytes(&st, v, be), be);
            assert_eq!(back, v & mask, "{} be={be}", row.0);
        }
    }
}

// ---------------------------------------------------------------------------
// The radix walk
// ---------------------------------------------------------------------------

/// Guest memory: sparse doublewords, counting reads; unwritten addresses
/// below `limit` read as 0, others are outside every slot.
struct Mem {
    dw: BTreeMap<u64, u64>,
    limit: u64,
    reads: Cell<usize>,
}

impl Mem {
    fn new() -> Self {
        Mem {
            dw: BTreeMap::new(),
            limit: 1 << 40,
            reads: Cell::new(0),
        }
    }

    fn set(&mut self, gra: u64, v: u64) {
        assert_eq!(gra % 8, 0);
        self.dw.insert(gra, v);
    }
}

impl GuestMemory for Mem {
    fn read_be64(&self, gra: u64) -> Option<u64> {
        assert_eq!(gra % 8, 0, "unaligned read at {gra:#x}");
        self.reads.set(self.reads.get() + 1);
        if gra >= self.limit {
            return None;
        }
        Some(self.dw.get(&gra).copied().unwrap_or(0))
    }
}

const PRTB: u64 = 0x10_0000;
const PRTB_SIZE: u64 = 1 << 16;

/// A process table entry's first doubleword: a tree of `tree_bits` EA
/// bits rooted at `root` with 2^`rpds` entries.
fn prte(tree_bits: u64, root: u64, rpds: u64) -> u64 {
    let rts = tree_bits - 31;
    ((rts >> 3) << 61) | root | ((rts & 7) << 5) | rpds
}

fn dir(base: u64, nls: u64) -> u64 {
    PTE_VALID | base | nls
}

/// Linux's pte bits for a kernel page (privileged, read, write, exec,
/// referenced and changed).
const PAGE_FLAGS: u64 = 0x18f;

fn leaf(rpn: u64) -> u64 {
    PTE_VALID | PTE_LEAF | rpn | PAGE_FLAGS
}

/// Builds Linux's 52-bit tree for one EA: 13 bits at the root, then 9,
/// 9 and `last` (5 for 64 KiB pages, 9 for 4 KiB), with the leaf at
/// level `leaf_level` (3, or 2 for a 2 MiB page, 1 for 1 GiB). Returns
/// the directories' bases, which are the same for the same PID.
fn linux_tree(
    mem: &mut Mem,
    pid: u32,
    ea: u64,
    last: u64,
    leaf_level: usize,
    rpn: u64,
) -> [u64; 4] {
    let sizes = [13, 9, 9, last];
    let at_pid = u64::from(pid) << 24;
    let bases = [0x20_0000, 0x30_0000, 0x30_1000, 0x30_2000].map(|b| b + at_pid);
    mem.set(PRTB + 16 * u64::from(pid), prte(52, bases[0], 13));
    let mut shift = 52;
    for level in 0..4 {
        shift -= sizes[level];
        let index = (ea >> shift) & ((1 << sizes[level]) - 1);
        let at = bases[level] + 8 * index;
        if level == leaf_level {
            mem.set(at, leaf(rpn));
            break;
        }
        mem.set(at, dir(bases[level + 1], sizes[level + 1]));
    }
    bases
}

fn xlate(mem: &Mem, ea: u64, pid: u32) -> Result<Translation, WalkError> {
    translate(mem, ea, pid, (PRTB, PRTB_SIZE), true)
}

#[test]
fn walk_64k_pages() {
    let mut mem = Mem::new();
    let ea = 0x0000_7fff_8765_4321;
    linux_tree(&mut mem, 7, ea, 5, 3, 0x4567_0000);
    let t = xlate(&mem, ea, 7).unwrap();
    assert_eq!(t.gra, 0x4567_4321);
    assert_eq!(t.page_shift, 16);
    assert_eq!(t.pte, Some(leaf(0x4567_0000)));
    // The process table entry and four levels.
    assert_eq!(mem.reads.get(), 5);
    // The rest of the page maps alike; the next page is not mapped.
    assert_eq!(xlate(&mem, ea | 0xffff, 7).unwrap().gra, 0x4567_ffff);
    assert_eq!(
        xlate(&mem, ea + 0x1_0000, 7),
        Err(WalkError::NotValid { level: 3 })
    );
    // Another PID has no tree: its all-zero entry is a 31-bit tree.
    assert_eq!(
        xlate(&mem, ea, 8),
        Err(WalkError::OutOfRange { tree_bits: 31 })
    );
}

#[test]
fn walk_4k_pages() {
    let mut mem = Mem::new();
    let ea = 0x0000_0001_2345_6789;
    linux_tree(&mut mem, 1, ea, 9, 3, 0x9_8765_4000);
    let t = xlate(&mem, ea, 1).unwrap();
    assert_eq!(t.gra, 0x9_8765_4789);
    assert_eq!(t.page_shift, 12);
}

#[test]
fn walk_huge_pages() {
    let mut mem = Mem::new();
    let ea = 0x0000_0001_2345_6789;
    linux_tree(&mut mem, 1, ea, 5, 2, 0x4000_0000);
    let t = xlate(&mem, ea, 1).unwrap();
    assert_eq!(t.gra, 0x4000_0000 | (ea & 0x1f_ffff));
    assert_eq!(t.page_shift, 21);
    assert_eq!(mem.reads.get(), 4);

    let mut mem = Mem::new();
    linux_tree(&mut mem, 1, ea, 5, 1, 0x80_0000_0000);
    let t = xlate(&mem, ea, 1).unwrap();
    assert_eq!(t.gra, 0x80_2345_6789);
    assert_eq!(t.page_shift, 30);
    // A 1 GiB leaf whose RPN is only 2 MiB aligned.
    linux_tree(&mut mem, 1, ea, 5, 1, 0x80_0020_0000);
    assert_eq!(
        xlate(&mem, ea, 1),
        Err(WalkError::LeafMisaligned { level: 1 })
    );
}

#[test]
fn walk_quadrants() {
    let mut mem = Mem::new();
    let ea = 0x0000_0000_1000_0000;
    linux_tree(&mut mem, 0, ea, 5, 3, 0x1_0000);
    linux_tree(&mut mem, 9, ea, 5, 3, 0x2_0000);
    // Quadrant 3 is PID 0's, whatever PIDR holds.
    let q3 = xlate(&mem, ea | (3 << 62), 9).unwrap();
    assert_eq!(q3.gra, 0x1_0000);
    // Quadrant 0 is PIDR's.
    assert_eq!(xlate(&mem, ea, 9).unwrap().gra, 0x2_0000);
    for q in [1u8, 2] {
        assert_eq!(
            xlate(&mem, ea | (u64::from(q) << 62), 9),
            Err(WalkError::Quadrant { quadrant: q })
        );
    }
}

#[test]
fn walk_real_mode() {
    let mem = Mem::new();
    for ea in [0, 0x1234, 0xc000_0000_0123_4560, u64::MAX] {
        let t = translate(&mem, ea, 5, (PRTB, PRTB_SIZE), false).unwrap();
        assert_eq!(t.gra, ea & REAL_MODE_MASK);
        assert_eq!(t.page_shift, 60);
        assert_eq!(t.pte, None);
    }
    assert_eq!(mem.reads.get(), 0);
}

#[test]
fn walk_table_errors() {
    let mut mem = Mem::new();
    let ea = 0x1000;
    linux_tree(&mut mem, 4095, ea, 5, 3, 0x1_0000);
    // The last PID of a 64 KiB table, and the first beyond it.
    assert!(xlate(&mem, ea, 4095).is_ok());
    assert_eq!(
        xlate(&mem, ea, 4096),
        Err(WalkError::PidOutsideTable { pid: 4096 })
    );
    // The largest PID of the largest table: an all-zero entry.
    assert_eq!(
        translate(&mem, ea, u32::MAX, (PRTB, u64::MAX), true),
        Err(WalkError::DirectorySize { level: 0, bits: 0 })
    );
    assert_eq!(
        translate(&mem, ea, 0, (PRTB | 0x800, PRTB_SIZE), true),
        Err(WalkError::TableMisaligned { base: PRTB | 0x800 })
    );
    // A table at the top of the address space, where the entry's
    // address would wrap around.
    assert_eq!(
        translate(&mem, ea, 1 << 28, (!0xfff, u64::MAX), true),
        Err(WalkError::PidOutsideTable { pid: 1 << 28 })
    );
    mem.limit = PRTB;
    assert_eq!(
        xlate(&mem, ea, 4095),
        Err(WalkError::Unreadable {
            gra: PRTB + 16 * 4095
        })
    );
}

#[test]
fn walk_tree_errors() {
    let ea = 0x0000_0001_2345_6789;
    let base = || {
        let mut mem = Mem::new();
        let bases = linux_tree(&mut mem, 1, ea, 5, 3, 0x4567_0000);
        (mem, bases)
    };
    let (_, bases) = base();
    let base = || base().0;
    assert!(xlate(&base(), ea, 1).is_ok());
    // EA bits 2-11 must be 0 for a 52-bit tree.
    assert_eq!(
        xlate(&base(), ea | (1 << 52), 1),
        Err(WalkError::OutOfRange { tree_bits: 52 })
    );
    assert_eq!(
        xlate(&base(), ea | (1 << 61), 1),
        Err(WalkError::OutOfRange { tree_bits: 52 })
    );
    // A directory beyond memory.
    let mut mem = base();
    mem.limit = bases[1];
    assert_eq!(
        xlate(&mem, ea, 1),
        Err(WalkError::Unreadable {
            gra: bases[1] + 8 * ((ea >> 30) & 0x1ff)
        })
    );
    // Root too small, misaligned, or a leaf.
    let mut mem = base();
    mem.set(PRTB + 16, prte(52, bases[0], 4));
    assert_eq!(
        xlate(&mem, ea, 1),
        Err(WalkError::DirectorySize { level: 0, bits: 4 })
    );
    mem.set(PRTB + 16, prte(52, bases[0] | 0x100, 13));
    assert_eq!(
        xlate(&mem, ea, 1),
        Err(WalkError::DirectoryMisaligned {
            level: 0,
            base: bases[0] | 0x100
        })
    );
    // A directory so large that it would map less than 4 KiB.
    mem.set(PRTB + 16, prte(42, 0, 31));
    assert_eq!(
        xlate(&mem, ea, 1),
        Err(WalkError::DirectorySize { level: 0, bits: 31 })
    );
    let mut mem = base();
    let root_entry = bases[0] + 8 * ((ea >> 39) & 0x1fff);
    mem.set(root_entry, leaf(0));
    assert_eq!(xlate(&mem, ea, 1), Err(WalkError::LeafAtRoot));
    // A level-1 directory pointing at itself (a loop), with room for
    // more levels than the walk takes: 62-bit tree of 5-bit levels.
    let mut mem = Mem::new();
    mem.set(PRTB, prte(62, 0x20_0000, 5));
    for i in 0..32 {
        mem.set(0x20_0000 + 8 * i, dir(0x20_0000, 5));
    }
    assert_eq!(xlate(&mem, 0, 0), Err(WalkError::TooDeep));
    assert_eq!(mem.reads.get(), 1 + usize::from(MAX_LEVELS));
    // A non-leaf at the last level, whose next level has no bits left.
    let mut mem = base();
    let last = bases[3] + 8 * ((ea >> 16) & 0x1f);
    mem.set(last, dir(0x40_0000, 5));
    assert_eq!(xlate(&mem, ea, 1), Err(WalkError::TooDeep));
    // A level-2 directory of 28 bits, where 30 are left: its pages
    // would be 4 bytes.
    let mut mem = base();
    let l1 = bases[1] + 8 * ((ea >> 30) & 0x1ff);
    mem.set(l1, dir(0x40_0000, 28));
    assert_eq!(
        xlate(&mem, ea, 1),
        Err(WalkError::DirectorySize { level: 2, bits: 28 })
    );
    // A directory base misaligned for its size (9 bits: 4 KiB).
    mem.set(l1, dir(bases[2] | 0x800, 9));
    assert_eq!(
        xlate(&mem, ea, 1),
        Err(WalkError::DirectoryMisaligned {
            level: 2,
            base: bases[2] | 0x800
        })
    );
    assert_eq!(dir(bases[2] | 0x800, 9) & DIR_BASE_MASK, bases[2] | 0x800);
}

#[test]
fn fetch() {
    let mut mem = Mem::new();
    let nia = 0xc000_0000_0000_1004;
    linux_tree(&mut mem, 0, nia & !(3 << 62), 5, 3, 0x5_0000);
    // lwzx 5,3,4 at 0x5_1004 in a little-endian guest: the bytes
    // 2e 20 a3 7c, the second word of the doubleword at 0x5_1000.
    mem.set(0x5_1000, 0x6000_0000_2e20_a37c);
    let le = fetch_instruction(&mem, nia, 3, (PRTB, PRTB_SIZE), true, true).unwrap();
    assert_eq!(le, 0x7ca3202e);
    assert_eq!(decode(le).unwrap().form, Form::X { rb: 4 });
    // Big-endian: the same bytes read the other way round.
    let be = fetch_instruction(&mem, nia, 3, (PRTB, PRTB_SIZE), true, false).unwrap();
    assert_eq!(be, 0x2e20_a37c);
    // The first word, and the low two bits ignored.
    let first = fetch_instruction(&mem, nia - 1, 3, (PRTB, PRTB_SIZE), true, false).unwrap();
    assert_eq!(first, 0x6000_0000);
    // Real mode.
    mem.set(0x1008, 0x7ca3_202e_0000_0000);
    let real = fetch_instruction(&mem, 0x1008, 3, (PRTB, PRTB_SIZE), false, false).unwrap();
    assert_eq!(real, 0x7ca3202e);
    // The next page is mapped, its memory is not.
    let next = nia + 0x1_0000;
    let beyond = mem.limit;
    linux_tree(&mut mem, 0, next & !(3 << 62), 5, 3, beyond);
    assert_eq!(
        fetch_instruction(&mem, next, 3, (PRTB, PRTB_SIZE), true, true),
        Err(WalkError::Unreadable {
            gra: beyond | 0x1000
        })
    );
    let t = xlate(&mem, nia, 3).unwrap();
    let want = PTE_READ | PTE_EXECUTE | PTE_REFERENCED;
    assert_eq!(t.pte.unwrap() & want, want);
}
