/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the userspace tools take from <linux/kvm.h> of the L1 kernel
 * (`make headers`), through bindgen: structs and constants as they are,
 * and the ioctl request numbers, which are function-like _IO*() macros
 * bindgen does not expand, as constants (RPN_ prefix, dropped by
 * scripts/build-tools.sh), as rust/uapi does in the kernel.
 */
#include <linux/kvm.h>
#include <linux/mman.h>
#include "../l2/papr.h"

const unsigned int RPN_KVM_GET_API_VERSION = KVM_GET_API_VERSION;
const unsigned int RPN_KVM_CREATE_VM = KVM_CREATE_VM;
const unsigned int RPN_KVM_CHECK_EXTENSION = KVM_CHECK_EXTENSION;
const unsigned int RPN_KVM_GET_VCPU_MMAP_SIZE = KVM_GET_VCPU_MMAP_SIZE;
const unsigned int RPN_KVM_CREATE_VCPU = KVM_CREATE_VCPU;
const unsigned int RPN_KVM_SET_USER_MEMORY_REGION = KVM_SET_USER_MEMORY_REGION;
const unsigned int RPN_KVM_RUN = KVM_RUN;
const unsigned int RPN_KVM_GET_REGS = KVM_GET_REGS;
const unsigned int RPN_KVM_SET_REGS = KVM_SET_REGS;
const unsigned int RPN_KVM_ENABLE_CAP = KVM_ENABLE_CAP;
const unsigned int RPN_KVM_GET_ONE_REG = KVM_GET_ONE_REG;
const unsigned int RPN_KVM_SET_ONE_REG = KVM_SET_ONE_REG;
const unsigned int RPN_KVM_GET_SREGS = KVM_GET_SREGS;
const unsigned int RPN_KVM_SET_SREGS = KVM_SET_SREGS;
const unsigned int RPN_KVM_INTERRUPT = KVM_INTERRUPT;
const unsigned int RPN_KVM_PPC_GET_SMMU_INFO = KVM_PPC_GET_SMMU_INFO;
const unsigned int RPN_KVM_PPC_GET_RMMU_INFO = KVM_PPC_GET_RMMU_INFO;
const unsigned int RPN_KVM_PPC_GET_CPU_CHAR = KVM_PPC_GET_CPU_CHAR;
const unsigned int RPN_KVM_PPC_CONFIGURE_V3_MMU = KVM_PPC_CONFIGURE_V3_MMU;
const unsigned int RPN_KVM_IOEVENTFD = KVM_IOEVENTFD;
const __u32 RPN_KVM_IOEVENTFD_FLAG_DATAMATCH = KVM_IOEVENTFD_FLAG_DATAMATCH;
const __u32 RPN_KVM_IOEVENTFD_FLAG_PIO = KVM_IOEVENTFD_FLAG_PIO;
const __u32 RPN_KVM_IOEVENTFD_FLAG_DEASSIGN = KVM_IOEVENTFD_FLAG_DEASSIGN;

/*
 * KVM_REG_PPC_* are made from KVM_REG_PPC, which <linux/kvm.h> defines
 * after including <asm/kvm.h>: bindgen cannot evaluate them either.
 */
const __u64 RPN_KVM_REG_PPC_DSCR = KVM_REG_PPC_DSCR;
const __u64 RPN_KVM_REG_PPC_TAR = KVM_REG_PPC_TAR;
const __u64 RPN_KVM_REG_PPC_DSISR = KVM_REG_PPC_DSISR;
const __u64 RPN_KVM_REG_PPC_PID = KVM_REG_PPC_PID;
const __u64 RPN_KVM_REG_PPC_VSR0 = KVM_REG_PPC_VSR0;
const __u64 RPN_KVM_REG_PPC_VR0 = KVM_REG_PPC_VR0;
const __u64 RPN_KVM_REG_PPC_LPCR = KVM_REG_PPC_LPCR;
const __u64 RPN_KVM_REG_PPC_LPCR_64 = KVM_REG_PPC_LPCR_64;
const __u64 RPN_KVM_REG_PPC_TB_OFFSET = KVM_REG_PPC_TB_OFFSET;
const __u64 RPN_KVM_REG_PPC_ARCH_COMPAT = KVM_REG_PPC_ARCH_COMPAT;
const __u64 RPN_KVM_REG_PPC_VPA_ADDR = KVM_REG_PPC_VPA_ADDR;
const __u64 RPN_KVM_REG_PPC_HIOR = KVM_REG_PPC_HIOR;
const __u64 RPN_KVM_REG_PPC_SPMC1 = KVM_REG_PPC_SPMC1;
const __u64 RPN_KVM_REG_PPC_SPMC2 = KVM_REG_PPC_SPMC2;
const __u64 RPN_KVM_REG_PPC_MMCRS = KVM_REG_PPC_MMCRS;
const __u64 RPN_KVM_REG_PPC_CSIGR = KVM_REG_PPC_CSIGR;
const __u64 RPN_KVM_REG_PPC_TACR = KVM_REG_PPC_TACR;
const __u64 RPN_KVM_REG_PPC_TCSCR = KVM_REG_PPC_TCSCR;
const __u64 RPN_KVM_REG_PPC_ACOP = KVM_REG_PPC_ACOP;
const __u64 RPN_KVM_REG_PPC_PSSCR = KVM_REG_PPC_PSSCR;
const __u64 RPN_KVM_REG_PPC_PTCR = KVM_REG_PPC_PTCR;
const __u64 RPN_KVM_REG_PPC_ONLINE = KVM_REG_PPC_ONLINE;
const __u64 RPN_KVM_REG_PPC_VPA_SLB = KVM_REG_PPC_VPA_SLB;
const __u64 RPN_KVM_REG_PPC_VPA_DTL = KVM_REG_PPC_VPA_DTL;
const __u64 RPN_KVM_REG_PPC_DEBUG_INST = KVM_REG_PPC_DEBUG_INST;
const __u64 RPN_KVM_REG_PPC_TFHAR = KVM_REG_PPC_TFHAR;
const __u64 RPN_KVM_REG_PPC_TFIAR = KVM_REG_PPC_TFIAR;
const __u64 RPN_KVM_REG_PPC_TEXASR = KVM_REG_PPC_TEXASR;
const __u64 RPN_KVM_REG_PPC_CIABR = KVM_REG_PPC_CIABR;

/* Our own ioctls beyond KVM's, and the snapshot header. */
#include "../../include/uapi/asm/papr-nested.h"

const unsigned int RPN_PAPR_NESTED_GET_STATE = PAPR_NESTED_GET_STATE;
const unsigned int RPN_PAPR_NESTED_SET_STATE = PAPR_NESTED_SET_STATE;
const unsigned int RPN_PAPR_NESTED_SNAPSHOT = PAPR_NESTED_SNAPSHOT;
const unsigned int RPN_PAPR_NESTED_RESTORE = PAPR_NESTED_RESTORE;
