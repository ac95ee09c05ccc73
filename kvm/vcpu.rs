// SPDX-License-Identifier: GPL-2.0

//! A vCPU fd: one vCPU of a VM's guest, its `struct kvm_run` page, and
//! `KVM_RUN`.

use super::{
    anon::AnonFile,
    doorbell,
    hcalls::{self, InKernel, Vpa, H_SUCCESS},
    irq::{self, Wake, Woken},
    mmio,
    one_reg::{HeldRegs, Request, Special, Target},
    regs::{
        self,
        msr::{MSR_DR, MSR_EE, MSR_IR, MSR_LE, MSR_SF},
    },
    sregs, state,
    vm::Vm,
};
use crate::gsb::{
    ids::{Scope, LPCR_SETTABLE},
    Id, IdSet, Value,
};
use crate::platform::{check_signal, timebase};
use crate::vcpu::{exit::Exit, SharedVcpu, Vcpu};
use core::mem::{offset_of, size_of, size_of_val, MaybeUninit};
use kernel::{
    bindings, new_mutex,
    page::{Page, PAGE_SIZE},
    prelude::*,
    sync::{Arc, ArcBorrow, Mutex, UniqueArc},
    uaccess::{UserPtr, UserSlice},
    uapi,
};

/// How long one H_GUEST_RUN_VCPU may run the L2 before the HDEC brings it
/// back: 10 ms of the 512 MHz timebase. A pending signal is seen within
/// one slice, even for an L2 in a tight loop.
const HDEC_SLICE_TICKS: u64 = 5_120_000;

/// GPR3-GPR12 as `KVM_EXIT_PAPR_HCALL` has them: `nr` in GPR3, `args` in
/// GPR4 onwards.
const HCALL_ARGS: usize = 9;

/// LPCR[MER]: an external interrupt is pending for the L2 (mediated).
const LPCR_MER: u64 = 0x800;
/// LPCR[GTSE]: the L2 may invalidate its own translations.
pub(super) const LPCR_GTSE: u64 = 0x400;
/// LPCR[AIL], and AIL 3, the only other value than 0 kvm-hv keeps.
const LPCR_AIL: u64 = 0x0180_0000;
const LPCR_AIL_3: u64 = 0x0180_0000;
/// LPCR bits userspace may change (kvm-hv's `kvmppc_set_lpcr()` mask on
/// POWER9 and later: DPFD, ILE, AIL, LD; not TC, which the L0 does not
/// let an L1 set).
const LPCR_USER: u64 = (7 << 52) | 0x0200_0000 | LPCR_AIL | 0x0002_0000;

/// The machine check vector, an exit the VMM takes once it enabled
/// `KVM_CAP_PPC_FWNMI`.
const MACHINE_CHECK: u64 = 0x200;

/// `struct kvm_enable_cap`, as read from userspace.
#[repr(transparent)]
struct EnableCap(uapi::kvm_enable_cap);

// SAFETY: the struct is integers only (`__u32` cap and flags, `__u64`
// args, `__u8` padding): every bit pattern is a valid value.
unsafe impl kernel::transmute::FromBytes for EnableCap {}

/// Reads `struct kvm_enable_cap` at `arg`: the capability, its flags and
/// its arguments.
pub(super) fn read_enable_cap(arg: usize) -> Result<uapi::kvm_enable_cap> {
    let len = size_of::<EnableCap>();
    Ok(UserSlice::new(UserPtr::from_addr(arg), len)
        .reader()
        .read::<EnableCap>()?
        .0)
}

/// What the last exit left for the next `KVM_RUN` to complete.
#[derive(Clone, Copy)]
enum Pending {
    /// Nothing.
    None,
    /// A hypervisor call: `papr_hcall.ret` and `args` go back to
    /// GPR3-GPR12, as KVM does.
    Hcall,
    /// An MMIO access the VMM made: a load takes `mmio.data` into its
    /// target register; either steps past the instruction.
    Mmio(mmio::Access),
}

/// What `KVM_RUN` keeps between two calls, and what KVM keeps of a vCPU
/// that the guest state has no element for.
struct RunState {
    /// The `struct kvm_run` the L1 fills, copied to and from the page.
    run: KBox<uapi::kvm_run>,
    pending: Pending,
    /// LPCR[MER] as last given to the vCPU: the external line then.
    mer: bool,
    /// Registers KVM has and the guest state has not.
    held: HeldRegs,
    /// The segment state `KVM_SET_SREGS` gave, for `KVM_GET_SREGS`.
    sregs: sregs::Segments,
    /// SPRG4-7 as `KVM_SET_REGS` gave them: KVM keeps them for a book3s
    /// vCPU; a POWER9 or later processor has none, so the L2 never sees
    /// them.
    sprg4_7: [u64; 4],
}

/// A vCPU made by `KVM_CREATE_VCPU`. The vCPU itself belongs to the
/// guest (its run buffers must outlive the L0's use of them); the fd holds
/// the VM, so the guest lives at least as long as the fd.
///
/// Locks: `state` is the fd's (KVM's `vcpu->mutex`): every ioctl on the
/// fd takes it but `KVM_INTERRUPT`, so they run one at a time, and a
/// `KVM_GET_REGS` from another thread waits for a `KVM_RUN` to return, as
/// in KVM. The vCPU's own lock is taken inside it, for each
/// H_GUEST_RUN_VCPU or state exchange; the VM's lock is taken under the
/// fd's, never under the vCPU's. `wake` is taken alone. vCPUs of one VM
/// run at the same time.
#[pin_data]
pub(crate) struct VcpuFd {
    /// Keeps the guest, and so the vCPU, alive.
    vm: Arc<Vm>,
    vcpu: SharedVcpu,
    /// The vCPU's id in its guest.
    id: u64,
    /// Its external line and prods, raised by other threads.
    wake: Arc<Wake>,
    /// The VPA areas the L2 (this vCPU or another) or the VMM registered.
    vpa: Arc<Mutex<Vpa>>,
    /// The page userspace maps to read exits and answer them.
    page: Page,
    #[pin]
    state: Mutex<RunState>,
}

/// The memory of a [`VcpuFd`], allocated before the L0 is asked for the
/// vCPU (which it cannot delete again on its own).
pub(super) struct VcpuFdMemory {
    cell: UniqueArc<MaybeUninit<VcpuFd>>,
    page: Page,
    run: KBox<uapi::kvm_run>,
}

impl VcpuFdMemory {
    /// All of it, or `-ENOMEM`.
    pub(super) fn alloc() -> Result<VcpuFdMemory> {
        const _: () = assert!(size_of::<uapi::kvm_run>() <= PAGE_SIZE);
        Ok(VcpuFdMemory {
            cell: UniqueArc::new_uninit(GFP_KERNEL_ACCOUNT)?,
            page: Page::alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO)?,
            run: KBox::new(uapi::kvm_run::default(), GFP_KERNEL_ACCOUNT)?,
        })
    }
}

/// What one H_GUEST_RUN_VCPU ended with, read under the vCPU's lock.
struct Ran {
    exit: Exit,
    /// GPR3-GPR12.
    gprs: [u64; 1 + HCALL_ARGS],
    /// What tells why: HDAR, HEIR or HFSCR; 0 where none.
    why: u64,
    nia: u64,
    /// For a data storage exit: the guest real address (ASDR) and MSR.
    asdr: u64,
    msr: u64,
}

/// A 64-bit register from the L1's copy (a word one widened).
fn reg(v: &Vcpu, id: Id) -> u64 {
    match v.cached(id) {
        Some(Value::Be64(x)) => x,
        Some(Value::Be32(x)) => x.into(),
        _ => 0,
    }
}

/// A 64-bit register, fetched from the L0 where the L1 holds none.
pub(super) fn reg_fetch(v: &mut Vcpu, id: Id) -> Result<u64> {
    match v.get(id)? {
        Value::Be64(x) => Ok(x),
        Value::Be32(x) => Ok(x.into()),
        _ => Err(EPROTO),
    }
}

/// LPCR[ILE]: interrupts are taken little-endian.
const LPCR_ILE: u64 = 0x0200_0000;
/// SRR1 bits an interrupt sets to 0 (33:36 and 42:47); the rest are MSR's.
const SRR1_CLEARED: u64 = 0x783f_0000;
/// The external interrupt's vector, and where AIL 3 moves vectors to.
const EXTERNAL_VECTOR: u64 = 0x500;
/// The directed privileged doorbell interrupt's.
const DOORBELL_VECTOR: u64 = 0xA00;
/// The data storage interrupt's.
const DATA_STORAGE_VECTOR: u64 = 0x300;
const AIL_3_BASE: u64 = 0xc000_0000_0000_4000;

/// Delivers a pending interrupt at `vector` (external, 0x500; directed
/// privileged doorbell, 0xA00) to an L2 that has them enabled (MSR[EE]);
/// whether it was delivered. LPCR[MER] alone would have the L0 do it for
/// the external one, but QEMU's L0 implements no MER; with an L0 that
/// does, an interrupt this delivers first leaves MSR[EE] clear, so MER
/// does nothing more until the L2 enables them again.
fn inject(v: &mut Vcpu, vector: u64) -> Result<bool> {
    let msr = reg_fetch(v, Id::MSR)?;
    if msr & MSR_EE == 0 {
        return Ok(false);
    }
    deliver(v, msr, vector)?;
    Ok(true)
}

/// Delivers the interrupt at `vector` to the L2, whose MSR is `msr`, as
/// the processor would (and kvm-hv's `kvmppc_inject_interrupt_hv()`):
/// SRR0/SRR1 from NIA/MSR, the vector (moved by AIL 3 when the L2 ran
/// relocated), the interrupt MSR.
fn deliver(v: &mut Vcpu, msr: u64, vector: u64) -> Result {
    let nia = reg_fetch(v, Id::NIA)?;
    let lpcr = reg_fetch(v, Id::LPCR)?;
    let relocated = msr & (MSR_IR | MSR_DR) == MSR_IR | MSR_DR;
    let (vector, reloc) = if relocated && lpcr & LPCR_AIL == LPCR_AIL_3 {
        (AIL_3_BASE + vector, MSR_IR | MSR_DR)
    } else {
        (vector, 0)
    };
    let le = if lpcr & LPCR_ILE != 0 { MSR_LE } else { 0 };
    let settable = crate::gsb::ids::MSR_SETTABLE;
    v.set_all(&[
        (Id::SRR0, Value::Be64(nia)),
        (Id::SRR1, Value::Be64(msr & !SRR1_CLEARED & settable)),
        (Id::NIA, Value::Be64(vector)),
        (Id::MSR, Value::Be64((MSR_SF | reloc | le) & settable)),
    ])
}

/// A data storage interrupt for the L2's access at `dar`, with `dsisr`
/// (kvm-hv's `kvmppc_core_queue_data_storage()`).
fn data_storage(v: &mut Vcpu, dar: u64, dsisr: u32) -> Result {
    let msr = reg_fetch(v, Id::MSR)?;
    v.set_all(&[(Id::DAR, Value::Be64(dar)), (Id::DSISR, Value::Be32(dsisr))])?;
    deliver(v, msr, DATA_STORAGE_VECTOR)
}

/// What an in-kernel hypervisor call asks of the run loop.
enum Answer {
    /// GPR3 gets the status, and the L2 goes on.
    Status(u64),
    /// H_CEDE: sleep until there is something to do.
    Cede,
    /// The VMM answers it.
    ToVmm,
}

impl VcpuFd {
    /// The fd's object for vCPU `id` of `vm`, which wakes through `wake`
    /// and keeps its VPA areas in `vpa`, both shared with the VM, in the
    /// memory `mem` was allocated with: nothing can fail once the L0 has
    /// made the vCPU.
    pub(super) fn new(
        mem: VcpuFdMemory,
        vm: Arc<Vm>,
        vcpu: SharedVcpu,
        id: u64,
        wake: Arc<Wake>,
        vpa: Arc<Mutex<Vpa>>,
    ) -> Arc<VcpuFd> {
        let VcpuFdMemory { cell, page, run } = mem;
        let init = pin_init!(VcpuFd {
            vm,
            vcpu,
            id,
            wake,
            vpa,
            page,
            state <- new_mutex!(RunState {
                run,
                pending: Pending::None,
                mer: false,
                held: HeldRegs::default(),
                sregs: sregs::Segments::default(),
                sprg4_7: [0; 4],
            }),
        });
        match cell.write_pin_init(init) {
            Ok(fd) => fd.into(),
            Err(never) => match never {},
        }
    }

    /// `KVM_GET_REGS`: the registers from the L1's copy, the ones it does
    /// not hold fetched from the L0 in one H_GUEST_GET_STATE.
    fn get_regs(&self, arg: usize) -> Result<isize> {
        let st = self.state.lock();
        let mut r = {
            let mut v = self.vcpu.lock();
            v.fetch(&regs::ids())?;
            regs::from_elements(|id| v.cached(id))?
        };
        [r.sprg4, r.sprg5, r.sprg6, r.sprg7] = st.sprg4_7;
        let len = size_of::<regs::Regs>();
        UserSlice::new(UserPtr::from_addr(arg), len)
            .writer()
            .write(&regs::Regs(r))?;
        Ok(0)
    }

    /// `KVM_SET_REGS`: every register or none (a value a word element
    /// cannot take: -EINVAL); the MSR bits userspace may not set (HV, S,
    /// ME: the L0's) are dropped, as kvm-hv masks them, so that what
    /// `KVM_GET_REGS` gave is always taken back. They reach the L0 with
    /// the next run or state exchange.
    fn set_regs(&self, arg: usize) -> Result<isize> {
        let len = size_of::<regs::Regs>();
        let r = UserSlice::new(UserPtr::from_addr(arg), len)
            .reader()
            .read::<regs::Regs>()?
            .0;
        let elements = regs::elements(&r)?;
        let mut st = self.state.lock();
        self.vcpu.lock().set_all(&elements)?;
        st.sprg4_7 = [r.sprg4, r.sprg5, r.sprg6, r.sprg7];
        Ok(0)
    }

    /// `KVM_GET_SREGS` and `KVM_SET_SREGS` (see [`sregs`]).
    fn sregs(&self, cmd: u32, arg: usize) -> Result<isize> {
        let mut st = self.state.lock();
        if cmd == uapi::KVM_GET_SREGS {
            sregs::get(&st.sregs, arg)
        } else {
            sregs::set(&mut st.sregs, arg)
        }
    }

    /// LPCR with the bits of `mask` taken from `value`, the rest kept, as
    /// `kvmppc_set_lpcr()`: AIL other than 0 or 3 becomes 0; only the bits
    /// the L1 may set go to the L0 (which keeps its own).
    fn set_lpcr(v: &mut Vcpu, value: u64, mask: u64) -> Result {
        let old = reg_fetch(v, Id::LPCR)?;
        let mut new = (old & !mask) | (value & mask);
        if new & LPCR_AIL != LPCR_AIL_3 {
            new &= !LPCR_AIL;
        }
        v.set(Id::LPCR, Value::Be64(new & LPCR_SETTABLE))
    }

    /// `KVM_GET_ONE_REG`: a per-vCPU register (see [`super::one_reg`]),
    /// from the L1's copy or, where it holds none, from the L0.
    fn get_one_reg(&self, arg: usize) -> Result<isize> {
        let req = Request::read(arg, Scope::Thread)?;
        let st = self.state.lock();
        match req.target {
            Target::Element(id) => {
                let v = self.vcpu.lock().get(id)?;
                req.put(v)
            }
            Target::Held(h) => req.get_held(&st.held, h),
            Target::Special(s) => match s {
                Special::Lpcr32 | Special::Lpcr64 => {
                    let lpcr = reg_fetch(&mut self.vcpu.lock(), Id::LPCR)?;
                    let lpcr = if s == Special::Lpcr32 {
                        lpcr & 0xffff_ffff
                    } else {
                        lpcr
                    };
                    req.put_u64(lpcr)
                }
                Special::TbOffset => req.put(self.vm.get_wide(Id::TB_OFFSET)?),
                Special::ArchCompat => req.put_u64(self.vm.arch_compat().into()),
                Special::VpaAddr => req.put_u64(self.vpa.lock().vpa),
                Special::VpaSlb => {
                    let (a, l) = self.vpa.lock().slb;
                    req.put_pair(a, l)
                }
                Special::VpaDtl => {
                    let (a, l) = self.vpa.lock().dtl;
                    req.put_pair(a, l)
                }
                Special::Hior => req.put_u64(0),
                Special::DebugInst => req.debug_inst(),
            },
        }
    }

    /// `KVM_SET_ONE_REG`: a per-vCPU register, in the L1's copy; it
    /// reaches the L0 with the next run or state exchange. A value with
    /// bits the L1 may not set is `-EINVAL`.
    fn set_one_reg(&self, arg: usize) -> Result<isize> {
        let req = Request::read(arg, Scope::Thread)?;
        let mut st = self.state.lock();
        match req.target {
            Target::Element(id) => {
                let v = req.take()?;
                self.vcpu.lock().set(id, v)?;
            }
            Target::Held(h) => {
                req.set_held(&mut st.held, h)?;
            }
            Target::Special(s) => match s {
                Special::Lpcr32 => {
                    let v = req.take_u64()?;
                    Self::set_lpcr(&mut self.vcpu.lock(), v, LPCR_USER & 0xffff_ffff)?;
                }
                Special::Lpcr64 => {
                    let v = req.take_u64()?;
                    Self::set_lpcr(&mut self.vcpu.lock(), v, LPCR_USER)?;
                }
                Special::TbOffset => {
                    // kvm-hv rounds up to a multiple of 2^24 on POWER9 and
                    // later, where the timebase's low 24 bits cannot be
                    // offset.
                    let v = req.take_u64()?;
                    let rounded = v.checked_next_multiple_of(1 << 24).ok_or(EINVAL)?;
                    self.vm.set_wide(Id::TB_OFFSET, Value::Be64(rounded))?;
                }
                Special::ArchCompat => {
                    let v = u32::try_from(req.take_u64()?).map_err(|_| EINVAL)?;
                    self.vm.set_arch_compat(v)?;
                }
                Special::VpaAddr => self.vpa.lock().set_vpa(req.take_u64()?)?,
                Special::VpaSlb => {
                    let (a, l) = req.take_pair()?;
                    self.vpa.lock().set_slb(a, l)?;
                }
                Special::VpaDtl => {
                    let (a, l) = req.take_pair()?;
                    self.vpa.lock().set_dtl(a, l)?;
                }
                Special::Hior => {
                    if req.take_u64()? != 0 {
                        return Err(EINVAL);
                    }
                }
                Special::DebugInst => return Err(EINVAL),
            },
        }
        Ok(0)
    }

    /// Copies what `KVM_RUN` reads of the page's `struct kvm_run` into
    /// `run`: `immediate_exit` and, after an exit userspace answers, the
    /// exit union (the answer). Not the whole struct: on every exit it
    /// would be 2 KiB each way.
    fn load(&self, run: &mut uapi::kvm_run, answered: bool) -> Result {
        self.copy_in(run, offset_of!(uapi::kvm_run, immediate_exit__unsafe), 1)?;
        if answered {
            let union_len = size_of_val(&run.__bindgen_anon_1);
            self.copy_in(run, offset_of!(uapi::kvm_run, __bindgen_anon_1), union_len)?;
        }
        Ok(())
    }

    /// Copies what `KVM_RUN` writes of `run` into the page, for userspace
    /// to read: the exit reason, the flags and the exit union.
    fn store(&self, run: &uapi::kvm_run) -> Result {
        self.copy_out(
            run,
            offset_of!(uapi::kvm_run, exit_reason),
            size_of::<u32>(),
        )?;
        self.copy_out(run, offset_of!(uapi::kvm_run, flags), size_of::<u16>())?;
        let union_len = size_of_val(&run.__bindgen_anon_1);
        self.copy_out(run, offset_of!(uapi::kvm_run, __bindgen_anon_1), union_len)
    }

    /// Copies bytes `at..at + len` of the page's `struct kvm_run` into the
    /// same bytes of `run`.
    fn copy_in(&self, run: &mut uapi::kvm_run, at: usize, len: usize) -> Result {
        if at + len > size_of::<uapi::kvm_run>() {
            return Err(EINVAL);
        }
        // SAFETY: `at + len` is within `run` (checked above), so `dst` is
        // `len` writable bytes of it; every field is plain integers, so any
        // bytes are values. The page holds the whole struct (asserted in
        // `new`).
        unsafe {
            let dst = core::ptr::from_mut(run).cast::<u8>().add(at);
            self.page.read_raw(dst, at, len)
        }
    }

    /// Copies bytes `at..at + len` of `run` into the page.
    fn copy_out(&self, run: &uapi::kvm_run, at: usize, len: usize) -> Result {
        if at + len > size_of::<uapi::kvm_run>() {
            return Err(EINVAL);
        }
        // SAFETY: as in `copy_in`, the other way; `src` is `len` readable
        // bytes of `run`.
        unsafe {
            let src = core::ptr::from_ref(run).cast::<u8>().add(at);
            self.page.write_raw(src, at, len)
        }
    }

    /// Adds one to the yield count of the vCPU's VPA, if it has one: odd
    /// while the vCPU is out of `KVM_RUN` or ceded, even while it runs, as
    /// a hypervisor keeps it. A VPA outside the L2's memory is left alone.
    fn bump_yield_count(&self) {
        let vpa = self.vpa.lock().vpa;
        if vpa == 0 {
            return;
        }
        let at = vpa + hcalls::YIELD_COUNT_OFFSET;
        let mut b = [0u8; 4];
        if self.vm.read_guest(at, &mut b).is_ok() {
            let n = u32::from_be_bytes(b).wrapping_add(1);
            // The L2 may have moved it meanwhile; a failure leaves it.
            let _ = self.vm.write_guest(at, &n.to_be_bytes());
        }
    }

    /// Answers hypervisor call `gprs` in the kernel where it is one of
    /// [`InKernel`] and enabled for the VM.
    fn answer(&self, gprs: &[u64; 1 + HCALL_ARGS]) -> Result<Answer> {
        let Some(call) = InKernel::from_opcode(gprs[0]) else {
            return Ok(Answer::ToVmm);
        };
        // H_CEDE is always answered here, as on kvm-hv's POWER9 path: a
        // VMM under KVM cannot wake a ceded vCPU.
        if call != InKernel::Cede && !self.vm.hcalls().has(call) {
            return Ok(Answer::ToVmm);
        }
        let param = hcalls::status(bindings::H_PARAMETER);
        let a = &gprs[1..];
        Ok(match call {
            InKernel::Cede => Answer::Cede,
            InKernel::Prod => Answer::Status(match self.vm.wake_of(a[0]) {
                Some(w) => {
                    w.prod();
                    H_SUCCESS
                }
                None => param,
            }),
            InKernel::Confer => {
                // -1: any vCPU; otherwise one of the guest's. Either way
                // the L1 gives its CPU away once.
                if a[0] != u64::MAX && self.vm.wake_of(a[0]).is_none() {
                    Answer::Status(param)
                } else {
                    crate::platform::yield_cpu();
                    Answer::Status(H_SUCCESS)
                }
            }
            InKernel::RegisterVpa => {
                let func =
                    (a[0] >> bindings::H_VPA_FUNC_SHIFT) & u64::from(bindings::H_VPA_FUNC_MASK);
                let (target, addr) = (a[1], a[2]);
                // Any vCPU of the guest may register another's areas.
                let Some(vpa) = self.vm.vpa_of(target) else {
                    return Ok(Answer::Status(param));
                };
                let len_of = |short: bool| {
                    let mut b = [0u8; 4];
                    self.vm.read_guest(addr.checked_add(4)?, &mut b).ok()?;
                    Some(if short {
                        u16::from_be_bytes([b[0], b[1]]).into()
                    } else {
                        u32::from_be_bytes(b).into()
                    })
                };
                let rc = vpa.lock().register(func, addr, len_of);
                Answer::Status(rc)
            }
            InKernel::SetMode => match hcalls::set_mode(a[0], a[1], a[2], a[3], self.vm.dawr1()) {
                Some((rc, regs)) => {
                    if rc == H_SUCCESS {
                        self.vcpu.lock().set_all(&regs)?;
                    }
                    Answer::Status(rc)
                }
                None => Answer::ToVmm,
            },
        })
    }

    /// H_CEDE: the L2 gets H_SUCCESS and MSR[EE], and the thread sleeps
    /// until the L2's decrementer expires, its external line is raised,
    /// it is prodded, or a signal (then `Err(EINTR)`: the L2 resumes after
    /// its cede at the next `KVM_RUN`, as after an early wake-up, which
    /// H_CEDE allows).
    fn cede(&self) -> Result {
        let dec = {
            let mut v = self.vcpu.lock();
            let msr = reg_fetch(&mut v, Id::MSR)?;
            v.set_all(&[
                (Id::GPRS[3], Value::Be64(H_SUCCESS)),
                (
                    Id::MSR,
                    Value::Be64((msr | MSR_EE) & crate::gsb::ids::MSR_SETTABLE),
                ),
            ])?;
            irq::dec_expiry(reg_fetch(&mut v, Id::DEC_EXPIRY_TB)?, timebase())
        };
        self.bump_yield_count();
        let woken = self.wake.cede(dec);
        self.bump_yield_count();
        match woken {
            Woken::Resume => Ok(()),
            Woken::Signal => Err(EINTR),
        }
    }

    /// Runs the vCPU once, under its lock: the external line as LPCR[MER],
    /// the HDEC slice, then what the exit left in the L1's copy.
    fn run_once(&self, st: &mut RunState) -> Result<Ran> {
        let mut v = self.vcpu.lock();
        let external = self.wake.external();
        if external != st.mer {
            let lpcr = reg_fetch(&mut v, Id::LPCR)?;
            let lpcr = if external {
                lpcr | LPCR_MER
            } else {
                lpcr & !LPCR_MER
            };
            v.set(Id::LPCR, Value::Be64(lpcr & LPCR_SETTABLE))?;
            st.mer = external;
        }
        if external {
            inject(&mut v, EXTERNAL_VECTOR)?;
        } else if self.wake.doorbell() && inject(&mut v, DOORBELL_VECTOR)? {
            // Taking the interrupt clears the thread's DPDES bit.
            self.wake.clear_doorbell();
        }
        v.set(
            Id::HDEC_EXPIRY_TB,
            Value::Be64(timebase() + HDEC_SLICE_TICKS),
        )?;
        let exit = v.run()?;
        let mut gprs = [0u64; 1 + HCALL_ARGS];
        for (i, g) in gprs.iter_mut().enumerate() {
            *g = reg(&v, Id::GPRS[3 + i]);
        }
        let why = match exit {
            Exit::DataStorage | Exit::InstructionStorage => reg(&v, Id::HDAR),
            Exit::EmulationAssist => reg(&v, Id::HEIR),
            Exit::FacilityUnavailable => reg(&v, Id::HFSCR),
            _ => 0,
        };
        let (asdr, msr) = match exit {
            Exit::DataStorage => (reg(&v, Id::ASDR), reg(&v, Id::MSR)),
            _ => (0, 0),
        };
        Ok(Ran {
            exit,
            gprs,
            why,
            nia: reg(&v, Id::NIA),
            asdr,
            msr,
        })
    }

    /// `KVM_RUN`: runs the vCPU until an exit for userspace (below), a
    /// pending signal (`-EINTR`, `KVM_EXIT_INTR`: within one HDEC slice) or
    /// `immediate_exit` (the same, without running).
    ///
    /// - `sc 1` in the L2: the calls of [`InKernel`] the VM answers in the
    ///   kernel are answered here and the run goes on; every other one is
    ///   `KVM_EXIT_PAPR_HCALL` with `nr` and `args`, as KVM fills it;
    ///   `ret` and `args` go back to GPR3-GPR12 on the next `KVM_RUN`.
    /// - HDEC expiry and interrupts for the L1 (external, hypervisor
    ///   virtualization): handled here, the run goes on.
    /// - msgsndp, msgclrp, mfspr DPDES/TIR (a facility unavailable for
    ///   MSGP): emulated here ([`doorbell`]), the run goes on.
    /// - any other exit (an access outside every slot, an emulation
    ///   assist, a facility unavailable, ...): `KVM_EXIT_INTERNAL_ERROR`,
    ///   suberror `KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON`, with
    ///   `data[0]` the vector, `data[1]` what tells why (HDAR, HEIR or
    ///   HFSCR; 0 where none) and `data[2]` the NIA.
    fn run(&self) -> Result<isize> {
        let mut st = self.state.lock();
        let st = &mut *st;
        let answered = !matches!(st.pending, Pending::None);
        self.load(&mut st.run, answered)?;
        if let Pending::Hcall = st.pending {
            // SAFETY: `papr_hcall` is plain integers: any bytes are a value.
            let h = unsafe { st.run.__bindgen_anon_1.papr_hcall };
            // GPR3 = ret, GPR4.. = args: on the stack, nothing allocated
            // per exit.
            let back: [(Id, Value); 1 + HCALL_ARGS] = core::array::from_fn(|i| {
                let v = if i == 0 { h.ret } else { h.args[i - 1] };
                (Id::GPRS[3 + i], Value::Be64(v))
            });
            self.vcpu.lock().set_all(&back)?;
        }
        if let Pending::Mmio(access) = st.pending {
            // SAFETY: `mmio` is plain integers: any bytes are a value.
            let data = unsafe { st.run.__bindgen_anon_1.mmio.data };
            mmio::complete(&mut self.vcpu.lock(), &access, &data)?;
        }
        st.pending = Pending::None;
        st.run.flags = 0;
        if st.run.immediate_exit__unsafe != 0 {
            st.run.exit_reason = uapi::KVM_EXIT_INTR;
            self.store(&st.run)?;
            return Err(EINTR);
        }
        self.bump_yield_count();
        self.wake.enter();
        let res = self.run_loop(st);
        self.wake.leave();
        self.bump_yield_count();
        res
    }

    /// The loop of [`VcpuFd::run`], once the last exit is completed.
    fn run_loop(&self, st: &mut RunState) -> Result<isize> {
        loop {
            if let Err(e) = check_signal() {
                st.run.exit_reason = uapi::KVM_EXIT_INTR;
                self.store(&st.run)?;
                return Err(e);
            }
            let ran = self.run_once(st)?;
            if ran.exit == Exit::FacilityUnavailable
                && ran.why >> 56 == doorbell::HFSCR_IC_MSGP
                && doorbell::emulate(&self.vm, &self.vcpu, self.id, &self.wake)?
            {
                continue;
            }
            match ran.exit {
                Exit::HypervisorDecrementer => continue,
                e if e.for_the_host() => continue,
                Exit::HypervisorCall => match self.answer(&ran.gprs)? {
                    Answer::Status(rc) => {
                        self.vcpu.lock().set(Id::GPRS[3], Value::Be64(rc))?;
                        continue;
                    }
                    Answer::Cede => {
                        if let Err(e) = self.cede() {
                            st.run.exit_reason = uapi::KVM_EXIT_INTR;
                            self.store(&st.run)?;
                            return Err(e);
                        }
                        continue;
                    }
                    Answer::ToVmm => {
                        st.run.exit_reason = uapi::KVM_EXIT_PAPR_HCALL;
                        // SAFETY: writing plain integers into the union's
                        // `papr_hcall` member.
                        let h = unsafe { &mut st.run.__bindgen_anon_1.papr_hcall };
                        h.nr = ran.gprs[0];
                        h.ret = 0;
                        h.args.copy_from_slice(&ran.gprs[1..]);
                        st.pending = Pending::Hcall;
                    }
                },
                Exit::DataStorage => {
                    let fault = mmio::Fault {
                        hdar: ran.why,
                        asdr: ran.asdr,
                        nia: ran.nia,
                        msr: ran.msr,
                    };
                    match mmio::emulate(&self.vm, &self.vcpu, &fault)? {
                        mmio::Outcome::Done => continue,
                        mmio::Outcome::Exit(access, m) => {
                            st.run.exit_reason = uapi::KVM_EXIT_MMIO;
                            st.run.__bindgen_anon_1.mmio = m;
                            st.pending = Pending::Mmio(access);
                        }
                        mmio::Outcome::BadAccess(dsisr) => {
                            data_storage(&mut self.vcpu.lock(), fault.hdar, dsisr)?;
                            continue;
                        }
                        mmio::Outcome::Fail(data) => {
                            st.run.exit_reason = uapi::KVM_EXIT_INTERNAL_ERROR;
                            // SAFETY: writing plain integers into the
                            // union's `internal` member.
                            let e = unsafe { &mut st.run.__bindgen_anon_1.internal };
                            e.suberror = uapi::KVM_INTERNAL_ERROR_EMULATION;
                            e.ndata = data.len() as u32;
                            e.data[..data.len()].copy_from_slice(&data);
                        }
                    }
                }
                other if other.vector() == MACHINE_CHECK && self.vm.fwnmi() => {
                    // With FWNMI the VMM delivers it (as kvm-hv exits).
                    st.run.exit_reason = uapi::KVM_EXIT_NMI;
                    st.run.flags = uapi::KVM_RUN_PPC_NMI_DISP_NOT_RECOV as u16;
                }
                other => {
                    st.run.exit_reason = uapi::KVM_EXIT_INTERNAL_ERROR;
                    // SAFETY: writing plain integers into the union's
                    // `internal` member.
                    let e = unsafe { &mut st.run.__bindgen_anon_1.internal };
                    e.suberror = uapi::KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
                    e.ndata = 3;
                    e.data[..3].copy_from_slice(&[other.vector(), ran.why, ran.nia]);
                }
            }
            self.store(&st.run)?;
            return Ok(0);
        }
    }

    /// `KVM_ENABLE_CAP` on a vCPU: `KVM_CAP_PPC_PAPR` (every vCPU here is
    /// a PAPR guest: accepted, nothing changes) and `KVM_CAP_PPC_FWNMI`
    /// (machine checks for the VMM, for the whole VM, as kvm-hv takes it on
    /// a vCPU fd), no flags or arguments; anything else is `-EINVAL`.
    fn enable_cap(&self, arg: usize) -> Result<isize> {
        let c = read_enable_cap(arg)?;
        if c.flags != 0 {
            return Err(EINVAL);
        }
        match c.cap {
            uapi::KVM_CAP_PPC_PAPR => Ok(0),
            uapi::KVM_CAP_PPC_FWNMI => {
                self.vm.enable_fwnmi();
                Ok(0)
            }
            _ => Err(EINVAL),
        }
    }
}

impl AnonFile for VcpuFd {
    const NAME: &'static CStr = c"papr-nested-vcpu";
    const HAS_MMAP: bool = true;

    fn ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            uapi::KVM_GET_REGS => this.get_regs(arg),
            uapi::KVM_SET_REGS => this.set_regs(arg),
            uapi::KVM_GET_SREGS | uapi::KVM_SET_SREGS => this.sregs(cmd, arg),
            uapi::KVM_RUN => this.run(),
            uapi::KVM_INTERRUPT => irq::interrupt(&this.wake, arg),
            uapi::KVM_ENABLE_CAP => this.enable_cap(arg),
            uapi::KVM_GET_ONE_REG => this.get_one_reg(arg),
            uapi::KVM_SET_ONE_REG => this.set_one_reg(arg),
            state::GET_STATE | state::SET_STATE | state::SNAPSHOT | state::RESTORE => {
                state::ioctl(&*this, cmd, arg)
            }
            // As KVM's vCPU fd on powerpc (`kvm_arch_vcpu_ioctl()`).
            _ => Err(EINVAL),
        }
    }

    /// The `struct kvm_run` page: one page at offset 0
    /// (`KVM_GET_VCPU_MMAP_SIZE`), mapped and faulted in by `anon`.
    fn mmap_page(this: &Self, pgoff: usize) -> Option<&Page> {
        (pgoff == 0).then_some(&this.page)
    }
}

/// Our state ioctls on the vCPU fd: its per-vCPU elements, under the
/// fd's lock as its other ioctls.
impl state::Target for VcpuFd {
    const SCOPE: Scope = Scope::Thread;

    fn fetch(&self, ids: &IdSet, out: &mut dyn FnMut(Id, Value)) -> Result {
        let _fd = self.state.lock();
        let mut v = self.vcpu.lock();
        v.fetch(ids)?;
        for id in ids.iter() {
            out(id, v.cached(id).ok_or(EPROTO)?);
        }
        Ok(())
    }

    fn apply(&self, elements: &[(Id, Value)], now: bool) -> Result {
        let _fd = self.state.lock();
        let mut v = self.vcpu.lock();
        v.set_all(elements)?;
        if now {
            v.flush()?;
        }
        Ok(())
    }

    fn mode(&self) -> u64 {
        self.vm.mode()
    }
}

/// `KVM_GET_VCPU_MMAP_SIZE`: the size of the `kvm_run` mapping.
pub(super) const MMAP_SIZE: usize = PAGE_SIZE;

// The mapping is of a struct page, whose owner frees it only once the last
// mapping of it is gone (vm_insert_page takes a reference).
const _: () = assert!(bindings::PAGE_SIZE == PAGE_SIZE);
