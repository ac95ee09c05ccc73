// SPDX-License-Identifier: GPL-2.0

//! Fuzz the parser with arbitrary bytes, as the L0 could send them. It
//! must never panic or read out of bounds, and what it accepts must be
//! self-consistent and, where a writer can build it, byte-exact again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rpn_gsb::gsb::{Parsed, Trailing, Writer};

fuzz_target!(|data: &[u8]| {
    let _ = Parsed::parse(data, Trailing::Reject);
    let Ok(p) = Parsed::parse(data, Trailing::Allow) else {
        return;
    };
    let elems: Vec<_> = p.iter().collect();
    assert_eq!(elems.len() as u32, p.count());
    assert!(p.len() <= data.len());
    for (id, v) in &elems {
        assert_eq!(p.get(*id), Some(*v));
        assert_eq!(v.ty(), id.ty());
    }
    assert_eq!(p.ids().len(), elems.len());
    // Re-encode: one scope and only settable bits, and the writer must
    // reproduce the parsed bytes exactly.
    let Some(scope) = elems.first().map(|(id, _)| id.scope()) else {
        return;
    };
    let mut out = vec![0u8; p.len()];
    let mut w = Writer::new(&mut out, scope).expect("header fits");
    for (id, v) in &elems {
        if w.put(*id, *v).is_err() {
            return;
        }
    }
    assert_eq!(w.as_bytes(), &data[..p.len()]);
});
