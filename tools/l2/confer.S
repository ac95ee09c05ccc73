/* SPDX-License-Identifier: GPL-2.0 */
/*
 * confer: RPN_BENCH_LOOPS of H_CONFER(-1), which kvm-hv and our module
 * both answer in the kernel (the VMM never sees them), then exits 0.
 * The exit benchmark's (b).
 */
#include "papr.h"

	.text
	.globl	_start
_start:
	li	20, RPN_BENCH_LOOPS
1:	li	3, RPN_H_CONFER
	li	4, -1			/* any other vCPU */
	li	5, 0
	sc	1
	addi	20, 20, -1
	cmpdi	20, 0
	bne	1b
	VMM_EXIT 0
