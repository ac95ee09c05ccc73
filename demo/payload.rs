// SPDX-License-Identifier: GPL-2.0

//! Small L2 programs, run end to end on the real L0: the KUnit suite
//! `rust_papr_nested_run` asserts on them, the debugfs file `payloads`
//! runs them as a demonstration, and the benchmark times the first.
//! Each payload runs in a guest of its own, so any number of them may run
//! at once, from several tasks, next to the benchmark.
//!
//! Each starts in real mode (MSR IR and DR off), big-endian, at guest real
//! address 0, in a guest of one vCPU whose partition-scoped tree maps the
//! code page and a process table. Every exit is logged with its vector,
//! its reason and the registers the run-output buffer brought.

use crate::gsb::{Id, Value};
use crate::hcall::{self, guest::VcpuFlags};
use crate::platform::{check_signal, timebase};
use crate::vcpu::{exit::Exit, pgtable::PartitionTree, Guest, SharedVcpu, Vcpu};
use kernel::prelude::*;

/// Instructions the payloads are made of (big-endian words).
pub(crate) mod insn {
    /// `add r3,r4,r5`
    pub(crate) const ADD_R3_R4_R5: u32 = 0x7C64_2A14;
    /// `sc 1`: a hypervisor call, which exits to the L1.
    pub(crate) const SC_1: u32 = 0x4400_0022;
    /// `addi r3,r3,1`
    pub(crate) const ADDI_R3_R3_1: u32 = 0x3863_0001;
    /// `ld r3,0(r4)`
    pub(crate) const LD_R3_0_R4: u32 = 0xE864_0000;
    /// `b .`: loop forever.
    pub(crate) const B_SELF: u32 = 0x4800_0000;
    /// Primary opcode 0 and not `attn`: an illegal instruction, which
    /// the L0 hands to the L1 as a hypervisor emulation assistance.
    pub(crate) const ILLEGAL: u32 = 0x0000_0BAD;
}

/// MSR of the L2: 64-bit, big-endian, real mode (IR, DR off).
pub(crate) const MSR_REAL_MODE: u64 = 1 << 63;
/// Timebase ticks an L2 may run before the HDEC fires: half a second at
/// the architected 512 MHz. Payloads that end by hypervisor call end long
/// before.
pub(crate) const HDEC_TICKS: u64 = 256_000_000;
/// Timebase ticks payload (c) loops before its HDEC exit: a millisecond.
pub(crate) const HDEC_SHORT_TICKS: u64 = 512_000;
/// Guest real address of the code.
pub(crate) const CODE_GRA: u64 = 0;
/// Guest real address of the process table's page.
pub(crate) const PROCESS_TABLE_GRA: u64 = 0x1_0000;
/// Guest real address of the page payloads (b) and (d) load from.
pub(crate) const DATA_GRA: u64 = 0x3_0000;

/// Payload (a): the L1 sets GPR4 and GPR5 ...
pub(crate) const A_X: u64 = 40;
/// ... the L2 adds them and calls: GPR3 = [`A_X`] + [`A_Y`] ...
pub(crate) const A_Y: u64 = 2;
/// ... the L1 answers in GPR3, the L2 adds one and calls again.
pub(crate) const A_ANSWER: u64 = 100;
/// Payload (a)'s code.
pub(crate) const A_CODE: [u32; 4] = [
    insn::ADD_R3_R4_R5,
    insn::SC_1,
    insn::ADDI_R3_R3_1,
    insn::SC_1,
];
/// The value payloads (b) and (d) find in the page the L1 maps.
pub(crate) const B_VALUE: u64 = 0x0123_4567_89ab_cdef;
/// The value payload (d) finds after the L1 replaced that page.
pub(crate) const D_VALUE: u64 = 0xfedc_ba98_7654_3210;

/// The first vCPU of `g`.
pub(crate) fn shared0(g: &Guest) -> Result<SharedVcpu> {
    g.vcpu(0).ok_or(ENOENT)
}

/// Runs `f` on the first vCPU of `g`, under its lock.
pub(crate) fn vcpu0<R>(g: &Guest, f: impl FnOnce(&mut Vcpu) -> Result<R>) -> Result<R> {
    g.with_vcpu(0, f)
}

/// A guest whose vCPU 0 will start in real mode at [`CODE_GRA`] with
/// `code` there; it owns its partition-scoped tree, which also maps a
/// process table.
pub(crate) fn guest_with_code(code: &[u32]) -> Result<Guest> {
    let mut tree = PartitionTree::new()?;
    let page = tree.map_new_page(CODE_GRA)?;
    if code.len() * 4 > page.len() {
        return Err(EINVAL);
    }
    for (i, word) in code.iter().enumerate() {
        page[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
    }
    tree.map_process_table(PROCESS_TABLE_GRA)?;
    let mut g = Guest::create()?;
    g.create_vcpu(VcpuFlags::default())?;
    g.set_partition_tree(tree)?;
    vcpu0(&g, |v| {
        v.set(Id::NIA, Value::Be64(CODE_GRA))?;
        v.set(Id::MSR, Value::Be64(MSR_REAL_MODE))
    })?;
    Ok(g)
}

/// Logs the registers of `ids` that the L1's copy holds, as `NAME=value`.
struct Registers<'a>(&'a Vcpu, &'static [Id]);

impl kernel::fmt::Display for Registers<'_> {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        for id in self.1 {
            match self.0.cached(*id) {
                Some(Value::Be64(x)) => write!(f, " {}={:#x}", id.name(), x)?,
                Some(Value::Be32(x)) => write!(f, " {}={:#x}", id.name(), x)?,
                Some(_) => write!(f, " {}=(not a register)", id.name())?,
                None => {}
            }
        }
        Ok(())
    }
}

/// Runs `v` with an HDEC expiry `ticks` from now until an exit of the
/// L2's own (an interrupt for the L1 resumes it: [`Exit::for_the_host`]),
/// logs each exit as `what`, and returns the last.
pub(crate) fn run_logged(what: &str, v: &mut Vcpu, ticks: u64) -> Result<Exit> {
    v.set(Id::HDEC_EXPIRY_TB, Value::Be64(timebase() + ticks))?;
    loop {
        let exit = v.run();
        v.fold_stats();
        let exit = exit?;
        pr_info!(
            "{}: guest {}: exit {:#x} ({}):{}\n",
            what,
            v.guest_id(),
            exit.vector(),
            exit.name(),
            Registers(v, exit.registers())
        );
        if !exit.for_the_host() {
            return Ok(exit);
        }
    }
}

/// The value of a 64-bit register from the L1's copy (0 if not there).
fn reg(v: &Vcpu, id: Id) -> u64 {
    match v.cached(id) {
        Some(Value::Be64(x)) => x,
        Some(Value::Be32(x)) => x.into(),
        _ => 0,
    }
}

/// Compares one observation with what a payload must give, logging a
/// mismatch.
fn expect(what: &str, name: &str, seen: u64, want: u64) -> Result {
    if seen == want {
        return Ok(());
    }
    pr_err!("{}: {} is {:#x}, expected {:#x}\n", what, name, seen, want);
    Err(EIO)
}

/// [`expect`] for exits.
fn expect_exit(what: &str, name: &str, seen: Exit, want: Exit) -> Result {
    expect(what, name, seen.vector(), want.vector())
}

/// What payload (a) showed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HypervisorCalls {
    /// The first and second exit.
    pub(crate) exits: [Exit; 2],
    /// GPR3 at the first exit: [`A_X`] + [`A_Y`].
    pub(crate) sum: u64,
    /// Hypervisor calls the L1 made for the first exit beyond one per run
    /// (an interrupt for the L1 may make it two runs), reading GPR3
    /// included: 1, as the run-output buffer brings GPR3.
    pub(crate) hcalls_first_exit: u64,
    /// GPR3 at the second exit: [`A_ANSWER`] + 1.
    pub(crate) second: u64,
}

impl HypervisorCalls {
    /// Checks the observations against the payload's design.
    pub(crate) fn verify(&self) -> Result {
        const WHAT: &str = "payload a";
        expect_exit(WHAT, "exit 1", self.exits[0], Exit::HypervisorCall)?;
        expect(WHAT, "GPR3 at exit 1", self.sum, A_X + A_Y)?;
        expect(WHAT, "hcalls for exit 1", self.hcalls_first_exit, 1)?;
        expect_exit(WHAT, "exit 2", self.exits[1], Exit::HypervisorCall)?;
        expect(WHAT, "GPR3 at exit 2", self.second, A_ANSWER + 1)
    }
}

/// Payload (a): in real mode the L2 adds two registers the L1 set and
/// makes a hypervisor call; the L1 sees it with GPR3, answers in GPR3,
/// and the L2 continues to a second call with the answer plus one.
pub(crate) fn hypervisor_calls() -> Result<HypervisorCalls> {
    const WHAT: &str = "payload a (hypervisor calls)";
    let g = guest_with_code(&A_CODE)?;
    vcpu0(&g, |v| {
        v.set(Id::GPRS[4], Value::Be64(A_X))?;
        v.set(Id::GPRS[5], Value::Be64(A_Y))?;
        let (before, runs) = (v.hcalls(), v.runs());
        let first = run_logged(WHAT, v, HDEC_TICKS)?;
        let sum = v.get(Id::GPRS[3])?;
        let hcalls_first_exit = v.hcalls() - before - (v.runs() - runs - 1);
        v.set(Id::GPRS[3], Value::Be64(A_ANSWER))?;
        let second = run_logged(WHAT, v, HDEC_TICKS)?;
        Ok(HypervisorCalls {
            exits: [first, second],
            sum: match sum {
                Value::Be64(x) => x,
                _ => return Err(EPROTO),
            },
            hcalls_first_exit,
            second: reg(v, Id::GPRS[3]),
        })
    })
}

/// What payload (b) showed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DataStorage {
    /// The fault: [`Exit::DataStorage`].
    pub(crate) fault: Exit,
    /// HDAR at the fault: [`DATA_GRA`].
    pub(crate) hdar: u64,
    /// NIA at the fault: the load, at [`CODE_GRA`].
    pub(crate) nia: u64,
    /// The exit after the L1 mapped the page: [`Exit::HypervisorCall`].
    pub(crate) after: Exit,
    /// GPR3 then: [`B_VALUE`], loaded from the new page.
    pub(crate) loaded: u64,
}

impl DataStorage {
    /// Checks the observations against the payload's design.
    pub(crate) fn verify(&self) -> Result {
        const WHAT: &str = "payload b";
        expect_exit(WHAT, "exit 1", self.fault, Exit::DataStorage)?;
        expect(WHAT, "HDAR", self.hdar, DATA_GRA)?;
        expect(WHAT, "NIA", self.nia, CODE_GRA)?;
        expect_exit(WHAT, "exit 2", self.after, Exit::HypervisorCall)?;
        expect(WHAT, "GPR3 at exit 2", self.loaded, B_VALUE)
    }
}

/// Maps a new page of `g` at [`DATA_GRA`] that starts with `value`.
fn map_data(g: &mut Guest, value: u64) -> Result {
    let page = g.partition_tree().ok_or(ENOENT)?.map_new_page(DATA_GRA)?;
    page[..8].copy_from_slice(&value.to_be_bytes());
    Ok(())
}

/// Payload (b): the L2 loads from an unmapped guest real address; the L1
/// sees the data storage exit with that address, maps a page there
/// holding a known value and resumes; the L2 reports the value.
pub(crate) fn data_storage() -> Result<DataStorage> {
    const WHAT: &str = "payload b (data storage)";
    let mut g = guest_with_code(&[insn::LD_R3_0_R4, insn::SC_1])?;
    let (fault, hdar, nia) = vcpu0(&g, |v| {
        v.set(Id::GPRS[4], Value::Be64(DATA_GRA))?;
        let fault = run_logged(WHAT, v, HDEC_TICKS)?;
        Ok((fault, reg(v, Id::HDAR), reg(v, Id::NIA)))
    })?;
    if fault == Exit::DataStorage {
        pr_info!("{}: mapping a page at {:#x}\n", WHAT, hdar);
        map_data(&mut g, B_VALUE)?;
    }
    let (after, loaded) = vcpu0(&g, |v| {
        let after = run_logged(WHAT, v, HDEC_TICKS)?;
        Ok((after, reg(v, Id::GPRS[3])))
    })?;
    Ok(DataStorage {
        fault,
        hdar,
        nia,
        after,
        loaded,
    })
}

/// Payload (c): the L2 loops until the HDEC expiry fires. Returns the
/// exit: [`Exit::HypervisorDecrementer`].
pub(crate) fn hdec_expiry() -> Result<Exit> {
    let g = guest_with_code(&[insn::B_SELF])?;
    vcpu0(&g, |v| {
        run_logged("payload c (HDEC expiry)", v, HDEC_SHORT_TICKS)
    })
}

/// What payload (d) showed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unmap {
    /// GPR3 at the first call: [`B_VALUE`], from the first page.
    pub(crate) first: u64,
    /// The exit after the L1 unmapped the page: [`Exit::DataStorage`].
    pub(crate) after_unmap: Exit,
    /// HDAR then: [`DATA_GRA`].
    pub(crate) hdar: u64,
    /// GPR3 after the L1 mapped a new page there: [`D_VALUE`].
    pub(crate) second: u64,
    /// H_RPT_INVALIDATE calls the unmap made: 1 where the L0 offers the
    /// call, 0 where it does not.
    pub(crate) invalidations: u64,
}

impl Unmap {
    /// Checks the observations against the payload's design.
    pub(crate) fn verify(&self) -> Result {
        const WHAT: &str = "payload d";
        expect(WHAT, "GPR3 at call 1", self.first, B_VALUE)?;
        expect_exit(
            WHAT,
            "exit after unmap",
            self.after_unmap,
            Exit::DataStorage,
        )?;
        expect(WHAT, "HDAR after unmap", self.hdar, DATA_GRA)?;
        expect(WHAT, "GPR3 at call 2", self.second, D_VALUE)?;
        let want = u64::from(hcall::invalidate::available());
        expect(WHAT, "H_RPT_INVALIDATE calls", self.invalidations, want)
    }
}

/// Payload (d): the L2 loads from a mapped page and reports the value;
/// the L1 unmaps the page (telling the L0 where it must be told) and runs
/// the load again, which now faults; the L1 maps a new page with another
/// value there, and the L2 reports that one.
pub(crate) fn unmap() -> Result<Unmap> {
    const WHAT: &str = "payload d (unmap)";
    let mut g = guest_with_code(&[insn::LD_R3_0_R4, insn::SC_1])?;
    map_data(&mut g, B_VALUE)?;
    let first = vcpu0(&g, |v| {
        v.set(Id::GPRS[4], Value::Be64(DATA_GRA))?;
        run_logged(WHAT, v, HDEC_TICKS)?;
        Ok(reg(v, Id::GPRS[3]))
    })?;
    let before = g.invalidations();
    g.unmap(DATA_GRA)
        .inspect_err(|e| pr_err!("{}: unmapping {:#x}: {:?}\n", WHAT, DATA_GRA, e))?;
    let invalidations = g.invalidations() - before;
    pr_info!(
        "{}: unmapped {:#x} ({} H_RPT_INVALIDATE)\n",
        WHAT,
        DATA_GRA,
        invalidations
    );
    let (after_unmap, hdar) = vcpu0(&g, |v| {
        v.set(Id::NIA, Value::Be64(CODE_GRA))?;
        let after_unmap = run_logged(WHAT, v, HDEC_TICKS)?;
        Ok((after_unmap, reg(v, Id::HDAR)))
    })?;
    if after_unmap == Exit::DataStorage {
        map_data(&mut g, D_VALUE)?;
    }
    let second = vcpu0(&g, |v| {
        run_logged(WHAT, v, HDEC_TICKS)?;
        Ok(reg(v, Id::GPRS[3]))
    })?;
    Ok(Unmap {
        first,
        after_unmap,
        hdar,
        second,
        invalidations,
    })
}

/// What payload (e) showed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EmulationAssist {
    /// The exit: [`Exit::EmulationAssist`].
    pub(crate) exit: Exit,
    /// HEIR: the instruction, [`insn::ILLEGAL`].
    pub(crate) heir: u64,
    /// NIA: its address, [`CODE_GRA`].
    pub(crate) nia: u64,
}

impl EmulationAssist {
    /// Checks the observations against the payload's design.
    pub(crate) fn verify(&self) -> Result {
        const WHAT: &str = "payload e";
        expect_exit(WHAT, "exit", self.exit, Exit::EmulationAssist)?;
        expect(WHAT, "HEIR", self.heir, insn::ILLEGAL.into())?;
        expect(WHAT, "NIA", self.nia, CODE_GRA)
    }
}

/// Payload (e): the L2 runs an illegal instruction; the L1 sees the
/// emulation assistance exit with the instruction in HEIR.
pub(crate) fn emulation_assist() -> Result<EmulationAssist> {
    let g = guest_with_code(&[insn::ILLEGAL])?;
    vcpu0(&g, |v| {
        let exit = run_logged("payload e (emulation assist)", v, HDEC_TICKS)?;
        Ok(EmulationAssist {
            exit,
            heir: reg(v, Id::HEIR),
            nia: reg(v, Id::NIA),
        })
    })
}

/// Runs every payload and checks it; returns how many passed, out of
/// [`COUNT`]. Each guest is deleted at the L0 before the next starts.
/// Stops with `-EINTR` between two payloads when the task has a signal
/// pending.
pub(crate) fn run_all() -> Result<u32> {
    let payloads: [fn() -> Result; 5] = [
        || hypervisor_calls().and_then(|s| s.verify()),
        || data_storage().and_then(|s| s.verify()),
        || {
            hdec_expiry()
                .and_then(|e| expect_exit("payload c", "exit", e, Exit::HypervisorDecrementer))
        },
        || unmap().and_then(|s| s.verify()),
        || emulation_assist().and_then(|s| s.verify()),
    ];
    let mut passed = 0;
    for (name, payload) in NAMES.iter().zip(payloads) {
        check_signal()?;
        match payload() {
            Ok(()) => {
                pr_info!("payload {}: pass\n", name);
                passed += 1;
            }
            Err(e) => pr_err!("payload {}: FAIL ({:?})\n", name, e),
        }
    }
    Ok(passed)
}

/// The payloads' names, in [`run_all`]'s order.
const NAMES: [&str; 5] = [
    "a (hypervisor calls)",
    "b (data storage)",
    "c (HDEC expiry)",
    "d (unmap)",
    "e (emulation assist)",
];

/// How many payloads [`run_all`] runs.
pub(crate) const COUNT: u32 = NAMES.len() as u32;
