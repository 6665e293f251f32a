#!/usr/bin/env python3
"""Summarizes the JSON lines of bench/writes.sh (BENCHMARKS.md, "Write path (issue 13)")
as Markdown tables: start-up, single-organization writes, concurrent writes with /v1/check,
the second replica. Usage: bench/writes_table.py RESULTS.jsonl"""
import json
import sys


def fmt(v):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.1f}" if v >= 10 else f"{v:.2f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def mem(rs):
    """`RSS MB (peak MB)` of the first record of `rs`."""
    if not rs or "rss_mb" not in rs[0]:
        return "–"
    return f"{rs[0]['rss_mb']:,} MB (peak {rs[0]['peak_mb']:,})"


def main(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    for r in rows:
        if r.get("event") in ("start", "end"):
            print(f"{r['event']}: load average {r.get('uptime')}" + (f", commit {r['commit']}" if "commit" in r else ""))
    keys = sorted({(r["size"], r["backend"]) for r in rows if "backend" in r},
                  key=lambda k: (int(k[0].split("/")[1]), k[1]))

    print("\n| world | backend | import | ready at start (CPU) | RSS after start / at end (peak) | invite acceptance (ms) |")
    print("|---|---|---:|---:|---|---|")
    for size, backend in keys:
        of = [r for r in rows if r.get("size") == size and r.get("backend") == backend]
        get = lambda phase: [r for r in of if r.get("phase") == phase]
        imp = get("import")
        start = get("start")
        end = get("end")
        acc = sorted(r["ms"] for r in get("accept"))
        acc_s = (f"n={len(acc)}, median {acc[len(acc)//2]:,}, max {acc[-1]:,}" if acc else "–")
        print(f"| {size} | {backend} | {fmt(imp[0]['ms']/1000 if imp else None)} s "
              f"| {fmt(start[0]['ready_ms']/1000 if start else None)} s "
              f"({fmt(start[0]['ready_cpu_ms']/1000 if start and 'ready_cpu_ms' in start[0] else None)} s) "
              f"| {mem(start)} / {mem(end)} | {acc_s} |")

    print("\n| world | backend | organization (members) | write | n | p50 ms | p90 ms | p99 ms | max ms | statuses |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---|")
    for size, backend in keys:
        for r in rows:
            if r.get("size") == size and r.get("backend") == backend and r.get("phase") == "single":
                stop = " (stopped early)" if r.get("stopped_early") else ""
                print(f"| {size} | {backend} | {r['org']} ({r['org_members']:,}) | {r['kind']}{stop} | {r['n']} "
                      f"| {fmt(r['p50_ms'])} | {fmt(r['p90_ms'])} | {fmt(r['p99_ms'])} | {fmt(r['max_ms'])} | {r.get('statuses')} |")

    print("\n| world | backend | clients | writes/s | write p50 ms | write p99 ms | 5xx | 4xx | errors "
          "| /v1/check alone p50 / p99 ms | /v1/check during writes p50 / p99 ms | check non-200 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|")
    for size, backend in keys:
        for r in rows:
            if r.get("size") == size and r.get("backend") == backend and r.get("phase") == "concurrent":
                if "skipped" in r:
                    print(f"| {size} | {backend} | skipped: {r['skipped']} |||||||||")
                    continue
                if "writes" not in r:
                    print(f"| {size} | {backend} | failed: {r.get('value')} |||||||||")
                    continue
                w, a, d = r["writes"], r.get("check_alone", {}), r.get("check_during_writes", {})
                print(f"| {size} | {backend} | {r['clients']} | {fmt(w['per_s'])} | {fmt(w['p50_ms'])} | {fmt(w['p99_ms'])} "
                      f"| {w['5xx']} | {w['4xx']} | {w['errors']} | {fmt(a.get('p50_ms'))} / {fmt(a.get('p99_ms'))} "
                      f"| {fmt(d.get('p50_ms'))} / {fmt(d.get('p99_ms'))} | {d.get('non_200', 0) + d.get('errors', 0)} |")

    reps = [r for r in rows if r.get("phase") == "replica"]
    if reps:
        print("\n| world | second server ready | mode | n | p50 ms | p99 ms | max ms | stale | 503 | poll timeouts |")
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in reps:
            second = [s for s in rows if s.get("phase") == "start-second" and s.get("size") == r["size"]]
            if "mode" not in r:
                print(f"| {r['size']} | – | failed: {r.get('value')} ||||||||")
                continue
            print(f"| {r['size']} | {fmt(second[0]['ready_ms']/1000 if second else None)} s | {r['mode']} | {r['n']} "
                  f"| {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} | {fmt(r['max_ms'])} | {r['stale']} "
                  f"| {r['unavailable_503']} | {r['poll_timeouts']} |")


if __name__ == "__main__":
    main(sys.argv[1])
