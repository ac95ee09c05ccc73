/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hypervisor calls the L2 programs make and papr-vmm serves: written
 * once here, included by the programs (assembled with cpp) and by the
 * VMM (through bindgen, tools/kvm-sys/wrapper.h).
 */
#ifndef RPN_L2_PAPR_H
#define RPN_L2_PAPR_H

/* PAPR calls (asm/hvcall.h numbers). */
#define RPN_H_CONFER		0xE4	/* r4 target (-1: any), r5 dispatch count */
#define RPN_H_GET_TERM_CHAR	0x54	/* r4 termno; out: r4 count, r5-r6 chars */
#define RPN_H_PUT_TERM_CHAR	0x58	/* r4 termno, r5 count (<= 16), r6-r7 chars */

/* papr-vmm's own calls, outside the PAPR's numbers. */
#define RPN_H_VMM_EXIT		0xF0F0	/* r4: the program's exit status */
#define RPN_H_VMM_REPORT	0xF0F1	/* r4: a value to print */
#define RPN_H_VMM_TICK		0xF0F2	/* nothing: an exit and back */

/* PAPR statuses the VMM answers with. */
#define RPN_H_SUCCESS		0
#define RPN_H_FUNCTION		(-2)

/* How many calls the exit benchmarks (ticks, confer) make. */
#define RPN_BENCH_LOOPS		20000

/* Where papr-vmm loads a program (guest real) and how much memory it gives. */
#define RPN_L2_LOAD_ADDR	0x0
#define RPN_L2_MEM_SIZE		0x100000

#ifdef __ASSEMBLER__
/* r3 = a call number above 0x7fff (li would sign-extend it). */
.macro	HCALL_NR nr
	lis	3, 0
	ori	3, 3, \nr
.endm

/* Exits to the VMM with `status`, for good. */
.macro	VMM_EXIT status
	HCALL_NR RPN_H_VMM_EXIT
	li	4, \status
	sc	1
	b	.
.endm
#endif

#endif
