/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ticks: RPN_BENCH_LOOPS of papr-vmm's tick call, each an exit to the
 * VMM and back (an exit to userspace on /dev/kvm and on ours alike),
 * then exits 0. The exit benchmark's (a).
 */
#include "papr.h"

	.text
	.globl	_start
_start:
	li	20, RPN_BENCH_LOOPS
1:	HCALL_NR RPN_H_VMM_TICK
	sc	1
	addi	20, 20, -1
	cmpdi	20, 0
	bne	1b
	VMM_EXIT 0
