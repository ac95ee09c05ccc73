// SPDX-License-Identifier: GPL-2.0

//! A vCPU fd: one vCPU of a VM's guest, its `struct kvm_run` page, and
//! `KVM_RUN`.

use super::{anon::AnonFile, one_reg::Request, regs, state, vm::Vm};
use crate::gsb::{ids::Scope, Id, IdSet, Value};
use crate::platform::{check_signal, timebase};
use crate::vcpu::{exit::Exit, SharedVcpu};
use core::mem::{offset_of, size_of, size_of_val};
use kernel::{
    bindings,
    mm::virt::VmaNew,
    new_mutex,
    page::{Page, PAGE_SIZE},
    prelude::*,
    sync::{Arc, ArcBorrow, Mutex},
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

/// `H_SUCCESS`, as the L2 reads it in GPR3.
const H_SUCCESS: u64 = bindings::H_SUCCESS as u64;

/// Whether the hypervisor call in `gprs` (GPR3 the call, GPR4 on its
/// arguments) is one the kernel answers without the VMM: H_CONFER with
/// target -1 ("any other vCPU"), which KVM answers in the kernel too and
/// which has nothing for a VMM to do. Every other call goes to the VMM.
fn in_kernel(gprs: &[u64; 1 + HCALL_ARGS]) -> bool {
    gprs[0] == u64::from(bindings::H_CONFER) && gprs[1] == u64::MAX
}

/// `struct kvm_enable_cap`, as read from userspace.
#[repr(transparent)]
struct EnableCap(uapi::kvm_enable_cap);

// SAFETY: the struct is integers only (`__u32` cap and flags, `__u64`
// args, `__u8` padding): every bit pattern is a valid value.
unsafe impl kernel::transmute::FromBytes for EnableCap {}

/// What `KVM_RUN` keeps between two calls.
struct RunState {
    /// The `struct kvm_run` the L1 fills, copied to and from the page.
    run: KBox<uapi::kvm_run>,
    /// The last exit was a hypervisor call: the next `KVM_RUN` takes
    /// `papr_hcall.ret` and `args` back into GPR3-GPR12, as KVM does.
    hcall_pending: bool,
}

/// A vCPU made by `KVM_CREATE_VCPU`. The vCPU itself belongs to the
/// guest (its run buffers must outlive the L0's use of them); the fd holds
/// the VM, so the guest lives at least as long as the fd.
///
/// Locks: `state` is the fd's (KVM's `vcpu->mutex`): every ioctl on the
/// fd takes it, so they run one at a time, and a `KVM_GET_REGS` from
/// another thread waits for a `KVM_RUN` to return, as in KVM. The vCPU's
/// own lock is taken inside it, for each H_GUEST_RUN_VCPU or state
/// exchange; the VM's lock is never taken under either. vCPUs of one VM
/// run at the same time.
#[pin_data]
pub(crate) struct VcpuFd {
    /// Keeps the guest, and so the vCPU, alive.
    vm: Arc<Vm>,
    vcpu: SharedVcpu,
    /// The page userspace maps to read exits and answer them.
    page: Page,
    #[pin]
    state: Mutex<RunState>,
}

impl VcpuFd {
    /// The fd's object for `vcpu`, of `vm`.
    pub(super) fn new(vm: Arc<Vm>, vcpu: SharedVcpu) -> Result<Arc<VcpuFd>> {
        const _: () = assert!(size_of::<uapi::kvm_run>() <= PAGE_SIZE);
        let page = Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?;
        let run = KBox::new(uapi::kvm_run::default(), GFP_KERNEL)?;
        Arc::pin_init(
            pin_init!(VcpuFd {
                vm,
                vcpu,
                page,
                state <- new_mutex!(RunState {
                    run,
                    hcall_pending: false,
                }),
            }),
            GFP_KERNEL,
        )
    }

    /// `KVM_GET_REGS`: the registers from the L1's copy, the ones it does
    /// not hold fetched from the L0 in one H_GUEST_GET_STATE.
    fn get_regs(&self, arg: usize) -> Result<isize> {
        let _fd = self.state.lock();
        let r = {
            let mut v = self.vcpu.lock();
            v.fetch(&regs::ids())?;
            regs::from_elements(|id| v.cached(id))?
        };
        let len = size_of::<regs::Regs>();
        UserSlice::new(UserPtr::from_addr(arg), len)
            .writer()
            .write(&regs::Regs(r))?;
        Ok(0)
    }

    /// `KVM_SET_REGS`: every register or none (a value the element cannot
    /// take, an MSR with bits the L1 may not set, SPRG4-7 not 0: -EINVAL);
    /// they reach the L0 with the next run or state exchange.
    fn set_regs(&self, arg: usize) -> Result<isize> {
        let len = size_of::<regs::Regs>();
        let r = UserSlice::new(UserPtr::from_addr(arg), len)
            .reader()
            .read::<regs::Regs>()?
            .0;
        let elements = regs::elements(&r)?;
        let _fd = self.state.lock();
        self.vcpu.lock().set_all(&elements)?;
        Ok(0)
    }

    /// `KVM_GET_ONE_REG`: a per-vCPU register (see [`super::one_reg`]),
    /// from the L1's copy or, where it holds none, from the L0.
    fn get_one_reg(&self, arg: usize) -> Result<isize> {
        let req = Request::read(arg, Scope::Thread)?;
        let v = {
            let _fd = self.state.lock();
            let mut vcpu = self.vcpu.lock();
            vcpu.get(req.id)?
        };
        req.put(v)
    }

    /// `KVM_SET_ONE_REG`: a per-vCPU register, in the L1's copy; it
    /// reaches the L0 with the next run or state exchange. A value with
    /// bits the L1 may not set is `-EINVAL`.
    fn set_one_reg(&self, arg: usize) -> Result<isize> {
        let req = Request::read(arg, Scope::Thread)?;
        let v = req.take()?;
        let _fd = self.state.lock();
        self.vcpu.lock().set(req.id, v)?;
        Ok(0)
    }

    /// Copies what `KVM_RUN` reads of the page's `struct kvm_run` into
    /// `run`: `immediate_exit` and, after a hypervisor call, the exit
    /// union (the answer). Not the whole struct: on every exit it would be
    /// 2 KiB each way.
    fn load(&self, run: &mut uapi::kvm_run, hcall_pending: bool) -> Result {
        self.copy_in(run, offset_of!(uapi::kvm_run, immediate_exit__unsafe), 1)?;
        if hcall_pending {
            let union_len = size_of_val(&run.__bindgen_anon_1);
            self.copy_in(run, offset_of!(uapi::kvm_run, __bindgen_anon_1), union_len)?;
        }
        Ok(())
    }

    /// Copies what `KVM_RUN` writes of `run` into the page, for userspace
    /// to read: the exit reason and the exit union.
    fn store(&self, run: &uapi::kvm_run) -> Result {
        self.copy_out(
            run,
            offset_of!(uapi::kvm_run, exit_reason),
            size_of::<u32>(),
        )?;
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

    /// `KVM_RUN`: runs the vCPU until an exit for userspace (below), a
    /// pending signal (`-EINTR`, `KVM_EXIT_INTR`: within one HDEC slice) or
    /// `immediate_exit` (the same, without running).
    ///
    /// - `sc 1` in the L2: `KVM_EXIT_PAPR_HCALL` with `nr` and `args`, as
    ///   KVM fills it; `ret` and `args` go back to GPR3-GPR12 on the next
    ///   `KVM_RUN`. H_CONFER(-1) is answered here (`in_kernel`).
    /// - HDEC expiry and interrupts for the L1 (external, hypervisor
    ///   virtualization): handled here, the run goes on.
    /// - any other exit (an access outside every slot, an emulation
    ///   assist, a facility unavailable, ...): `KVM_EXIT_INTERNAL_ERROR`,
    ///   suberror `KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON`, with
    ///   `data[0]` the vector, `data[1]` what tells why (HDAR, HEIR or
    ///   HFSCR; 0 where none) and `data[2]` the NIA.
    fn run(&self) -> Result<isize> {
        let mut st = self.state.lock();
        let st = &mut *st;
        self.load(&mut st.run, st.hcall_pending)?;
        if st.hcall_pending {
            // SAFETY: `papr_hcall` is plain integers: any bytes are a value.
            let h = unsafe { st.run.__bindgen_anon_1.papr_hcall };
            // GPR3 = ret, GPR4.. = args: on the stack, nothing allocated
            // per exit.
            let back: [(Id, Value); 1 + HCALL_ARGS] = core::array::from_fn(|i| {
                let v = if i == 0 { h.ret } else { h.args[i - 1] };
                (Id::GPRS[3 + i], Value::Be64(v))
            });
            self.vcpu.lock().set_all(&back)?;
            st.hcall_pending = false;
        }
        if st.run.immediate_exit__unsafe != 0 {
            st.run.exit_reason = uapi::KVM_EXIT_INTR;
            self.store(&st.run)?;
            return Err(EINTR);
        }
        loop {
            if let Err(e) = check_signal() {
                st.run.exit_reason = uapi::KVM_EXIT_INTR;
                self.store(&st.run)?;
                return Err(e);
            }
            let (exit, regs) = {
                // The vCPU's lock only, for this one run: a slot change
                // waits for it (see `Guest::wait_for_runs`).
                let mut v = self.vcpu.lock();
                v.set(
                    Id::HDEC_EXPIRY_TB,
                    Value::Be64(timebase() + HDEC_SLICE_TICKS),
                )?;
                let exit = v.run()?;
                let reg = |id: Id| match v.cached(id) {
                    Some(Value::Be64(x)) => x,
                    Some(Value::Be32(x)) => x.into(),
                    _ => 0,
                };
                let mut gprs = [0u64; 1 + HCALL_ARGS];
                for (i, g) in gprs.iter_mut().enumerate() {
                    *g = reg(Id::GPRS[3 + i]);
                }
                let why = match exit {
                    Exit::DataStorage | Exit::InstructionStorage => reg(Id::HDAR),
                    Exit::EmulationAssist => reg(Id::HEIR),
                    Exit::FacilityUnavailable => reg(Id::HFSCR),
                    _ => 0,
                };
                if exit == Exit::HypervisorCall && in_kernel(&gprs) {
                    // Answered here: H_SUCCESS in GPR3, and the run goes
                    // on, as KVM does.
                    v.set(Id::GPRS[3], Value::Be64(H_SUCCESS))?;
                    continue;
                }
                (exit, (gprs, why, reg(Id::NIA)))
            };
            match exit {
                Exit::HypervisorDecrementer => continue,
                e if e.for_the_host() => continue,
                Exit::HypervisorCall => {
                    let (gprs, _, _) = regs;
                    st.run.exit_reason = uapi::KVM_EXIT_PAPR_HCALL;
                    // SAFETY: writing plain integers into the union's
                    // `papr_hcall` member.
                    let h = unsafe { &mut st.run.__bindgen_anon_1.papr_hcall };
                    h.nr = gprs[0];
                    h.ret = 0;
                    h.args.copy_from_slice(&gprs[1..]);
                    st.hcall_pending = true;
                }
                other => {
                    let (_, why, nia) = regs;
                    st.run.exit_reason = uapi::KVM_EXIT_INTERNAL_ERROR;
                    // SAFETY: writing plain integers into the union's
                    // `internal` member.
                    let e = unsafe { &mut st.run.__bindgen_anon_1.internal };
                    e.suberror = uapi::KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
                    e.ndata = 3;
                    e.data[..3].copy_from_slice(&[other.vector(), why, nia]);
                }
            }
            self.store(&st.run)?;
            return Ok(0);
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
            uapi::KVM_RUN => this.run(),
            uapi::KVM_ENABLE_CAP => enable_cap(arg),
            uapi::KVM_GET_ONE_REG => this.get_one_reg(arg),
            uapi::KVM_SET_ONE_REG => this.set_one_reg(arg),
            state::GET_STATE | state::SET_STATE | state::SNAPSHOT | state::RESTORE => {
                state::ioctl(&*this, cmd, arg)
            }
            _ => Err(ENOTTY),
        }
    }

    /// The `struct kvm_run` page: one page at offset 0
    /// (`KVM_GET_VCPU_MMAP_SIZE`).
    fn mmap(this: ArcBorrow<'_, Self>, vma: &VmaNew) -> Result {
        // SAFETY: the VMA is being set up for this call; reading its page
        // offset races with nothing.
        let pgoff = unsafe { (*vma.as_ptr()).vm_pgoff };
        if pgoff != 0 || vma.end() - vma.start() > PAGE_SIZE {
            return Err(EINVAL);
        }
        vma.set_dontexpand();
        vma.set_mixedmap().vm_insert_page(vma.start(), &this.page)
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

/// `KVM_ENABLE_CAP` on a vCPU: `KVM_CAP_PPC_PAPR` with no flags is
/// accepted and changes nothing (every vCPU here is a PAPR guest, whose
/// hypervisor calls go to userspace); anything else is `-EINVAL`.
fn enable_cap(arg: usize) -> Result<isize> {
    let len = size_of::<EnableCap>();
    let c = UserSlice::new(UserPtr::from_addr(arg), len)
        .reader()
        .read::<EnableCap>()?
        .0;
    if c.cap == uapi::KVM_CAP_PPC_PAPR && c.flags == 0 {
        return Ok(0);
    }
    Err(EINVAL)
}

/// `KVM_GET_VCPU_MMAP_SIZE`: the size of the `kvm_run` mapping.
pub(super) const MMAP_SIZE: usize = PAGE_SIZE;

// The mapping is of a struct page, whose owner frees it only once the last
// mapping of it is gone (vm_insert_page takes a reference).
const _: () = assert!(bindings::PAGE_SIZE == PAGE_SIZE);
