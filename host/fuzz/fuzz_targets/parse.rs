// SPDX-License-Identifier: GPL-2.0

//! Fuzz the parser with arbitrary bytes, as the L0 could send them. It
//! must never panic or read out of bounds, and what it accepts must be
//! self-consistent and, where a writer can build it, byte-exact again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rpn_gsb::gsb::ids::{Class, Scope};
use rpn_gsb::gsb::{IdSet, Parsed, RunOutput, Trailing, Writer};

fuzz_target!(|data: &[u8]| {
    let _ = Parsed::parse(data, Trailing::Reject);
    // The run-output reader takes exactly what the parser takes, less
    // what is not the vCPU's thread-wide, non-meta state.
    let lean = RunOutput::parse(data, &IdSet::new());
    let Ok(p) = Parsed::parse(data, Trailing::Allow) else {
        assert!(lean.is_err());
        return;
    };
    let vcpus_own = p
        .iter()
        .all(|(id, _)| id.scope() == Scope::Thread && id.class() != Class::Meta);
    match lean {
        Ok(r) => {
            assert!(vcpus_own);
            assert!(r.iter().eq(p.iter()));
        }
        Err(_) => assert!(!vcpus_own),
    }
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
