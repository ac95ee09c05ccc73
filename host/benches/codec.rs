// SPDX-License-Identifier: GPL-2.0

//! Encode and parse throughput of the codec on a buffer holding every
//! thread-wide ID (what a full run-input buffer holds). `cargo bench`.

use rpn_gsb::gsb::ids::ElemType;
use rpn_gsb::gsb::ids::Scope;
use rpn_gsb::gsb::{Id, IdSet, Parsed, Trailing, Value, Writer};
use std::hint::black_box;
use std::time::Instant;

fn value(id: Id) -> Value {
    let x = u64::from(id.raw()).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    match id.ty() {
        ElemType::Be32 => Value::Be32(x as u32),
        ElemType::Be64 => Value::Be64(x & id.settable()),
        t => Value::zero(t),
    }
}

fn main() {
    let ids = IdSet::of_scope(Scope::Thread);
    let elems: Vec<(Id, Value)> = ids.iter().map(|id| (id, value(id))).collect();
    let mut storage = vec![0u8; ids.buffer_size()];
    const ROUNDS: u32 = 200_000;

    let t = Instant::now();
    for _ in 0..ROUNDS {
        let mut w = Writer::new(black_box(&mut storage), Scope::Thread).unwrap();
        for (id, v) in &elems {
            w.put(*id, *v).unwrap();
        }
        black_box(w.len());
    }
    let enc = t.elapsed();

    let t = Instant::now();
    let mut sum = 0u64;
    for _ in 0..ROUNDS {
        let p = Parsed::parse(black_box(&storage), Trailing::Reject).unwrap();
        sum = sum.wrapping_add(p.get_be64(Id::NIA).unwrap_or(0));
    }
    let dec = t.elapsed();
    black_box(sum);

    let per = |d: std::time::Duration| d.as_nanos() as f64 / f64::from(ROUNDS);
    let mbs =
        |d: std::time::Duration| storage.len() as f64 * f64::from(ROUNDS) / d.as_secs_f64() / 1e6;
    println!(
        "bench: {} elements, {} bytes per buffer, {} rounds",
        elems.len(),
        storage.len(),
        ROUNDS
    );
    println!(
        "bench: encode {:.0} ns/buffer ({:.1} ns/element, {:.0} MB/s)",
        per(enc),
        per(enc) / elems.len() as f64,
        mbs(enc)
    );
    println!(
        "bench: parse  {:.0} ns/buffer ({:.1} ns/element, {:.0} MB/s)",
        per(dec),
        per(dec) / elems.len() as f64,
        mbs(dec)
    );
}
