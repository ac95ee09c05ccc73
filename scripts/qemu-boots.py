#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# The QEMU boots' tables from the main job's console: the RPN-QEMU lines
# of testing/initramfs-init's qemu_boots(), Debian's qemu-system-ppc64
# booting the same L2 Linux with the same command line on
# /dev/papr-nested ("ours") and on kvm-hv's /dev/kvm ("kvm"), with SLOF
# and with VOF, alternating. Per firmware and device: the boots that
# reached the L2's /init, the median and spread (min-max) of the time
# from QEMU's start to the L2's marker and to QEMU's exit (the L1's
# clock), the H_GUEST_* calls the kernel's hcall_inst counted per boot,
# ours / kvm over the boots that reached the L2 on both; then the traced boots' ioctls by result (KVM_RUN by exit
# reason), the workloads (SMP L2s with virtio: checks, boot times, the
# L2's IPI, cede and disk figures) and the SIGKILL checks. Printed, never asserted (run-l1.sh
# asserts); exits 1 only when no QEMU boot ran.

import statistics
import sys

boots = {}
traced = {}
ioctls = {}
l2exits = {}
kills = []
work = {}
bench = {}
phase = None
for line in open(sys.argv[1], errors="replace"):
    if not line.startswith("RPN-QEMU "):
        continue
    words = line.split()
    kind = words[1] if "=" not in words[1] else "boot"
    f = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    if "phase_ms" in f:
        phase = int(f["phase_ms"]) / 1000
    elif kind == "boot" and "round" in f:
        boots.setdefault((f["fw"], f["dev"]), []).append(f)
    elif kind == "strace":
        traced[(f["fw"], f["dev"])] = f
    elif kind == "ioctl":
        ioctls.setdefault((f["fw"], f["dev"]), {})[(f["ioctl"], f["result"])] = int(f["count"])
    elif kind == "l2exits":
        l2exits[f["fw"]] = {k: v for k, v in f.items() if k not in ("fw", "dev")}
    elif kind == "sigkill":
        kills.append(f)
    elif kind == "work":
        work.setdefault((f["smp"], f["dev"]), []).append(f)
    elif kind == "bench":
        # RPN-QEMU bench round= smp= dev= MODE key=value...
        mode = [w for w in words[2:] if "=" not in w][0]
        bench.setdefault((mode, f["smp"], f["dev"]), []).append(f)

if not boots:
    print("[rpn] no QEMU boot ran")
    sys.exit(1)


def secs(runs, key):
    v = [int(r[key]) / 1000 for r in runs if r.get(key, "none").isdigit()]
    return v


def spread(v):
    if not v:
        return "%-20s" % "-"
    return "%6.2f (%5.2f-%5.2f)" % (statistics.median(v), min(v), max(v))


def med(runs, key):
    v = [int(r[key]) for r in runs if r.get(key, "").isdigit()]
    return "%d" % statistics.median(v) if v else "-"


n = max(len(r) for r in boots.values())
print(f"[rpn] QEMU in the L1, same line on both devices, {n} rounds alternating: seconds, median (min-max)")
print("[rpn]   %-4s %-4s %7s %-20s %-20s %10s %9s %9s" % (
    "fw", "dev", "booted", "start -> L2 /init", "start -> QEMU exit", "L2 uptime", "RUN_VCPU", "other"))
for fw in ("slof", "vof"):
    m = {}
    for dev in ("ours", "kvm"):
        runs = boots.get((fw, dev), [])
        good = [r for r in runs if r["status"] == "0" and r["marker"] == "yes"]
        up = [float(r["l2_uptime"]) for r in runs if r.get("l2_uptime", "none") != "none"]
        m[dev] = (secs(good, "marker_ms"), secs(good, "exit_ms"))
        print("[rpn]   %-4s %-4s %3d/%-3d %s %s %10s %9s %9s" % (
            fw, dev, len(good), len(runs), spread(secs(runs, "marker_ms")), spread(secs(runs, "exit_ms")),
            "%.2f" % statistics.median(up) if up else "-", med(runs, "run"), med(runs, "other")))
    for i, what in ((0, "to the L2's /init"), (1, "to QEMU's exit")):
        if m["ours"][i] and m["kvm"][i]:
            print("[rpn]   %-4s ours / kvm, %s: %.2f" % (
                fw, what, statistics.median(m["ours"][i]) / statistics.median(m["kvm"][i])))

for (fw, dev), t in sorted(traced.items()):
    runs = int(t.get("kvm_run", "0"))
    calls = int(t.get("run", "0")) + int(t.get("other", "0"))
    per = " (%.2f H_GUEST_* per KVM_RUN return)" % (calls / runs) if runs else ""
    print(f"[rpn] strace, {fw} on {dev}: status {t['status']}, L2 marker {t['marker']}, "
          f"{runs} KVM_RUN, H_GUEST_RUN_VCPU {t.get('run')} + other H_GUEST_* {t.get('other')}{per}")
    for (req, res), c in sorted(ioctls.get((fw, dev), {}).items(), key=lambda x: -x[1]):
        print("[rpn]   %7d %-28s %s" % (c, req, res))
    if dev == "ours" and l2exits.get(fw):
        print("[rpn]   L2 exits our module counted: " +
              " ".join(f"{k}={v}" for k, v in l2exits[fw].items()))

for k in kills:
    print(f"[rpn] SIGKILL 2 s into a SLOF boot on {k['dev']}: QEMU {'running' if k['alive'] == 'yes' else 'already gone'}, "
          f"gone {k['gone_ms']} ms after the kill; our guests {k['guests']}, pinned pages {k['pinned']} (before/after)")
if work:
    print("[rpn] workloads: VOF boots with a virtio disk and rng, the L2's rpn-l2-bench; median (min-max)")
    for smp in sorted({k[0] for k in work}):
        m = {}
        for dev in ("ours", "kvm"):
            runs = work.get((smp, dev), [])
            good = [r for r in runs if r["status"] == "0" and r["marker"] == "yes" and r["checks"] == "ok"]
            m[dev] = secs(good, "marker_ms")
            bad = sorted({r["checks"] for r in runs if r["checks"] != "ok"})
            print("[rpn]   -smp %-3s %-4s %d/%d passed (CPUs, disk, rng, written half)%s; start -> L2 /init %s" % (
                smp, dev, len(good), len(runs), " failed: " + " ".join(bad) if bad else "", spread(m[dev])))
        if m["ours"] and m["kvm"]:
            print("[rpn]   -smp %s ours / kvm, to the L2's /init: %.2f" % (
                smp, statistics.median(m["ours"]) / statistics.median(m["kvm"])))
    rows = (("ipi", "median_us", "IPI round trip, us", 1), ("cede", "median_late_us", "cede/wake: late, us", 1),
            ("disk", "read_mibs", "seq read O_DIRECT, MiB/s", -1), ("disk", "write_mibs", "seq write O_DIRECT, MiB/s", -1),
            ("disk", "randread_iops", "4 KiB random read, IOPS", -1))
    for mode, key, what, sign in rows:
        for smp in sorted({k[1] for k in bench if k[0] == mode}):
            v = {}
            for dev in ("ours", "kvm"):
                v[dev] = [float(r[key]) for r in bench.get((mode, smp, dev), []) if key in r]
            line = "[rpn]   %-28s -smp %-3s  ours %s  kvm %s" % (what, smp, spread(v["ours"]), spread(v["kvm"]))
            if v["ours"] and v["kvm"]:
                line += "  ours / kvm %.2f" % (statistics.median(v["ours"]) / statistics.median(v["kvm"]))
            print(line)

for (mode, smp, dev), runs in sorted(bench.items()):
    if mode == "badmmio":
        for r in runs:
            print("[rpn]   bad MMIO, -smp %s %-4s lwarx %s, dcbz %s on a BAR; load %s (read %s), store %s where none is" % (
                smp, dev, r.get("lwarx"), r.get("dcbz"), r.get("load"), r.get("read"), r.get("store")))

if phase is not None:
    print(f"[rpn] the QEMU boots took {phase:.0f} s of the L1's time")
