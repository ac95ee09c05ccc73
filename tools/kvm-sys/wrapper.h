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
