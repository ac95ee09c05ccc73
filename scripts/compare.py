#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# The head-to-head table from the main job's console: the RPN-CMP lines
# of testing/initramfs-init's compare(), the same papr-vmm and L2
# programs on /dev/papr-nested ("ours") and /dev/kvm (kvm-hv, "kvm"),
# alternating. Per program and device: the median and the spread
# (min-max) of the rounds' time per exit, in ns and in 512 MHz timebase
# ticks, and the H_GUEST_* calls per exit that the kernel's hcall_inst
# counted; then ours / kvm. Ratios are printed, never asserted. Exits 1
# only when the lines are missing or a run failed.

import statistics
import sys

LOOPS = 20000  # RPN_BENCH_LOOPS, tools/l2/papr.h
TB_MHZ = 512

runs = {}
for line in open(sys.argv[1], errors="replace"):
    if not line.startswith("RPN-CMP round="):
        continue
    f = dict(kv.split("=", 1) for kv in line.split()[1:])
    if f["status"] != "0" or not f["us"].isdigit():
        print(f"[rpn] comparison run failed: {line.strip()}")
        sys.exit(1)
    r = runs.setdefault((f["prog"], f["dev"]), [])
    r.append((int(f["us"]) * 1000 / LOOPS, (int(f["run"]) + int(f["other"])) / LOOPS))

if not runs:
    print("[rpn] no comparison ran")
    sys.exit(1)

what = {"ticks": "(a) exit to the VMM", "confer": "(b) exit in the kernel"}
print(f"[rpn] head-to-head, same boot, {len(runs[('ticks', 'ours')])} rounds alternating: median (min-max)")
print("[rpn]   %-24s %-5s %28s %14s %16s" % ("", "", "ns per exit", "ticks", "H_GUEST_*/exit"))
for prog in ("ticks", "confer"):
    med = {}
    for dev in ("ours", "kvm"):
        ns = [r[0] for r in runs[(prog, dev)]]
        calls = [r[1] for r in runs[(prog, dev)]]
        med[dev] = statistics.median(ns)
        print("[rpn]   %-24s %-5s %10.0f (%6.0f-%6.0f) %14.0f %16.4f" % (
            what[prog], dev, med[dev], min(ns), max(ns), med[dev] * TB_MHZ / 1000,
            statistics.median(calls)))
    print("[rpn]   %-24s ours / kvm: %.2f" % (what[prog], med["ours"] / med["kvm"]))
