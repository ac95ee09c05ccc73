#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make setup: everything the other commands need, each step idempotent and
# cached in $RPN_CACHE: the build root, the patched kernel source, the
# L1 kernel, and Debian's ppc64el QEMU for the L1 (the VMM of the QEMU
# boots in the main job).

source "$(dirname "$0")/lib.sh"

start=$SECONDS
bash "$RPN_TOP/scripts/setup-root.sh"
bash "$RPN_TOP/scripts/setup-kernel-src.sh"
bash "$RPN_TOP/scripts/build-l1-kernel.sh"
bash "$RPN_TOP/scripts/setup-qemu-l1.sh"
rpn_log "setup done in $((SECONDS - start)) s"
