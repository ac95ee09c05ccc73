// SPDX-License-Identifier: GPL-2.0

//! The decoder of the loads and stores MMIO emulation handles: the
//! fixed-point (GPR) loads and stores of Power ISA v3.1 Book I, with
//! update, indexed and byte-reversed, and the cache-inhibited ones of
//! Book III, as `arch/powerpc/lib/sstep.c` (`analyse_instr`) and QEMU
//! decode them.
//!
//! ```text
//!   bits   0-5  6-10   11-15  16-31
//!   D:     PO   RT/RS  RA     D                 EA = (RA|0) + EXTS(D)
//!   DS:    PO   RT/RS  RA     DS (16-29) XO (30-31)
//!                                               EA = (RA|0) + EXTS(DS || 0b00)
//!   X:     PO   RT/RS  RA     RB (16-20) XO (21-30) / (31)
//!                                               EA = (RA|0) + (RB)
//! ```
//!
//! Bits are numbered as the ISA does, 0 the most significant of the word.
//! Everything else, floating point, vector, atomic, string and multiple,
//! quadword and prefixed accesses included, is a [`DecodeError`].

/// Which way the data goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Storage to the register RT.
    Load,
    /// The register RS to storage.
    Store,
}

/// How the instruction forms its effective address; the base is always
/// `(RA|0)`: 0 where [`MemOp::ra`] is 0, the register RA otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// D-form: the base plus the sign-extended 16-bit D field.
    D {
        /// EXTS(D), in -32768..=32767.
        d: i64,
    },
    /// DS-form: the base plus the sign-extended DS field with two zero
    /// bits appended.
    Ds {
        /// EXTS(DS || 0b00): a multiple of 4 in -32768..=32764.
        d: i64,
    },
    /// X-form: the base plus the register RB.
    X {
        /// RB, 0 to 31 (register 0 is the register here, not 0).
        rb: u8,
    },
}

/// One decoded load or store.
///
/// # Invariants
///
/// A `MemOp` from [`decode`] satisfies these. (The fields are public, so
/// one built otherwise need not; the functions here take any `MemOp`
/// without panicking.)
///
/// - `size` is 1, 2, 4 or 8; `rs_rt` and `ra` are below 32.
/// - `sign_extend` only for loads of 2 or 4 bytes (the algebraic `lha*`
///   and `lwa*`).
/// - `byte_reverse` only with [`Form::X`], `size` at least 2, and neither
///   `update` nor `sign_extend`.
/// - `update` only where `ra` is not 0 and, for a load, not `rs_rt`: the
///   ISA's invalid forms are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemOp {
    /// Load or store.
    pub kind: Kind,
    /// Bytes accessed: 1, 2, 4 or 8.
    pub size: u8,
    /// A load sign-extends the value from `size` bytes to 64 bits.
    pub sign_extend: bool,
    /// The access is in the opposite byte order to the guest's
    /// (`lhbrx`, `stwbrx`, ...).
    pub byte_reverse: bool,
    /// The GPR the data goes to (RT, load) or comes from (RS, store).
    pub rs_rt: u8,
    /// RA: the base register of the effective address; 0 means no base.
    pub ra: u8,
    /// After the access, RA is set to the effective address (the `u` forms).
    pub update: bool,
    /// How the effective address is formed.
    pub form: Form,
}

/// Why a word is not a load or store [`decode`] handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Not an instruction that accesses storage, or no instruction at all.
    NotLoadStore,
    /// A storage access, of a kind not emulated here.
    Unsupported(Unsupported),
    /// A load or store in one of the ISA's invalid forms.
    InvalidForm(InvalidForm),
}

/// The storage accesses [`decode`] recognises and refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsupported {
    /// A prefix (primary opcode 1): `pld`, `plwz`, `pstd`, ...
    Prefixed,
    /// Floating-point loads and stores (`lfd`, `stfsx`, `lfdp`, ...).
    FloatingPoint,
    /// Vector and VSX loads and stores (`lvx`, `lxvd2x`, `lxv`, `lxvp`, ...).
    Vector,
    /// Load and reserve, store conditional, and the atomic memory
    /// operations (`lwarx`, `stdcx.`, `lwat`, ...).
    Atomic,
    /// Load and store multiple and string (`lmw`, `stswi`, ...).
    MultipleOrString,
    /// Quadword loads and stores (`lq`, `stq`).
    Quadword,
    /// Data Cache Block Zero, a store of a whole cache block.
    CacheBlockZero,
}

/// The invalid forms of a load or store that [`decode`] refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidForm {
    /// An update form with RA = 0.
    UpdateRaZero,
    /// A load with update whose RA is its RT.
    UpdateRaIsRt,
    /// Bit 31 of an X-form load or store, which is reserved, is set (as
    /// QEMU does, such a word is refused rather than guessed at).
    ReservedBit,
}

/// The access an opcode makes, before its registers are read.
#[derive(Clone, Copy)]
struct Shape {
    kind: Kind,
    size: u8,
    sign_extend: bool,
    byte_reverse: bool,
    update: bool,
}

impl Shape {
    const fn load(size: u8) -> Self {
        Shape {
            kind: Kind::Load,
            size,
            sign_extend: false,
            byte_reverse: false,
            update: false,
        }
    }

    const fn store(size: u8) -> Self {
        Shape {
            kind: Kind::Store,
            ..Shape::load(size)
        }
    }

    const fn algebraic(self) -> Self {
        Shape {
            sign_extend: true,
            ..self
        }
    }

    const fn reversed(self) -> Self {
        Shape {
            byte_reverse: true,
            ..self
        }
    }

    const fn with_update(self) -> Self {
        Shape {
            update: true,
            ..self
        }
    }
}

/// The D-form loads and stores, primary opcodes 32 to 45.
const fn d_form(po: u32) -> Shape {
    match po {
        32 => Shape::load(4),                           // lwz
        33 => Shape::load(4).with_update(),             // lwzu
        34 => Shape::load(1),                           // lbz
        35 => Shape::load(1).with_update(),             // lbzu
        36 => Shape::store(4),                          // stw
        37 => Shape::store(4).with_update(),            // stwu
        38 => Shape::store(1),                          // stb
        39 => Shape::store(1).with_update(),            // stbu
        40 => Shape::load(2),                           // lhz
        41 => Shape::load(2).with_update(),             // lhzu
        42 => Shape::load(2).algebraic(),               // lha
        43 => Shape::load(2).algebraic().with_update(), // lhau
        44 => Shape::store(2),                          // sth
        _ => Shape::store(2).with_update(),             // 45: sthu
    }
}

/// The X-form accesses of primary opcode 31, by extended opcode (bits
/// 21-30).
const fn x_form(xo: u32) -> Result<Shape, DecodeError> {
    use DecodeError::Unsupported as U;
    Ok(match xo {
        87 => Shape::load(1),                                // lbzx
        119 => Shape::load(1).with_update(),                 // lbzux
        279 => Shape::load(2),                               // lhzx
        311 => Shape::load(2).with_update(),                 // lhzux
        343 => Shape::load(2).algebraic(),                   // lhax
        375 => Shape::load(2).algebraic().with_update(),     // lhaux
        23 => Shape::load(4),                                // lwzx
        55 => Shape::load(4).with_update(),                  // lwzux
        341 => Shape::load(4).algebraic(),                   // lwax
        373 => Shape::load(4).algebraic().with_update(),     // lwaux
        21 => Shape::load(8),                                // ldx
        53 => Shape::load(8).with_update(),                  // ldux
        215 => Shape::store(1),                              // stbx
        247 => Shape::store(1).with_update(),                // stbux
        407 => Shape::store(2),                              // sthx
        439 => Shape::store(2).with_update(),                // sthux
        151 => Shape::store(4),                              // stwx
        183 => Shape::store(4).with_update(),                // stwux
        149 => Shape::store(8),                              // stdx
        181 => Shape::store(8).with_update(),                // stdux
        790 => Shape::load(2).reversed(),                    // lhbrx
        534 => Shape::load(4).reversed(),                    // lwbrx
        532 => Shape::load(8).reversed(),                    // ldbrx
        918 => Shape::store(2).reversed(),                   // sthbrx
        662 => Shape::store(4).reversed(),                   // stwbrx
        660 => Shape::store(8).reversed(),                   // stdbrx
        853 => Shape::load(1),                               // lbzcix
        821 => Shape::load(2),                               // lhzcix
        789 => Shape::load(4),                               // lwzcix
        885 => Shape::load(8),                               // ldcix
        981 => Shape::store(1),                              // stbcix
        949 => Shape::store(2),                              // sthcix
        917 => Shape::store(4),                              // stwcix
        1013 => Shape::store(8),                             // stdcix
        // lfsx lfsux lfdx lfdux stfsx stfsux stfdx stfdux lfiwax lfiwzx
        // stfiwx
        535 | 567 | 599 | 631 | 663 | 695 | 727 | 759 | 855 | 887 | 983 => {
            return Err(U(Unsupported::FloatingPoint))
        }
        // lvebx lvehx lvewx lvx lvxl stvebx stvehx stvewx stvx stvxl
        7 | 39 | 71 | 103 | 359 | 135 | 167 | 199 | 231 | 487
        // lxsiwzx lxsiwax stxsiwx lxsspx lxsdx stxsspx stxsdx lxsibzx
        // lxsihzx stxsibx stxsihx
        | 12 | 76 | 140 | 524 | 588 | 652 | 716 | 781 | 813 | 909 | 941
        // lxvx lxvl lxvll lxvdsx lxvwsx stxvx stxvl stxvll lxvpx stxvpx
        | 268 | 269 | 301 | 332 | 364 | 396 | 397 | 429 | 333 | 461
        // lxvw4x lxvh8x lxvd2x lxvb16x stxvw4x stxvh8x stxvd2x stxvb16x
        | 780 | 812 | 844 | 876 | 908 | 940 | 972 | 1004
        // lxvrbx lxvrhx lxvrwx lxvrdx stxvrbx stxvrhx stxvrwx stxvrdx
        | 13 | 45 | 77 | 109 | 141 | 173 | 205 | 237 => return Err(U(Unsupported::Vector)),
        // lbarx lharx lwarx ldarx lqarx stbcx. sthcx. stwcx. stdcx.
        // stqcx. lwat ldat stwat stdat
        52 | 116 | 20 | 84 | 276 | 694 | 726 | 150 | 214 | 182 | 582 | 614 | 710 | 742 => {
            return Err(U(Unsupported::Atomic))
        }
        // lswx lswi stswx stswi
        533 | 597 | 661 | 725 => return Err(U(Unsupported::MultipleOrString)),
        1014 => return Err(U(Unsupported::CacheBlockZero)), // dcbz
        _ => return Err(DecodeError::NotLoadStore),
    })
}

/// Decodes `insn`, the instruction word as the processor reads it (in
/// the order of MSR\[LE\]; see [`super::fetch_instruction`]).
///
/// Any word is taken: what is not one of the loads and stores of the
/// module documentation is an error, never a panic.
pub fn decode(insn: u32) -> Result<MemOp, DecodeError> {
    use DecodeError::Unsupported as U;
    let po = insn >> 26;
    let rs_rt = ((insn >> 21) & 0x1f) as u8;
    let ra = ((insn >> 16) & 0x1f) as u8;
    // The low 16 bits, sign-extended: D, or DS with its XO.
    let d16 = i64::from((insn & 0xffff) as u16 as i16);
    let (shape, form) = match po {
        32..=45 => (d_form(po), Form::D { d: d16 }),
        58 | 62 => {
            let form = Form::Ds { d: d16 & !3 };
            let shape = match (po, insn & 3) {
                (58, 0) => Shape::load(8),                       // ld
                (58, 1) => Shape::load(8).with_update(),         // ldu
                (58, 2) => Shape::load(4).algebraic(),           // lwa
                (62, 0) => Shape::store(8),                      // std
                (62, 1) => Shape::store(8).with_update(),        // stdu
                (62, 2) => return Err(U(Unsupported::Quadword)), // stq
                _ => return Err(DecodeError::NotLoadStore),
            };
            (shape, form)
        }
        31 => {
            let shape = x_form((insn >> 1) & 0x3ff)?;
            if insn & 1 != 0 {
                return Err(DecodeError::InvalidForm(InvalidForm::ReservedBit));
            }
            let rb = ((insn >> 11) & 0x1f) as u8;
            (shape, Form::X { rb })
        }
        1 => return Err(U(Unsupported::Prefixed)),
        46 | 47 => return Err(U(Unsupported::MultipleOrString)), // lmw stmw
        // lfs lfsu lfd lfdu stfs stfsu stfd stfdu
        48..=55 => return Err(U(Unsupported::FloatingPoint)),
        56 => return Err(U(Unsupported::Quadword)), // lq
        // 57: lfdp (XO 0), lxsd (2), lxssp (3); 61: stfdp (0), stxsd (2),
        // stxssp (3), lxv and stxv (DQ-form, XO 0b001 and 0b101 in bits
        // 29-31).
        57 | 61 if insn & 3 == 0 => return Err(U(Unsupported::FloatingPoint)),
        57 if insn & 3 == 1 => return Err(DecodeError::NotLoadStore),
        57 | 61 => return Err(U(Unsupported::Vector)),
        6 => return Err(U(Unsupported::Vector)), // lxvp stxvp
        _ => return Err(DecodeError::NotLoadStore),
    };
    if shape.update {
        if ra == 0 {
            return Err(DecodeError::InvalidForm(InvalidForm::UpdateRaZero));
        }
        if shape.kind == Kind::Load && ra == rs_rt {
            return Err(DecodeError::InvalidForm(InvalidForm::UpdateRaIsRt));
        }
    }
    Ok(MemOp {
        kind: shape.kind,
        size: shape.size,
        sign_extend: shape.sign_extend,
        byte_reverse: shape.byte_reverse,
        rs_rt,
        ra,
        update: shape.update,
        form,
    })
}

impl MemOp {
    /// The effective address of the access, from the values of the
    /// registers RA and RB (`rb_value` is ignored by the D and DS forms,
    /// `ra_value` where [`MemOp::ra`] is 0).
    ///
    /// In 32-bit mode (`msr_sf` false, MSR\[SF\] = 0) the high 32 bits are
    /// 0. This is also the value an update form writes to RA, as Linux's
    /// `sstep.c` and QEMU write it.
    #[cfg_attr(
        CONFIG_RUST,
        expect(
            dead_code,
            reason = "the kernel takes the EA from HDAR; the host tests check it against this"
        )
    )]
    pub fn effective_address(&self, ra_value: u64, rb_value: u64, msr_sf: bool) -> u64 {
        let base = if self.ra == 0 { 0 } else { ra_value };
        let ea = match self.form {
            Form::D { d } | Form::Ds { d } => base.wrapping_add_signed(d),
            Form::X { .. } => base.wrapping_add(rb_value),
        };
        if msr_sf {
            ea
        } else {
            ea & 0xffff_ffff
        }
    }
}

/// Whether the bytes of `op`'s access are in big-endian order: the
/// guest's order, unless the instruction reverses it.
fn big_endian(op: &MemOp, guest_big_endian: bool) -> bool {
    guest_big_endian != op.byte_reverse
}

/// The value a load `op` puts in RT, from `data`, the bytes at the
/// effective address as memory holds them (the first `op.size` of them;
/// the others are ignored).
///
/// `guest_big_endian` is the L2's data byte order (MSR\[LE\] = 0); a
/// byte-reversed load uses the other one. The value is then sign-extended
/// where `op` says so. For a store `op`, this is the value a load of the
/// same shape would read.
pub fn load_value(op: &MemOp, data: &[u8; 8], guest_big_endian: bool) -> u64 {
    let n = usize::from(op.size).min(8);
    let big = big_endian(op, guest_big_endian);
    let mut v = 0u64;
    for (i, &b) in data.iter().take(n).enumerate() {
        if big {
            v = (v << 8) | u64::from(b);
        } else {
            v |= u64::from(b) << (8 * i);
        }
    }
    let bits = 8 * n;
    if op.sign_extend && bits > 0 && bits < 64 {
        let shift = 64 - bits;
        v = (((v << shift) as i64) >> shift) as u64;
    }
    v
}

/// The bytes a store `op` writes from RS's `value`, as memory will hold
/// them: the first `op.size` bytes of the result, in the guest's byte
/// order (`guest_big_endian`, MSR\[LE\] = 0) or, for a byte-reversed
/// store, the other one. The other bytes are 0.
pub fn store_bytes(op: &MemOp, value: u64, guest_big_endian: bool) -> [u8; 8] {
    let n = usize::from(op.size).min(8);
    let big = big_endian(op, guest_big_endian);
    let mut out = [0u8; 8];
    for (i, b) in out.iter_mut().take(n).enumerate() {
        let byte = if big { n - 1 - i } else { i };
        *b = (value >> (8 * byte)) as u8;
    }
    out
}
