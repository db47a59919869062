#!/usr/bin/env python3
"""report.py RESULTS.tsv BINARY - the comparison table of `make bench` (tests/bench/run.sh).

Ratios are against `early-vfio bind --dry-run` on the same tree: "x12.5" = 12.5 times its
figure.  Growth compares the largest N with N=1000 (linear = the ratio of the Ns).
Targets (issue 8): growth linear or better; >= 20x fewer instructions than the shell
baseline at N=10000; peak memory under a few MiB (budget 4 MiB) at N=50000.
"""
import math
import os
import subprocess
import sys

RSS_BUDGET_KIB = 4096
INSTR_RATIO_TARGET = 20.0


def num(s):
    try:
        v = float(s)
        return None if math.isnan(v) else v
    except (TypeError, ValueError):
        return None


def fmt_int(v):
    return "-" if v is None else f"{int(v):,}"


def fmt_ratio(v, ref):
    if v is None or not ref:
        return "-"
    return f"x{v / ref:.1f}"


def main():
    rows = []
    with open(sys.argv[1]) as f:
        head = f.readline().rstrip("\n").split("\t")
        for line in f:
            rows.append(dict(zip(head, line.rstrip("\n").split("\t"))))
    binary = sys.argv[2]
    by = {(int(r["n"]), r["tool"]): r for r in rows}
    ns = sorted({int(r["n"]) for r in rows})
    tools = []
    for r in rows:
        if r["tool"] not in tools:
            tools.append(r["tool"])

    print()
    print("early-vfio benchmark (tests/bench/run.sh); ratios against ev-bind-dry on the same tree")
    hdr = f"{'N':>6}  {'tool':<13} {'wall ms':>10} {'ratio':>7} {'instructions':>16} {'ratio':>7} {'peak RSS KiB':>12}  note"
    print(hdr)
    print("-" * len(hdr))
    for n in ns:
        ref = by.get((n, "ev-bind-dry"), {})
        rw, ri = num(ref.get("wall_ms")), num(ref.get("instr"))
        for t in tools:
            r = by.get((n, t))
            if not r:
                continue
            w, i, m = num(r["wall_ms"]), num(r["instr"]), num(r["rss_kib"])
            mark = "~" if r["instr_how"] == "linear-fit" and i is not None else " "
            ws = "-" if w is None else f"{w:.1f}"
            print(f"{n:>6}  {t:<13} {ws:>10} {fmt_ratio(w, rw):>7} {mark}{fmt_int(i):>15} "
                  f"{fmt_ratio(i, ri):>7} {fmt_int(m):>12}  {r['note']}")
        print()
    print("~ = shell tool instructions above BENCH_SHELL_INSTR_MAX: linear fit of the measured Ns")

    # growth
    lo = 1000 if 1000 in ns else (ns[0] if ns else None)
    hi = ns[-1] if ns else None
    if lo and hi and hi > lo:
        print()
        print(f"growth N={lo} -> N={hi} (linear = x{hi / lo:g}):")
        for t in tools:
            a, b = by.get((lo, t)), by.get((hi, t))
            if not a or not b:
                continue
            parts = []
            for k, label in (("wall_ms", "wall"), ("instr", "instr"), ("rss_kib", "rss")):
                x, y = num(a[k]), num(b[k])
                parts.append(f"{label} x{y / x:.1f}" if x and y is not None else f"{label} -")
            print(f"  {t:<13} " + ", ".join(parts))

    # targets
    print()
    print("targets:")
    ok_all = True
    if lo and hi and hi > lo and (lo, "ev-bind-dry") in by and (hi, "ev-bind-dry") in by:
        a, b = num(by[(lo, "ev-bind-dry")]["instr"]), num(by[(hi, "ev-bind-dry")]["instr"])
        # per-function cost must not rise: allow 10% for the fixed start-up share moving
        g, lin = b / a, hi / lo
        ok = g <= lin * 1.10
        ok_all &= ok
        print(f"  {'MET ' if ok else 'MISS'} growth linear or better: bind --dry-run instructions x{g:.1f} for N x{lin:g}")
    if (10000, "ev-bind-dry") in by and (10000, "guide-sh") in by:
        e, s = num(by[(10000, "ev-bind-dry")]["instr"]), num(by[(10000, "guide-sh")]["instr"])
        if e and s:
            q = s / e
            ok = q >= INSTR_RATIO_TARGET
            ok_all &= ok
            how = " (shell figure from a linear fit)" if by[(10000, "guide-sh")]["instr_how"] == "linear-fit" else ""
            print(f"  {'MET ' if ok else 'MISS'} >= {INSTR_RATIO_TARGET:g}x fewer instructions than the guide loop at N=10000: "
                  f"x{q:.1f}{how}")
    big = max((n for n in ns if (n, "ev-bind-dry") in by), default=None)
    if big:
        for t in ("ev-bind-dry", "ev-static-dry", "ev-bind", "ev-status", "ev-check"):
            if (big, t) not in by:
                continue
            m = num(by[(big, t)]["rss_kib"]) or 0
            ok = m <= RSS_BUDGET_KIB
            ok_all &= ok
            print(f"  {'MET ' if ok else 'MISS'} peak RSS <= {RSS_BUDGET_KIB} KiB at N={big}: {t} {int(m)} KiB")

    # binary size
    print()
    for b in (binary, os.path.join(os.path.dirname(binary), "early-vfio-static")):
        if os.path.exists(b):
            try:
                out = subprocess.run(["size", b], capture_output=True, text=True).stdout.splitlines()[-1].split()
                text = f", text {int(out[0]):,} B"
            except (OSError, IndexError, ValueError):
                text = ""
            print(f"binary {os.path.basename(b)}: {os.path.getsize(b):,} B on disk{text}")
    print("all targets met" if ok_all else "some targets missed: see tests/bench/README.md for the profile")


if __name__ == "__main__":
    main()
