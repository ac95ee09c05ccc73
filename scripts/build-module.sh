#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build rust_papr_nested.ko out of tree, in the clone, against the L1
# kernel in the build root. (With KDIR set, the Makefile builds against
# that tree directly instead and this script is not used.)

source "$(dirname "$0")/lib.sh"

if [ "${1:-}" != --in-root ]; then
	exec bash -c 'source scripts/lib.sh; rpn_in_root bash scripts/build-module.sh --in-root "$@"' x "$@"
fi
shift
"${RPN_KMAKE[@]}" -C "$RPN_BUILD/l1" M="$RPN_TOP" -j"$RPN_JOBS" "$@" modules
