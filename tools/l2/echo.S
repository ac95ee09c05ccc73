/* SPDX-License-Identifier: GPL-2.0 */
/*
 * echo: reads the console (H_GET_TERM_CHAR, which does not wait: it
 * asks again while nothing is there) and writes back what it read
 * (H_PUT_TERM_CHAR), until a chunk ends with a newline; exits 0.
 */
#include "papr.h"

	.text
	.globl	_start
_start:
1:	li	3, RPN_H_GET_TERM_CHAR
	li	4, 0			/* termno */
	sc	1			/* r4 = count, r5-r6 = chars */
	cmpdi	4, 0
	beq	1b
	/* r14 = the last char: byte count-1 of r5:r6, big-endian. */
	mr	14, 5
	mr	15, 4
	cmpdi	4, 8
	ble	2f
	mr	14, 6
	addi	15, 4, -8
2:	subfic	15, 15, 8
	sldi	15, 15, 3
	srd	14, 14, 15
	andi.	14, 14, 0xff
	/* Write the chunk back: r5 = count, r6-r7 = chars. */
	mr	7, 6
	mr	6, 5
	mr	5, 4
	li	4, 0
	li	3, RPN_H_PUT_TERM_CHAR
	sc	1
	cmpdi	14, '\n'
	bne	1b
	VMM_EXIT 0
