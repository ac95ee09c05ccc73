/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * rust_papr_nested's own ioctls, beyond KVM's, on the VM and vCPU fds of
 * /dev/papr-nested (Documentation/kvm-api.rst, "Beyond KVM"). They move
 * guest state as PAPR Guest State Buffers: a big-endian 32-bit count, then
 * per element a big-endian 16-bit ID, a big-endian 16-bit length and the
 * data, big-endian (Documentation/gsb.rst).
 *
 * The ioctl numbers are those of the pseries PAPR family (0xB2, see
 * Documentation/userspace-api/ioctl/ioctl-number.rst), never KVM's.
 */
#ifndef _UAPI_ASM_PAPR_NESTED_H
#define _UAPI_ASM_PAPR_NESTED_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* One buffer exchanged with a VM or vCPU fd (24 bytes). */
struct papr_nested_state {
	__u64 buf;		/* in: userspace address of the buffer */
	__u32 len;		/* in: its size in bytes; out: the bytes it
				 * holds after a GET or SNAPSHOT, or those a
				 * SNAPSHOT needs when it fails with -ENOSPC */
	__u32 flags;		/* in: 0 */
	__u32 err_index;	/* out: the element at fault (from 0) */
	__u16 err_id;		/* out: its ID */
	__u16 err_reason;	/* out: PAPR_NESTED_ERR_*, 0 if none */
};

/* Gets the elements the buffer names (their data is overwritten). */
#define PAPR_NESTED_GET_STATE	_IOWR(0xB2, 0x10, struct papr_nested_state)
/* Sets every element of the buffer, or none. */
#define PAPR_NESTED_SET_STATE	_IOWR(0xB2, 0x11, struct papr_nested_state)
/* Writes a snapshot: struct papr_nested_snapshot, then a buffer. */
#define PAPR_NESTED_SNAPSHOT	_IOWR(0xB2, 0x12, struct papr_nested_state)
/* Restores a snapshot: all of it, or nothing. */
#define PAPR_NESTED_RESTORE	_IOWR(0xB2, 0x13, struct papr_nested_state)

/* Why a buffer was refused (err_reason). */
#define PAPR_NESTED_ERR_MALFORMED	1	/* count and lengths do not fit */
#define PAPR_NESTED_ERR_UNKNOWN_ID	2	/* an ID the PAPR does not define */
#define PAPR_NESTED_ERR_SIZE		3	/* a length that is not its ID's */
#define PAPR_NESTED_ERR_DUPLICATE	4	/* an ID twice */
#define PAPR_NESTED_ERR_SCOPE		5	/* the other fd's element */
#define PAPR_NESTED_ERR_META		6	/* run buffers, VPA, tables */
#define PAPR_NESTED_ERR_READ_ONLY	7	/* set of a read-only element */
#define PAPR_NESTED_ERR_VALUE		8	/* bits the L1 may not set */
#define PAPR_NESTED_ERR_HEADER		9	/* snapshot: magic, scope,
						 * contents or length */
#define PAPR_NESTED_ERR_VERSION		10	/* snapshot: another version */
#define PAPR_NESTED_ERR_MODE		11	/* snapshot: another processor
						 * mode */
#define PAPR_NESTED_ERR_INCOMPLETE	12	/* snapshot: an element missing
						 * (err_id names it) */

/* The header of a snapshot (24 bytes); gsb_len bytes of buffer follow. */
struct papr_nested_snapshot {
	__u32 magic;		/* PAPR_NESTED_SNAPSHOT_MAGIC */
	__u16 version;		/* PAPR_NESTED_SNAPSHOT_VERSION */
	__u16 scope;		/* PAPR_NESTED_SCOPE_* */
	__u64 mode;		/* the processor mode: one H_GUEST_CAP_POWER* bit */
	__u32 contents;		/* PAPR_NESTED_HOLDS_* */
	__u32 gsb_len;		/* bytes of the buffer after the header */
};

#define PAPR_NESTED_SNAPSHOT_MAGIC	0x53534e50	/* "PNSS" in memory */
#define PAPR_NESTED_SNAPSHOT_VERSION	1
#define PAPR_NESTED_SCOPE_GUEST		1	/* a VM fd's */
#define PAPR_NESTED_SCOPE_VCPU		2	/* a vCPU fd's */
/*
 * Every element of the scope the L1 may read and set: not the exit
 * registers (HDAR, HDSISR, HEIR, ASDR: read-only, the last exit's), not
 * the meta elements. Never memory: the VMM saves its own slots.
 */
#define PAPR_NESTED_HOLDS_REGISTERS	(1 << 0)

#endif /* _UAPI_ASM_PAPR_NESTED_H */
