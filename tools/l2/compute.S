/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compute: 100000 rounds of x = x * 31 + i (mod 2^64), one exit to the
 * VMM (RPN_H_VMM_TICK) per round, then reports x and exits 0. The VMM
 * prints the checksum: the same program on another backend, or with its
 * run cut anywhere, must print the same.
 */
#include "papr.h"

	.text
	.globl	_start
_start:
	li	30, 0			/* x */
	li	31, 0			/* i */
	lis	29, 1			/* 65536 ... */
	ori	29, 29, 34464		/* ... + 34464 = 100000 rounds */
1:	mulli	30, 30, 31
	add	30, 30, 31
	HCALL_NR RPN_H_VMM_TICK
	sc	1
	addi	31, 31, 1
	cmpd	31, 29
	blt	1b
	HCALL_NR RPN_H_VMM_REPORT
	mr	4, 30
	sc	1
	VMM_EXIT 0
