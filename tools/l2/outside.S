/* SPDX-License-Identifier: GPL-2.0 */
/* outside: loads from 0x40000000, outside every slot the VMM gives. */
#include "papr.h"

	.text
	.globl	_start
_start:
	lis	9, 0x4000
	ld	3, 0(9)
	VMM_EXIT 1
