// SPDX-License-Identifier: GPL-2.0

//! Host tests of the Guest State Buffer codec.

use rpn_gsb::gsb::ids::Scope;
use rpn_gsb::gsb::ids::{Access, Class, ElemType, ID_COUNT, LPCR_SETTABLE, MSR_SETTABLE, TABLE};
use rpn_gsb::gsb::message::HostWideCounters;
use rpn_gsb::gsb::value::{BufferInfo, PartitionTable, ProcessTable, Vec128};
use rpn_gsb::gsb::{GsbError, Id, IdSet, Message, Parsed, RunOutput, Trailing, Value, Writer};

/// The PAPR's ranges, as the issue lists them: (first, last, class, type
/// of every ID in the range where it has one).
const RANGES: [(u16, u16, Class); 7] = [
    (0x0001, 0x0006, Class::GuestWide),
    (0x0800, 0x0804, Class::HostWide),
    (0x0C00, 0x0C02, Class::Meta),
    (0x1000, 0x1053, Class::DwordReg),
    (0x2000, 0x200E, Class::WordReg),
    (0x3000, 0x303F, Class::Vector),
    (0xF000, 0xF003, Class::Intr),
];

#[test]
fn table_matches_the_ranges() {
    let mut n = 0;
    for (first, last, class) in RANGES {
        for raw in first..=last {
            let id = Id::new(raw).unwrap_or_else(|| panic!("{raw:#06x} missing"));
            assert_eq!(id.class(), class, "{raw:#06x}");
            assert_eq!(TABLE[id.index()].id, raw);
            let want = match class {
                Class::DwordReg => Some(ElemType::Be64),
                Class::WordReg => Some(ElemType::Be32),
                Class::Vector => Some(ElemType::Vec128),
                Class::HostWide => Some(ElemType::Be64),
                _ => None,
            };
            if let Some(t) = want {
                assert_eq!(id.ty(), t, "{}", id.name());
            }
            n += 1;
        }
    }
    assert_eq!(n, ID_COUNT);
    // Nothing outside the ranges.
    let known = (0..=u16::MAX).filter(|r| Id::new(*r).is_some()).count();
    assert_eq!(known, ID_COUNT);
    // In ID order, so the dense index is the table position.
    assert!(TABLE.windows(2).all(|w| w[0].id < w[1].id));
    for (i, row) in TABLE.iter().enumerate() {
        assert_eq!(Id::new(row.id).unwrap().index(), i);
    }
}

#[test]
fn table_spot_checks() {
    let check = |id: Id, name: &str, ty: ElemType, size: usize, scope: Scope, ro: bool| {
        assert_eq!(id.name(), name);
        assert_eq!(id.ty(), ty, "{name}");
        assert_eq!(id.size(), size, "{name}");
        assert_eq!(id.scope(), scope, "{name}");
        assert_eq!(id.is_read_only(), ro, "{name}");
    };
    use ElemType::*;
    check(
        Id::HOST_STATE_SIZE,
        "HOST_STATE_SIZE",
        Be64,
        8,
        Scope::Guest,
        true,
    );
    check(
        Id::RUN_OUTPUT_MIN_SIZE,
        "RUN_OUTPUT_MIN_SIZE",
        Be64,
        8,
        Scope::Guest,
        true,
    );
    check(Id::LOGICAL_PVR, "LOGICAL_PVR", Be32, 4, Scope::Guest, false);
    check(Id::TB_OFFSET, "TB_OFFSET", Be64, 8, Scope::Guest, false);
    check(
        Id::PARTITION_TABLE,
        "PARTITION_TABLE",
        PartitionTable,
        24,
        Scope::Guest,
        false,
    );
    check(
        Id::PROCESS_TABLE,
        "PROCESS_TABLE",
        ProcessTable,
        16,
        Scope::Guest,
        false,
    );
    check(
        Id::L0_GUEST_PGTABLE_RECLAIM,
        "L0_GUEST_PGTABLE_RECLAIM",
        Be64,
        8,
        Scope::Host,
        true,
    );
    check(
        Id::RUN_INPUT,
        "RUN_INPUT",
        BufferInfo,
        16,
        Scope::Thread,
        false,
    );
    check(
        Id::RUN_OUTPUT,
        "RUN_OUTPUT",
        BufferInfo,
        16,
        Scope::Thread,
        false,
    );
    check(Id::VPA, "VPA", Be64, 8, Scope::Thread, false);
    check(Id::gpr(31).unwrap(), "GPR31", Be64, 8, Scope::Thread, false);
    check(
        Id::HDEC_EXPIRY_TB,
        "HDEC_EXPIRY_TB",
        Be64,
        8,
        Scope::Thread,
        false,
    );
    check(Id::DPDES, "DPDES", Be64, 8, Scope::Thread, false);
    check(Id::CR, "CR", Be32, 4, Scope::Thread, false);
    check(Id::PSPB, "PSPB", Be32, 4, Scope::Thread, false);
    check(
        Id::vsr(63).unwrap(),
        "VSR63",
        Vec128,
        16,
        Scope::Thread,
        false,
    );
    check(Id::HDAR, "HDAR", Be64, 8, Scope::Thread, true);
    check(Id::HDSISR, "HDSISR", Be32, 4, Scope::Thread, true);
    check(Id::HEIR, "HEIR", Be32, 4, Scope::Thread, true);
    check(Id::ASDR, "ASDR", Be64, 8, Scope::Thread, true);
    assert_eq!(Id::PMC1.raw(), 0x2007);
    assert_eq!(Id::PMC6.raw(), 0x200C);
    assert_eq!(Id::MMCRA.raw(), 0x103F);
    assert_eq!(Id::gpr(32), None);
    assert_eq!(Id::vsr(64), None);
    assert_eq!(Id::new(0x0000), None, "BLANK is no element");
    assert_eq!(Id::LPCR.settable(), LPCR_SETTABLE);
    assert_eq!(Id::MSR.settable(), MSR_SETTABLE);
    assert_eq!(Id::NIA.settable(), u64::MAX);
    assert_eq!(Scope::Guest.hcall_flags(), 0x8000_0000_0000_0000);
    assert_eq!(Scope::Host.hcall_flags(), 0x4000_0000_0000_0000);
    assert_eq!(Scope::Thread.hcall_flags(), 0);
    let ro = TABLE
        .iter()
        .filter(|r| r.access == Access::ReadOnly)
        .count();
    assert_eq!(ro, 2 + 5 + 4);
}

/// A distinct, settable value for every ID of `id`'s type.
fn distinct(id: Id) -> Value {
    let x = 0x0101_0101_0101_0101u64.wrapping_mul(u64::from(id.raw())) ^ 0xA5;
    match id.ty() {
        ElemType::Be32 => Value::Be32(x as u32 ^ u32::from(id.raw()) << 16),
        ElemType::Be64 => Value::Be64(x & id.settable()),
        ElemType::Vec128 => Value::Vec128(Vec128 { dw0: x, dw1: !x }),
        ElemType::PartitionTable => Value::PartitionTable(PartitionTable {
            address: x,
            ea_bits: 52,
            gpd_size: 1 << 16,
        }),
        ElemType::ProcessTable => Value::ProcessTable(ProcessTable {
            address: x,
            gpd_size: 1 << 12,
        }),
        ElemType::BufferInfo => Value::BufferInfo(BufferInfo {
            address: x,
            size: u64::from(id.raw()),
        }),
    }
}

#[test]
fn every_thread_wide_id_round_trips() {
    let ids = IdSet::of_scope(Scope::Thread);
    assert_eq!(ids.len(), 3 + 84 + 15 + 64 + 4);
    let mut storage = vec![0u8; ids.buffer_size()];
    let mut w = Writer::new(&mut storage, Scope::Thread).unwrap();
    for id in ids.iter() {
        w.put(id, distinct(id)).unwrap();
    }
    assert_eq!(
        w.len(),
        ids.buffer_size(),
        "size computed in advance is exact"
    );
    let bytes = w.as_bytes().to_vec();
    let p = Parsed::parse(&bytes, Trailing::Reject).unwrap();
    assert_eq!(p.count() as usize, ids.len());
    assert_eq!(p.ids(), ids);
    for id in ids.iter() {
        assert_eq!(p.get(id), Some(distinct(id)), "{}", id.name());
    }
    // Buffer order is ID order here, as written.
    let order: Vec<u16> = p.iter().map(|(id, _)| id.raw()).collect();
    let want: Vec<u16> = ids.iter().map(|id| id.raw()).collect();
    assert_eq!(order, want);
}

#[test]
fn layout_is_big_endian_and_explicit() {
    let mut s = [0u8; 64];
    let mut w = Writer::new(&mut s, Scope::Thread).unwrap();
    w.put_be64(Id::gpr(0).unwrap(), 0xdeadbeef).unwrap();
    w.put_be32(Id::CR, 0x1234_5678).unwrap();
    w.put_vec128(Id::vsr(0).unwrap(), Vec128 { dw0: 1, dw1: 2 })
        .unwrap();
    let b = w.as_bytes();
    assert_eq!(&b[..4], &[0, 0, 0, 3]);
    assert_eq!(&b[4..8], &[0x10, 0x00, 0x00, 0x08]);
    assert_eq!(&b[8..16], &[0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(&b[16..20], &[0x20, 0x00, 0x00, 0x04]);
    assert_eq!(&b[20..24], &[0x12, 0x34, 0x56, 0x78]);
    assert_eq!(&b[24..28], &[0x30, 0x00, 0x00, 0x10]);
    assert_eq!(&b[28..36], &[0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(&b[36..44], &[0, 0, 0, 0, 0, 0, 0, 2]);
    assert_eq!(b.len(), 44);
}

#[test]
fn writer_refuses_bad_puts_and_writes_nothing() {
    let mut s = [0u8; 4 + 12];
    let mut w = Writer::new(&mut s, Scope::Thread).unwrap();
    assert_eq!(
        w.put_be32(Id::NIA, 1),
        Err(GsbError::WrongType {
            id: 0x1021,
            expected: ElemType::Be64,
            got: ElemType::Be32
        })
    );
    assert_eq!(
        w.put_be64(Id::TB_OFFSET, 1),
        Err(GsbError::WrongScope {
            id: 0x0004,
            expected: Scope::Thread,
            got: Scope::Guest
        })
    );
    assert_eq!(
        w.put_be64(Id::MSR, 1 << 60),
        Err(GsbError::ReservedBits {
            id: 0x1022,
            bits: 1 << 60
        })
    );
    assert_eq!(
        w.put_be64(Id::LPCR, 1),
        Err(GsbError::ReservedBits {
            id: 0x102C,
            bits: 1
        })
    );
    assert!(w.is_empty());
    assert_eq!(w.as_bytes(), &[0, 0, 0, 0]);
    w.put_be64(Id::NIA, 0x100).unwrap();
    assert_eq!(
        w.put_be64(Id::LR, 0x100),
        Err(GsbError::NoSpace {
            needed: 28,
            capacity: 16
        })
    );
    assert_eq!(w.count(), 1);
    w.reset();
    assert_eq!(w.count(), 0);
    assert_eq!(w.len(), 4);
    let mut tiny = [0u8; 3];
    assert!(matches!(
        Writer::new(&mut tiny, Scope::Guest),
        Err(GsbError::NoSpace { .. })
    ));
}

fn buf(count: u32, elems: &[(u16, &[u8])]) -> Vec<u8> {
    let mut b = count.to_be_bytes().to_vec();
    for (id, data) in elems {
        b.extend_from_slice(&id.to_be_bytes());
        b.extend_from_slice(&(data.len() as u16).to_be_bytes());
        b.extend_from_slice(data);
    }
    b
}

#[test]
fn parser_errors_name_index_and_id() {
    let p = |b: &[u8]| Parsed::parse(b, Trailing::Reject).map(|p| p.count());
    assert_eq!(p(&[0, 0]), Err(GsbError::ShortHeader { len: 2 }));
    assert_eq!(p(&buf(0, &[])), Ok(0));
    // Count promises an element that is not there.
    assert_eq!(
        p(&buf(1, &[])),
        Err(GsbError::Truncated { index: 0, id: None })
    );
    // Element data cut short.
    let mut b = buf(1, &[(0x1000, &[0; 8])]);
    b.truncate(b.len() - 1);
    assert_eq!(
        p(&b),
        Err(GsbError::Truncated {
            index: 0,
            id: Some(0x1000)
        })
    );
    // Element header cut short.
    let mut b = buf(2, &[(0x1000, &[0; 8])]);
    b.extend_from_slice(&[0x10, 0x01]);
    assert_eq!(p(&b), Err(GsbError::Truncated { index: 1, id: None }));
    // Count smaller than the elements.
    let b = buf(1, &[(0x1000, &[0; 8]), (0x1001, &[0; 8])]);
    assert_eq!(
        p(&b),
        Err(GsbError::TrailingBytes {
            count: 1,
            extra: 12
        })
    );
    assert_eq!(Parsed::parse(&b, Trailing::Allow).map(|p| p.count()), Ok(1));
    // Wrong length for the ID.
    let b = buf(1, &[(0x2000, &[0; 8])]);
    assert_eq!(
        p(&b),
        Err(GsbError::BadLength {
            index: 0,
            id: 0x2000,
            len: 8,
            expected: 4
        })
    );
    // Unknown IDs, including an unknown ID with length 0 (the C parser
    // accepts that) and BLANK.
    let b = buf(2, &[(0x1000, &[0; 8]), (0x0C03, &[])]);
    assert_eq!(
        p(&b),
        Err(GsbError::UnknownId {
            index: 1,
            id: 0x0C03
        })
    );
    assert_eq!(
        p(&buf(1, &[(0x0000, &[])])),
        Err(GsbError::UnknownId { index: 0, id: 0 })
    );
    // Duplicates.
    let b = buf(
        3,
        &[(0x1000, &[0; 8]), (0x2000, &[0; 4]), (0x1000, &[1; 8])],
    );
    assert_eq!(
        p(&b),
        Err(GsbError::Duplicate {
            index: 2,
            id: 0x1000
        })
    );
}

#[test]
fn parser_survives_every_truncation_and_corruption() {
    let ids = IdSet::of_scope(Scope::Thread);
    let mut storage = vec![0u8; ids.buffer_size()];
    let mut w = Writer::new(&mut storage, Scope::Thread).unwrap();
    for id in ids.iter() {
        w.put_request(id).unwrap();
    }
    let good = w.as_bytes().to_vec();
    for n in 0..good.len() {
        assert!(
            Parsed::parse(&good[..n], Trailing::Reject).is_err(),
            "prefix {n}"
        );
        assert!(
            Parsed::parse(&good[..n], Trailing::Allow).is_err(),
            "prefix {n}"
        );
    }
    for i in 0..good.len() {
        for bit in 0..8 {
            let mut b = good.clone();
            b[i] ^= 1 << bit;
            // Must not panic; whatever it returns must be self-consistent.
            if let Ok(p) = Parsed::parse(&b, Trailing::Allow) {
                assert_eq!(p.iter().count() as u32, p.count());
            }
        }
    }
}

#[test]
fn id_set() {
    let mut s = IdSet::new();
    let mut n = 0;
    for (first, last, _) in RANGES {
        for raw in first..=last {
            let id = Id::new(raw).unwrap();
            s.set(id);
            assert!(s.test(id));
            s.clear(id);
            assert!(!s.test(id));
            s.set(id);
            n += 1;
        }
    }
    assert_eq!(s.len(), n);
    assert_eq!(s, IdSet::all());
    let order: Vec<u16> = s.iter().map(|i| i.raw()).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]));
    s.clear_all();
    assert!(s.is_empty());
    let mut f = IdSet::new();
    f.fill();
    assert_eq!(f.len(), ID_COUNT);
    assert_eq!(IdSet::of_scope(Scope::Guest).len(), 6);
    assert_eq!(IdSet::of_scope(Scope::Host).len(), 5);
}

#[test]
fn host_wide_message_round_trips() {
    let mut m = HostWideCounters::new();
    m.guest_heap = 0xdeadbeef;
    m.guest_heap_max = u64::MAX;
    m.guest_pgtable_size = 0xff;
    m.guest_pgtable_size_max = 0xffffff;
    m.guest_pgtable_reclaim = 0xdeadbeef;
    let mut s = vec![0u8; m.buffer_size()];
    assert_eq!(s.len(), 4 + 5 * 12);
    let mut w = Writer::new(&mut s, Scope::Host).unwrap();
    m.fill(&mut w).unwrap();
    let bytes = w.as_bytes().to_vec();
    let mut back = HostWideCounters::new();
    back.refresh(&Parsed::parse(&bytes, Trailing::Reject).unwrap())
        .unwrap();
    assert_eq!(back, m);
    // Scope is enforced both ways.
    assert!(matches!(
        m.include(Id::NIA),
        Err(GsbError::WrongScope { id: 0x1021, .. })
    ));
    let mut t = vec![0u8; 64];
    let mut tw = Writer::new(&mut t, Scope::Thread).unwrap();
    assert!(matches!(m.fill(&mut tw), Err(GsbError::WrongScope { .. })));
}

/// A run-output buffer is untrusted input: only the vCPU's thread-wide,
/// non-meta state may be in it, and the exit's registers must be.
#[test]
fn run_output_takes_only_the_vcpus_state() {
    let gpr3 = Id::gpr(3).unwrap();
    let eight = 5u64.to_be_bytes();
    let sixteen = [0u8; 16];
    let required = IdSet::of(&[gpr3]);
    // What a conforming L0 writes, with unused space after it.
    let mut ok = buf(1, &[(0x1003, &eight)]);
    ok.resize(256, 0);
    let p = RunOutput::parse(&ok, &required).unwrap();
    assert_eq!(p.iter().collect::<Vec<_>>(), [(gpr3, Value::Be64(5))]);
    assert_eq!(p.len(), 4 + 4 + 8);
    // Foreign scopes and meta elements, each named by index and ID.
    for (raw, data) in [
        (0x0004u16, &eight[..]), // TB_OFFSET: guest-wide
        (0x0800, &eight[..]),    // L0_GUEST_HEAP: host-wide
        (0x0C00, &sixteen[..]),  // RUN_INPUT: meta
        (0x0C01, &sixteen[..]),  // RUN_OUTPUT: meta
        (0x0C02, &eight[..]),    // VPA: meta
    ] {
        let b = buf(2, &[(0x1003, &eight), (raw, data)]);
        assert_eq!(
            RunOutput::parse(&b, &required).err(),
            Some(GsbError::NotRunOutput { index: 1, id: raw }),
            "{raw:#06x}"
        );
    }
    // A cleared buffer (an L0 that wrote nothing) lacks the registers.
    let stale = [0u8; 64];
    assert_eq!(
        RunOutput::parse(&stale, &required).err(),
        Some(GsbError::Missing { id: 0x1003 })
    );
    // ... which an exit that brings none does not need.
    assert!(RunOutput::parse(&stale, &IdSet::new()).unwrap().is_empty());
    // Malformed stays malformed.
    assert!(matches!(
        RunOutput::parse(&buf(3, &[(0x1003, &eight)]), &required),
        Err(GsbError::Truncated { index: 1, .. })
    ));
}

/// The run-output reader refuses malformed buffers exactly as the full
/// parser does (same error, same element), and takes the same elements
/// from a good one.
#[test]
fn run_output_checks_as_the_parser_does() {
    let eight = 7u64.to_be_bytes();
    let cases: Vec<Vec<u8>> = vec![
        vec![0, 0],                                         // short header
        buf(2, &[(0x1003, &eight)]),                        // count past the bytes
        buf(1, &[(0x0007, &eight)]),                        // unknown ID
        buf(1, &[(0x1003, &eight[..4])]),                   // bad length
        buf(2, &[(0x1003, &eight), (0x1003, &eight)]),      // duplicate
        buf(2, &[(0x1003, &eight), (0x2000, &eight[..4])]), // good
        buf(1, &[(0x3000, &[1u8; 16])]),                    // good vector
    ];
    for b in cases {
        let full = Parsed::parse(&b, Trailing::Allow);
        let lean = RunOutput::parse(&b, &IdSet::new());
        match (&full, &lean) {
            (Ok(p), Ok(r)) => {
                assert_eq!(p.iter().collect::<Vec<_>>(), r.iter().collect::<Vec<_>>());
                assert_eq!((p.count(), p.len(), p.ids()), (r.count(), r.len(), r.ids()));
            }
            (Err(e), Err(f)) => assert_eq!(e, f, "{b:?}"),
            _ => panic!("they disagree on {b:?}"),
        }
    }
}
