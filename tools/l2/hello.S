/* SPDX-License-Identifier: GPL-2.0 */
/* hello: prints "Hello from L2" through the console hcall, exits 0. */
#include "papr.h"

	.text
	.globl	_start
_start:
	li	3, RPN_H_PUT_TERM_CHAR
	li	4, 0			/* termno */
	li	5, msg_end - msg	/* 14 bytes */
	li	9, msg - _start		/* loaded at 0 */
	ldbrx	6, 0, 9			/* chars in register order: big-endian */
	addi	9, 9, 8
	ldbrx	7, 0, 9
	sc	1
	VMM_EXIT 0

	.balign	8
msg:	.ascii	"Hello from L2\n"
msg_end:
	.ascii	"\0\0"
