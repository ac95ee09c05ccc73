// SPDX-License-Identifier: GPL-2.0

//! The cases of our own ioctls beyond KVM's (`asm/papr-nested.h`):
//! batched state in Guest State Buffers, snapshot and restore.

use super::*;

/// `-EPERM`, `-ENOSPC`, `-EOPNOTSUPP`.
const EPERM: i32 = 1;
const ENOSPC: i32 = 28;
const EOPNOTSUPP: i32 = 95;

/// IDs the cases name.
const GPR5: u16 = 0x1005;
const GPR6: u16 = 0x1006;
const MSR: u16 = 0x1022;
const LPCR: u16 = 0x102C;
const DSCR: u16 = 0x104C;
const TAR: u16 = 0x104D;
const TB_OFFSET: u16 = 0x0004;
const LOGICAL_PVR: u16 = 0x0003;
const HOST_STATE_SIZE: u16 = 0x0001;
const PARTITION_TABLE: u16 = 0x0005;
const RUN_INPUT: u16 = 0x0C00;
const RUN_OUTPUT: u16 = 0x0C01;
const HDAR: u16 = 0xF000;
/// H_GUEST_GET_STATE and H_GUEST_SET_STATE, as `hcall_inst` names them.
const H_GUEST_GET_STATE: u64 = 0x478;
const H_GUEST_SET_STATE: u64 = 0x47C;

/// A Guest State Buffer: a big-endian count, then ID, length and data.
#[derive(Clone)]
pub(crate) struct Gsb(pub(crate) Vec<u8>);

impl Gsb {
    pub(crate) fn new() -> Gsb {
        Gsb(vec![0; 4])
    }

    /// Adds an element.
    pub(crate) fn put(&mut self, id: u16, data: &[u8]) -> &mut Gsb {
        let count = u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]]) + 1;
        self.0[..4].copy_from_slice(&count.to_be_bytes());
        self.0.extend_from_slice(&id.to_be_bytes());
        self.0.extend_from_slice(&(data.len() as u16).to_be_bytes());
        self.0.extend_from_slice(data);
        self
    }

    /// Adds a doubleword element.
    pub(crate) fn dw(&mut self, id: u16, v: u64) -> &mut Gsb {
        self.put(id, &v.to_be_bytes())
    }

    /// The elements of a well-formed buffer.
    pub(crate) fn elements(buf: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let count = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let mut at = 4;
        let mut out = Vec::new();
        for _ in 0..count {
            let id = u16::from_be_bytes([buf[at], buf[at + 1]]);
            let len = u16::from_be_bytes([buf[at + 2], buf[at + 3]]) as usize;
            out.push((id, buf[at + 4..at + 4 + len].to_vec()));
            at += 4 + len;
        }
        out
    }

    /// A request for the elements of `ids`, each of its size, data 0.
    pub(crate) fn request(ids: &[(u16, usize)]) -> Gsb {
        let mut g = Gsb::new();
        for (id, size) in ids {
            g.put(*id, &vec![0; *size]);
        }
        g
    }
}

/// One of our ioctls on `fd` with `buf`; the errno or 0, and the struct
/// as the kernel left it.
pub(crate) fn state_ioctl(
    fd: &OwnedFd,
    request: u32,
    buf: &mut [u8],
) -> (Result<i32, i32>, kvm::papr_nested_state) {
    let mut a = kvm::papr_nested_state {
        buf: buf.as_mut_ptr() as u64,
        len: buf.len() as u32,
        ..Default::default()
    };
    // SAFETY: `a` is a live struct that the kernel reads and writes, and
    // it names `buf`, which is live and `len` bytes long.
    let r = unsafe { ioctl(fd.as_raw_fd(), u64::from(request), &mut a as *mut _) };
    let r = if r < 0 {
        Err(Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(r)
    };
    (r, a)
}

/// The elements of `g` as the fd holds them (`PAPR_NESTED_GET_STATE`).
pub(crate) fn get_state(fd: &OwnedFd, g: &Gsb) -> Result<Vec<(u16, Vec<u8>)>, String> {
    let mut buf = g.0.clone();
    let (r, a) = state_ioctl(fd, kvm::PAPR_NESTED_GET_STATE, &mut buf);
    if r.is_err() {
        return Err(format!(
            "PAPR_NESTED_GET_STATE: {r:?}, element {} ({:#06x}), reason {}",
            a.err_index, a.err_id, a.err_reason
        ));
    }
    Ok(Gsb::elements(&buf[..a.len as usize]))
}

/// A snapshot of `fd` (`PAPR_NESTED_SNAPSHOT`), sized by asking first.
pub(crate) fn snapshot(fd: &OwnedFd) -> Result<Vec<u8>, String> {
    let (r, a) = state_ioctl(fd, kvm::PAPR_NESTED_SNAPSHOT, &mut []);
    expect("PAPR_NESTED_SNAPSHOT with no room", r, Err(ENOSPC))?;
    let mut buf = vec![0; a.len as usize];
    let (r, a) = state_ioctl(fd, kvm::PAPR_NESTED_SNAPSHOT, &mut buf);
    expect("PAPR_NESTED_SNAPSHOT", r, Ok(0))?;
    buf.truncate(a.len as usize);
    Ok(buf)
}

/// Bytes of the snapshot header.
const HEADER: usize = std::mem::size_of::<kvm::papr_nested_snapshot>();

/// H_GUEST_* calls of opcode `op` the kernel has counted (hcall_inst).
fn hcalls(op: u64) -> Result<u64, String> {
    hcall_inst::calls(&[op]).map_err(|e| format!("hcall_inst: {e}"))
}

/// A VM and its vCPU 0, and the device they came from.
fn vm_and_vcpu() -> Result<(File, OwnedFd, OwnedFd), String> {
    let dev = device().map_err(|e| e.to_string())?;
    let vm = create_vm(&dev, 0).map_err(|e| format!("errno {e}"))?;
    let vcpu = create_vcpu(&vm, 0).map_err(|e| format!("errno {e}"))?;
    Ok((dev, vm, vcpu))
}

/// A value for element `id` of `size` bytes, distinct for each `n`, that
/// the L1 may set.
fn distinct(id: u16, size: usize, n: usize) -> Vec<u8> {
    let n = n as u64 + 1;
    match (id, size) {
        // SF | LE, and a distinct bit the L1 may set (RI, EE, PR, ...).
        (MSR, _) => (1u64 << 63 | 1 | 1 << (1 + n % 8)).to_be_bytes().to_vec(),
        // GTSE: a bit the L1 may set.
        (LPCR, _) => 0x400u64.to_be_bytes().to_vec(),
        (_, 4) => ((n as u32) * 0x0101_0101).to_be_bytes().to_vec(),
        (_, 8) => (n * 0x0001_0001_0001_0001).to_be_bytes().to_vec(),
        _ => {
            let mut v = (n * 0x0101_0101_0101_0101).to_be_bytes().to_vec();
            v.extend_from_slice(&(!n).to_be_bytes());
            v
        }
    }
}

pub(crate) fn batch_round_trip_every_id() -> Verdict {
    let (_dev, _vm, vcpu) = vm_and_vcpu()?;
    // The snapshot names every element the L1 may read and set.
    let snap = snapshot(&vcpu)?;
    let ids: Vec<(u16, usize)> = Gsb::elements(&snap[HEADER..])
        .into_iter()
        .map(|(id, data)| (id, data.len()))
        .collect();
    let mut set = Gsb::new();
    for (n, (id, size)) in ids.iter().enumerate() {
        set.put(*id, &distinct(*id, *size, n));
    }
    let mut buf = set.0.clone();
    let (r, a) = state_ioctl(&vcpu, kvm::PAPR_NESTED_SET_STATE, &mut buf);
    if r.is_err() {
        return Err(format!(
            "PAPR_NESTED_SET_STATE of {} elements: {r:?}, element {} ({:#06x}), reason {}",
            ids.len(),
            a.err_index,
            a.err_id,
            a.err_reason
        ));
    }
    // All held by the L1 now: read back without an hcall.
    let before = hcalls(H_GUEST_GET_STATE)?;
    let got = get_state(&vcpu, &Gsb::request(&ids))?;
    expect(
        "GET_STATE hcalls for held state",
        hcalls(H_GUEST_GET_STATE)? - before,
        0,
    )?;
    expect("elements", got.len(), ids.len())?;
    for ((n, (id, size)), (gid, data)) in ids.iter().enumerate().zip(&got) {
        expect("ID", *gid, *id)?;
        expect(&format!("{id:#06x}"), data.clone(), distinct(*id, *size, n))?;
    }
    println!(
        "# batch_round_trip_every_id: {} per-vCPU elements set and got in one call each",
        ids.len()
    );
    Ok(())
}

/// A refusal as the struct reports it: errno, reason, index, ID.
type Refused = (Result<i32, i32>, u16, u32, u16);

fn refused(fd: &OwnedFd, request: u32, g: &Gsb) -> Refused {
    let mut buf = g.0.clone();
    let (r, a) = state_ioctl(fd, request, &mut buf);
    (r, a.err_reason, a.err_index, a.err_id)
}

pub(crate) fn batch_refusals_name_the_element() -> Verdict {
    let (_dev, vm, vcpu) = vm_and_vcpu()?;
    let mut mark = Gsb::new();
    mark.dw(GPR5, 0x5555);
    expect(
        "GPR5",
        refused(&vcpu, kvm::PAPR_NESTED_SET_STATE, &mark),
        (Ok(0), 0, 0, 0),
    )?;
    // Each: GPR5 = another value first, then the bad element (index 1).
    let bad: [(&str, Gsb, i32, u32, u16); 8] = [
        (
            "MSR[HV]",
            one(MSR, &(1u64 << 60).to_be_bytes()),
            EINVAL,
            kvm::PAPR_NESTED_ERR_VALUE,
            MSR,
        ),
        (
            "HDAR",
            one(HDAR, &[0; 8]),
            EPERM,
            kvm::PAPR_NESTED_ERR_READ_ONLY,
            HDAR,
        ),
        (
            "RUN_INPUT",
            one(RUN_INPUT, &[0; 16]),
            EPERM,
            kvm::PAPR_NESTED_ERR_META,
            RUN_INPUT,
        ),
        (
            "TB_OFFSET",
            one(TB_OFFSET, &[0; 8]),
            EINVAL,
            kvm::PAPR_NESTED_ERR_SCOPE,
            TB_OFFSET,
        ),
        (
            "0x0007",
            one(0x0007, &[0; 8]),
            ENOENT,
            kvm::PAPR_NESTED_ERR_UNKNOWN_ID,
            0x0007,
        ),
        (
            "a 4-byte GPR6",
            one(GPR6, &[0; 4]),
            EINVAL,
            kvm::PAPR_NESTED_ERR_SIZE,
            GPR6,
        ),
        (
            "GPR5 twice",
            one(GPR5, &[0; 8]),
            EINVAL,
            kvm::PAPR_NESTED_ERR_DUPLICATE,
            GPR5,
        ),
        (
            "a count of 3",
            {
                let mut g = one(DSCR, &[0; 8]);
                g.0[3] = 3;
                g
            },
            EINVAL,
            kvm::PAPR_NESTED_ERR_MALFORMED,
            0,
        ),
    ];
    for (what, g, errno, reason, id) in bad {
        let index = if reason == kvm::PAPR_NESTED_ERR_MALFORMED {
            2
        } else {
            1
        };
        expect(
            what,
            refused(&vcpu, kvm::PAPR_NESTED_SET_STATE, &g),
            (Err(errno), reason as u16, index, id),
        )?;
        let got = get_state(&vcpu, &Gsb::request(&[(GPR5, 8)]))?;
        expect(
            &format!("GPR5 after {what}"),
            got[0].1.clone(),
            0x5555u64.to_be_bytes().to_vec(),
        )?;
    }
    // A get names the meta and foreign elements the same way.
    let mut g = Gsb::request(&[(GPR5, 8), (RUN_OUTPUT, 16)]);
    expect(
        "get RUN_OUTPUT",
        refused(&vcpu, kvm::PAPR_NESTED_GET_STATE, &g),
        (Err(EPERM), kvm::PAPR_NESTED_ERR_META as u16, 1, RUN_OUTPUT),
    )?;
    g = Gsb::request(&[(TB_OFFSET, 8)]);
    expect(
        "get TB_OFFSET on the vCPU fd",
        refused(&vcpu, kvm::PAPR_NESTED_GET_STATE, &g),
        (Err(EINVAL), kvm::PAPR_NESTED_ERR_SCOPE as u16, 0, TB_OFFSET),
    )?;
    // The VM fd: guest-wide elements only, the tables never.
    for (what, g, errno, reason, id) in [
        (
            "DSCR",
            Gsb::request(&[(DSCR, 8)]),
            EINVAL,
            kvm::PAPR_NESTED_ERR_SCOPE,
            DSCR,
        ),
        (
            "the partition table",
            Gsb::request(&[(PARTITION_TABLE, 24)]),
            EPERM,
            kvm::PAPR_NESTED_ERR_META,
            PARTITION_TABLE,
        ),
        (
            "HOST_STATE_SIZE",
            Gsb::request(&[(HOST_STATE_SIZE, 8)]),
            EPERM,
            kvm::PAPR_NESTED_ERR_READ_ONLY,
            HOST_STATE_SIZE,
        ),
    ] {
        expect(
            &format!("set {what} on the VM fd"),
            refused(&vm, kvm::PAPR_NESTED_SET_STATE, &g),
            (Err(errno), reason as u16, 0, id),
        )?;
    }
    let got = get_state(&vm, &Gsb::request(&[(LOGICAL_PVR, 4), (TB_OFFSET, 8)]))?;
    expect("guest-wide elements got", got.len(), 2)?;
    // Flags are reserved.
    let mut buf = mark.0.clone();
    let mut a = kvm::papr_nested_state {
        buf: buf.as_mut_ptr() as u64,
        len: buf.len() as u32,
        flags: 1,
        ..Default::default()
    };
    expect(
        "flags 1",
        kvm_ioctl_ptr(vcpu.as_raw_fd(), kvm::PAPR_NESTED_SET_STATE, &mut a),
        Err(EINVAL),
    )
}

/// GPR5 = a value, then `id` with `data`.
fn one(id: u16, data: &[u8]) -> Gsb {
    let mut g = Gsb::new();
    g.dw(GPR5, 0x6666).put(id, data);
    g
}

pub(crate) fn batch_hcall_counts() -> Verdict {
    let r = running(&[SC_1, SC_1], 0)?;
    let some = Gsb::request(&[(TAR, 8), (DSCR, 8)]);
    let count = |what: &str, g: &Gsb, want: u64| -> Verdict {
        let before = hcalls(H_GUEST_GET_STATE)?;
        get_state(&r.vcpu, g)?;
        expect(what, hcalls(H_GUEST_GET_STATE)? - before, want)
    };
    count("a get of state not held", &some, 1)?;
    count("the same again", &some, 0)?;
    r.run().map_err(|e| format!("KVM_RUN: errno {e}"))?;
    // The run may have changed what was held, but not what it brought.
    count("after a run", &some, 1)?;
    // An hcall exit brings GPR3-GPR12.
    count(
        "what the run brought",
        &Gsb::request(&[(GPR5, 8), (GPR6, 8)]),
        0,
    )
}

/// `snap` with its header changed by `f`.
fn with_header(snap: &[u8], f: impl FnOnce(&mut kvm::papr_nested_snapshot)) -> Vec<u8> {
    // SAFETY: the header is integers only; `read_unaligned` copies them.
    let mut h: kvm::papr_nested_snapshot =
        unsafe { std::ptr::read_unaligned(snap.as_ptr().cast()) };
    f(&mut h);
    let mut out = snap.to_vec();
    // SAFETY: `out` holds at least a header's bytes; the header is
    // integers only.
    unsafe { std::ptr::write_unaligned(out.as_mut_ptr().cast(), h) };
    out
}

/// `snap` with its buffer replaced by `gsb` (the header's length too).
fn with_gsb(snap: &[u8], gsb: &[u8]) -> Vec<u8> {
    let mut out = with_header(snap, |h| h.gsb_len = gsb.len() as u32);
    out.truncate(HEADER);
    out.extend_from_slice(gsb);
    out
}

pub(crate) fn snapshot_refusals_change_nothing() -> Verdict {
    let (_dev_a, vm_a, vcpu_a) = vm_and_vcpu()?;
    let mut regs = Gsb::new();
    regs.dw(GPR5, 0xa5a5).dw(TAR, 0x7a7a);
    expect(
        "set A",
        refused(&vcpu_a, kvm::PAPR_NESTED_SET_STATE, &regs),
        (Ok(0), 0, 0, 0),
    )?;
    let snap = snapshot(&vcpu_a)?;
    let vm_snap = snapshot(&vm_a)?;
    let (_dev_b, vm_b, vcpu_b) = vm_and_vcpu()?;
    let mut mark = Gsb::new();
    mark.dw(GPR5, 0xb5b5);
    expect(
        "set B",
        refused(&vcpu_b, kvm::PAPR_NESTED_SET_STATE, &mark),
        (Ok(0), 0, 0, 0),
    )?;

    let gsb = snap[HEADER..].to_vec();
    let elems = Gsb::elements(&gsb);
    // The first two elements' IDs sit at bytes 4 and 4 + 4 + len.
    let second = 4 + 4 + elems[0].1.len();
    let mut foreign = gsb.clone();
    foreign[4..6].copy_from_slice(&TB_OFFSET.to_be_bytes());
    let mut dup = gsb.clone();
    dup[second..second + 2].copy_from_slice(&elems[0].0.to_be_bytes());
    let (last_id, last) = elems.last().cloned().ok_or("an empty snapshot")?;
    let mut short = gsb[..gsb.len() - 4 - last.len()].to_vec();
    short[..4].copy_from_slice(&(elems.len() as u32 - 1).to_be_bytes());
    let mut mode = 0;
    let bad: [(&str, Vec<u8>, i32, u32, u32, u16); 10] = [
        (
            "one byte short",
            snap[..snap.len() - 1].to_vec(),
            EINVAL,
            kvm::PAPR_NESTED_ERR_HEADER,
            0,
            0,
        ),
        (
            "the buffer cut mid-element",
            with_gsb(&snap, &gsb[..gsb.len() - 3]),
            EINVAL,
            kvm::PAPR_NESTED_ERR_MALFORMED,
            elems.len() as u32 - 1,
            last_id,
        ),
        (
            "version 2",
            with_header(&snap, |h| h.version = 2),
            EOPNOTSUPP,
            kvm::PAPR_NESTED_ERR_VERSION,
            0,
            0,
        ),
        (
            "another processor mode",
            with_header(&snap, |h| {
                mode = h.mode;
                h.mode ^= 1 << 61
            }),
            EOPNOTSUPP,
            kvm::PAPR_NESTED_ERR_MODE,
            0,
            0,
        ),
        (
            "a bad magic",
            with_header(&snap, |h| h.magic ^= 1),
            EINVAL,
            kvm::PAPR_NESTED_ERR_HEADER,
            0,
            0,
        ),
        (
            "the guest's scope",
            with_header(&snap, |h| h.scope = kvm::PAPR_NESTED_SCOPE_GUEST as u16),
            EINVAL,
            kvm::PAPR_NESTED_ERR_SCOPE,
            0,
            0,
        ),
        (
            "the VM's snapshot",
            vm_snap.clone(),
            EINVAL,
            kvm::PAPR_NESTED_ERR_SCOPE,
            0,
            0,
        ),
        (
            "a guest-wide ID",
            with_gsb(&snap, &foreign),
            EINVAL,
            kvm::PAPR_NESTED_ERR_SCOPE,
            0,
            TB_OFFSET,
        ),
        (
            "an ID twice",
            with_gsb(&snap, &dup),
            EINVAL,
            kvm::PAPR_NESTED_ERR_DUPLICATE,
            1,
            elems[0].0,
        ),
        (
            "an element left out",
            with_gsb(&snap, &short),
            EINVAL,
            kvm::PAPR_NESTED_ERR_INCOMPLETE,
            elems.len() as u32 - 1,
            last_id,
        ),
    ];
    println!(
        "# snapshot_refusals_change_nothing: mode {mode:#x}, {} bytes, {} elements",
        snap.len(),
        elems.len()
    );
    for (what, mut bytes, errno, reason, index, id) in bad {
        let (r, a) = state_ioctl(&vcpu_b, kvm::PAPR_NESTED_RESTORE, &mut bytes);
        expect(
            what,
            (r, a.err_reason, a.err_index, a.err_id),
            (Err(errno), reason as u16, index, id),
        )?;
        let got = get_state(&vcpu_b, &Gsb::request(&[(GPR5, 8)]))?;
        expect(
            &format!("GPR5 after {what}"),
            got[0].1.clone(),
            0xb5b5u64.to_be_bytes().to_vec(),
        )?;
    }
    // The snapshot itself: all of it, at the L0 in one call; B then
    // holds A's state, so B's snapshot is A's, byte for byte, for free.
    let sets = hcalls(H_GUEST_SET_STATE)?;
    let mut bytes = snap.clone();
    expect(
        "restore",
        state_ioctl(&vcpu_b, kvm::PAPR_NESTED_RESTORE, &mut bytes).0,
        Ok(0),
    )?;
    expect(
        "SET_STATE hcalls of a restore",
        hcalls(H_GUEST_SET_STATE)? - sets,
        1,
    )?;
    let gets = hcalls(H_GUEST_GET_STATE)?;
    if snapshot(&vcpu_b)? != snap {
        return Err("B's snapshot after the restore is not A's".into());
    }
    expect(
        "GET_STATE hcalls of B's snapshot",
        hcalls(H_GUEST_GET_STATE)? - gets,
        0,
    )?;
    let mut bytes = vm_snap.clone();
    expect(
        "restore the VM's",
        state_ioctl(&vm_b, kvm::PAPR_NESTED_RESTORE, &mut bytes).0,
        Ok(0),
    )?;
    expect("the VM's snapshot", snapshot(&vm_b)?, vm_snap)
}

pub(crate) fn snapshot_vs_one_reg_walk() -> Verdict {
    let r = running(&[SC_1, SC_1, SC_1], 0)?;
    r.run().map_err(|e| format!("KVM_RUN: errno {e}"))?;
    // Ours: after a run, one ioctl and one hcall save every register.
    let gets = hcalls(H_GUEST_GET_STATE)?;
    let snap = snapshot(&r.vcpu)?;
    let ours = hcalls(H_GUEST_GET_STATE)? - gets;
    expect("GET_STATE hcalls of a snapshot after a run", ours, 1)?;
    let held = Gsb::elements(&snap[HEADER..]).len();
    // KVM's way: KVM_GET_REGS, then KVM_GET_ONE_REG for each powerpc
    // register there is (found by asking for every ID of each size).
    let mut found = Vec::new();
    let mut b = [0u8; 16];
    for size in [
        kvm::KVM_REG_SIZE_U32,
        kvm::KVM_REG_SIZE_U64,
        kvm::KVM_REG_SIZE_U128,
    ] {
        for low in 0..0x100u64 {
            let id = kvm::KVM_REG_PPC | size | low;
            let one = kvm::kvm_one_reg {
                id,
                addr: b.as_mut_ptr() as u64,
            };
            if kvm_ioctl_ptr(r.vcpu.as_raw_fd(), kvm::KVM_GET_ONE_REG, &one).is_ok() {
                found.push(id);
            }
        }
    }
    r.run().map_err(|e| format!("KVM_RUN: errno {e}"))?;
    let gets = hcalls(H_GUEST_GET_STATE)?;
    let mut ioctls = 1;
    get_regs(&r.vcpu).map_err(|e| format!("KVM_GET_REGS: errno {e}"))?;
    for id in &found {
        let one = kvm::kvm_one_reg {
            id: *id,
            addr: b.as_mut_ptr() as u64,
        };
        kvm_ioctl_ptr(r.vcpu.as_raw_fd(), kvm::KVM_GET_ONE_REG, &one)
            .map_err(|e| format!("KVM_GET_ONE_REG({id:#x}): errno {e}"))?;
        ioctls += 1;
    }
    let walk = hcalls(H_GUEST_GET_STATE)? - gets;
    println!(
        "# snapshot_vs_one_reg_walk: save a vCPU after a run: ours 1 ioctl, {ours} hcall, {} bytes, {held} elements; KVM_GET_REGS + KVM_GET_ONE_REG walk: {ioctls} ioctls, {walk} hcalls, {} registers (and the restore: ours 1 ioctl, 1 hcall; KVM's {ioctls} ioctls)",
        snap.len(),
        found.len()
    );
    if walk <= ours {
        return Err(format!("the walk took {walk} hcalls"));
    }
    Ok(())
}
