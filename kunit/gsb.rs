// SPDX-License-Identifier: GPL-2.0

//! The Guest State Buffer library: every case of the kernel's
//! arch/powerpc/kvm/test-guest-state-buffer.c, the malformed inputs the
//! C parser lets through, and the host-wide counters read from the L0.

use kernel::prelude::*;

#[kunit_tests(rust_papr_nested_gsb)]
mod tests {
    use crate::gsb::ids::{ElemType, Scope};
    use crate::gsb::message::HostWideCounters;
    use crate::gsb::value::{PartitionTable, ProcessTable, Vec128};
    use crate::gsb::{GsbError, Id, IdSet, Message, Parsed, Trailing, Value, Writer};
    use crate::hcall::state;
    use kernel::prelude::*;

    /// Zeroed kmalloc storage of `len` bytes, as the buffers the L0 sees.
    fn storage(len: usize) -> Result<KVec<u8>> {
        Ok(KVec::from_elem(0u8, len, GFP_KERNEL)?)
    }

    fn gpr(n: u8) -> Id {
        Id::gpr(n).unwrap_or(Id::NIA)
    }

    /// test_creating_buffer: a new buffer is just the header, count 0.
    #[test]
    fn creating_buffer() -> Result {
        let mut s = storage(0x100)?;
        let w = Writer::new(&mut s, Scope::Thread)?;
        assert_eq!(w.capacity(), 0x100);
        assert_eq!(w.len(), 4);
        assert_eq!(w.count(), 0);
        assert_eq!(w.as_bytes(), &[0u8, 0, 0, 0]);
        Ok(())
    }

    /// test_adding_element: GPR0, GPR1 and VSR0 in that order; both
    /// doublewords of the 128-bit element survive (the C library drops
    /// the second with CONFIG_VSX=n); reset empties the buffer.
    #[test]
    fn adding_element() -> Result {
        let mut s = storage(0x1000)?;
        let mut w = Writer::new(&mut s, Scope::Thread)?;
        w.put_be64(gpr(0), 0xdeadbeef)?;
        w.put_be64(gpr(1), 0xcafef00d)?;
        w.put_vec128(Id::vsr(0).unwrap_or(Id::NIA), Vec128 { dw0: 1, dw1: 2 })?;
        let b = w.as_bytes();
        assert_eq!(&b[4..8], &[0x10u8, 0x00, 0x00, 0x08]);
        assert_eq!(&b[8..16], &[0u8, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef]);
        let p = Parsed::parse(b, Trailing::Reject)?;
        let mut i = 0;
        for (id, v) in p.iter() {
            match i {
                0 => {
                    assert_eq!(id, gpr(0));
                    assert_eq!(v, Value::Be64(0xdeadbeef));
                }
                1 => {
                    assert_eq!(id, gpr(1));
                    assert_eq!(v, Value::Be64(0xcafef00d));
                }
                2 => {
                    assert_eq!(id.raw(), 0x3000);
                    assert_eq!(id.size(), 16);
                    assert_eq!(v, Value::Vec128(Vec128 { dw0: 1, dw1: 2 }));
                }
                _ => assert!(false),
            }
            i += 1;
        }
        assert_eq!(i, 3);
        w.reset();
        assert_eq!(w.count(), 0);
        assert_eq!(w.len(), 4);
        Ok(())
    }

    /// test_gs_bitmap: set, test and clear every ID of every range, and
    /// iterate in ID order.
    #[test]
    fn bitmap() {
        let mut once = IdSet::new();
        let mut all = IdSet::new();
        let mut n = 0usize;
        for raw in 0..=u16::MAX {
            let Some(id) = Id::new(raw) else { continue };
            once.set(id);
            assert!(once.test(id));
            once.clear(id);
            assert!(!once.test(id));
            all.set(id);
            n += 1;
        }
        assert!(once.is_empty());
        assert_eq!(n, crate::gsb::ids::ID_COUNT);
        assert_eq!(all.len(), n);
        assert_eq!(all, IdSet::all());
        let mut last = None;
        let mut seen = 0usize;
        for id in all.iter() {
            assert!(last.is_none_or(|l: Id| l.raw() < id.raw()));
            last = Some(id);
            seen += 1;
        }
        assert_eq!(seen, n);
        all.clear_all();
        assert!(all.is_empty());
    }

    /// test_gs_parsing: a parsed buffer finds GPR0 by ID.
    #[test]
    fn parsing() -> Result {
        let mut s = storage(0x1000)?;
        let mut w = Writer::new(&mut s, Scope::Thread)?;
        w.put_be64(gpr(0), 0xdeadbeef)?;
        let p = Parsed::parse(w.as_bytes(), Trailing::Reject)?;
        assert_eq!(p.get_be64(gpr(0)), Some(0xdeadbeef));
        assert!(!p.contains(gpr(1)));
        assert_eq!(p.get(gpr(1)), None);
        Ok(())
    }

    /// A guest-wide message: partition and process table, logical PVR.
    #[derive(Default)]
    struct GuestWide {
        part: PartitionTable,
        proc_table: ProcessTable,
        pvr: u32,
        included: IdSet,
    }

    impl Message for GuestWide {
        fn scope(&self) -> Scope {
            Scope::Guest
        }
        fn included(&self) -> &IdSet {
            &self.included
        }
        fn included_mut(&mut self) -> &mut IdSet {
            &mut self.included
        }
        fn value(&self, id: Id) -> Option<Value> {
            match id {
                Id::PARTITION_TABLE => Some(Value::PartitionTable(self.part)),
                Id::PROCESS_TABLE => Some(Value::ProcessTable(self.proc_table)),
                Id::LOGICAL_PVR => Some(Value::Be32(self.pvr)),
                _ => None,
            }
        }
        fn store(&mut self, id: Id, v: Value) -> core::result::Result<(), GsbError> {
            match (id, v) {
                (Id::PARTITION_TABLE, Value::PartitionTable(t)) => self.part = t,
                (Id::PROCESS_TABLE, Value::ProcessTable(t)) => self.proc_table = t,
                (Id::LOGICAL_PVR, Value::Be32(x)) => self.pvr = x,
                _ => {
                    return Err(GsbError::WrongType {
                        id: id.raw(),
                        expected: id.ty(),
                        got: v.ty(),
                    })
                }
            }
            Ok(())
        }
    }

    /// test_gs_msg: fill a buffer from a message and refresh the message
    /// from it. The C test puts guest-wide and thread-wide IDs in one
    /// message; here including RUN_INPUT, GPR0 or CR in a guest-wide
    /// message is refused, so scopes never share a buffer.
    #[test]
    fn msg() -> Result {
        let mut m = GuestWide {
            part: PartitionTable {
                address: 0xdeadbeef,
                ea_bits: 52,
                gpd_size: 0x1000,
            },
            proc_table: ProcessTable {
                address: 0x1,
                gpd_size: 0x2,
            },
            pvr: 0x0f00_0006,
            ..Default::default()
        };
        m.include(Id::PARTITION_TABLE)?;
        m.include(Id::PROCESS_TABLE)?;
        m.include(Id::LOGICAL_PVR)?;
        for id in [Id::RUN_INPUT, gpr(0), Id::CR] {
            assert_eq!(
                m.include(id),
                Err(GsbError::WrongScope {
                    id: id.raw(),
                    expected: Scope::Guest,
                    got: Scope::Thread
                })
            );
        }
        assert_eq!(m.buffer_size(), 4 + (4 + 24) + (4 + 16) + (4 + 4));
        let mut s = storage(m.buffer_size())?;
        let mut w = Writer::new(&mut s, Scope::Guest)?;
        m.fill(&mut w)?;
        assert_eq!(w.len(), m.buffer_size());
        let mut back = GuestWide {
            included: *m.included(),
            ..Default::default()
        };
        back.refresh(&Parsed::parse(w.as_bytes(), Trailing::Reject)?)?;
        assert_eq!(back.part, m.part);
        assert_eq!(back.proc_table, m.proc_table);
        assert_eq!(back.pvr, 0x0f00_0006);
        Ok(())
    }

    /// test_gs_hostwide_msg: the five host-wide counters round-trip.
    #[test]
    fn hostwide_msg() -> Result {
        let mut m = HostWideCounters::new();
        m.guest_heap = 0xdeadbeef;
        m.guest_heap_max = u64::MAX;
        m.guest_pgtable_size = 0xff;
        m.guest_pgtable_size_max = 0xffffff;
        m.guest_pgtable_reclaim = 0xdeadbeef;
        let mut s = storage(m.buffer_size())?;
        let mut w = Writer::new(&mut s, Scope::Host)?;
        m.fill(&mut w)?;
        let mut back = HostWideCounters::new();
        back.refresh(&Parsed::parse(w.as_bytes(), Trailing::Reject)?)?;
        assert_eq!(back, m);
        Ok(())
    }

    /// test_gs_hostwide_counters: H_GUEST_GET_STATE with the host-wide flag
    /// against the real L0 returns all five counters, written by the L0
    /// over the sentinel the request carried.
    #[test]
    fn hostwide_counters() -> Result {
        const SENTINEL: u64 = 0xa5a5_a5a5_a5a5_a5a5;
        let mut m = HostWideCounters::new();
        m.guest_heap = SENTINEL;
        m.guest_heap_max = SENTINEL;
        m.guest_pgtable_size = SENTINEL;
        m.guest_pgtable_size_max = SENTINEL;
        m.guest_pgtable_reclaim = SENTINEL;
        let len = m.buffer_size();
        let mut s = crate::hcall::mem::L0Mem::zeroed(len)?;
        let mut w = Writer::new(&mut s, Scope::Host)?;
        m.fill(&mut w)?;
        state::get(Scope::Host, 0, 0, &mut s, len, &mut Default::default())?;
        let p = Parsed::parse(&s, Trailing::Reject)?;
        assert_eq!(p.count(), 5);
        for id in HostWideCounters::IDS {
            assert!(p.contains(id));
            assert!(p.get_be64(id) != Some(SENTINEL));
        }
        m.refresh(&p)?;
        // The module's own reader gets the same answer.
        let c = state::host_wide_counters()?;
        assert_eq!(c, m);
        pr_info!(
            "L0 counters: guest heap {} of {} bytes, page tables {} of {} bytes, reclaimed {} bytes\n",
            m.guest_heap,
            m.guest_heap_max,
            m.guest_pgtable_size,
            m.guest_pgtable_size_max,
            m.guest_pgtable_reclaim
        );
        Ok(())
    }

    /// Builds `count`, then the given raw elements, into `out`.
    fn raw(out: &mut KVec<u8>, count: u32, elems: &[(u16, &[u8])]) -> Result {
        out.clear();
        out.extend_from_slice(&count.to_be_bytes(), GFP_KERNEL)?;
        for (id, data) in elems {
            out.extend_from_slice(&id.to_be_bytes(), GFP_KERNEL)?;
            out.extend_from_slice(&(data.len() as u16).to_be_bytes(), GFP_KERNEL)?;
            out.extend_from_slice(data, GFP_KERNEL)?;
        }
        Ok(())
    }

    fn parse(b: &[u8]) -> core::result::Result<u32, GsbError> {
        Parsed::parse(b, Trailing::Reject).map(|p| p.count())
    }

    /// Every malformed input is refused with its own error, naming the
    /// element's index and ID.
    #[test]
    fn malformed_inputs() -> Result {
        let mut b = KVec::new();
        assert_eq!(parse(&[0, 0, 0]), Err(GsbError::ShortHeader { len: 3 }));
        raw(&mut b, 1, &[])?;
        assert_eq!(parse(&b), Err(GsbError::Truncated { index: 0, id: None }));
        raw(&mut b, 1, &[(0x1000, &[0; 7])])?;
        assert_eq!(
            parse(&b),
            Err(GsbError::BadLength {
                index: 0,
                id: 0x1000,
                len: 7,
                expected: 8
            })
        );
        raw(&mut b, 1, &[(0x1000, &[0; 8])])?;
        b.truncate(b.len() - 1);
        assert_eq!(
            parse(&b),
            Err(GsbError::Truncated {
                index: 0,
                id: Some(0x1000)
            })
        );
        raw(&mut b, 1, &[(0x1000, &[0; 8]), (0x2000, &[0; 4])])?;
        assert_eq!(
            parse(&b),
            Err(GsbError::TrailingBytes { count: 1, extra: 8 })
        );
        // The C parser accepts an unknown ID whose length is 0.
        raw(&mut b, 2, &[(0x2000, &[0; 4]), (0x0C03, &[])])?;
        assert_eq!(
            parse(&b),
            Err(GsbError::UnknownId {
                index: 1,
                id: 0x0C03
            })
        );
        raw(&mut b, 2, &[(0x3000, &[0; 16]), (0x3000, &[1; 16])])?;
        assert_eq!(
            parse(&b),
            Err(GsbError::Duplicate {
                index: 1,
                id: 0x3000
            })
        );
        Ok(())
    }

    /// Puts that would be truncations in the C library are errors.
    #[test]
    fn writer_refusals() -> Result {
        let mut s = storage(16)?;
        let mut w = Writer::new(&mut s, Scope::Thread)?;
        assert_eq!(
            w.put_be32(Id::NIA, 1),
            Err(GsbError::WrongType {
                id: 0x1021,
                expected: ElemType::Be64,
                got: ElemType::Be32
            })
        );
        assert_eq!(
            w.put_be64(Id::MSR, 1 << 60),
            Err(GsbError::ReservedBits {
                id: 0x1022,
                bits: 1 << 60
            })
        );
        w.put_be64(Id::NIA, 0x100)?;
        assert_eq!(
            w.put_be64(Id::LR, 0),
            Err(GsbError::NoSpace {
                needed: 28,
                capacity: 16
            })
        );
        assert_eq!(
            Error::from(GsbError::NoSpace {
                needed: 1,
                capacity: 0
            }),
            ENOSPC
        );
        assert_eq!(Error::from(GsbError::ShortHeader { len: 0 }), EINVAL);
        Ok(())
    }

    /// Every thread-wide ID, each with a distinct value, round-trips.
    #[test]
    fn every_thread_wide_id_round_trips() -> Result {
        let ids = IdSet::of_scope(Scope::Thread);
        let mut s = storage(ids.buffer_size())?;
        let mut w = Writer::new(&mut s, Scope::Thread)?;
        let value = |id: Id| {
            let x = u64::from(id.raw()).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            match id.ty() {
                ElemType::Be32 => Value::Be32(x as u32),
                ElemType::Be64 => Value::Be64(x & id.settable()),
                ElemType::Vec128 => Value::Vec128(Vec128 { dw0: x, dw1: !x }),
                t => {
                    let mut v = Value::zero(t);
                    if let Value::BufferInfo(ref mut b) = v {
                        b.address = x;
                        b.size = !x;
                    }
                    v
                }
            }
        };
        for id in ids.iter() {
            w.put(id, value(id))?;
        }
        assert_eq!(w.len(), ids.buffer_size());
        let p = Parsed::parse(w.as_bytes(), Trailing::Reject)?;
        assert_eq!(p.count() as usize, ids.len());
        for id in ids.iter() {
            assert_eq!(p.get(id), Some(value(id)));
        }
        Ok(())
    }
}
