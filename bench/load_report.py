"""The printed tables of bench/load.py: one line per step row under ``HEADER``, and a scenario's summary.

Columns: rate asked, requests sent, offered and 200 rates (/s), latency p50/p95/p99 of 200s (ms), 503s (count,
p50, max ms), other errors, timeouts, connection errors, server and host busy cores, hit % per cache (in the
order of ``hit% per cache``), the client's send lag p99 (ms) and why the step is saturated.

>>> row = {"rate": 1.0, "sent": 15, "offered_rps": 1.5, "throughput_rps": 1.5, "p50_ms": 165.2, "p95_ms": 238.0,
...        "p99_ms": 240.0, "rejected_503": 0, "rejected_p50_ms": None, "rejected_max_ms": None, "error_count": 0,
...        "timeouts": 0, "conn_errors": 0, "server_cpu_cores": 0.17, "host_busy_cores": 1.96, "lag_ms_p99": 3.72,
...        "metrics": {"caches": {"sections": {"hit_rate": 0.97}, "text_vectors": {"hit_rate": 0.96}}}}
>>> print(HEADER); print_row(row)
 rate  sent  offer  thr/s    p50    p95    p99  503 503p50 503max  err  tmo conn srvCPU  host    hit% lag99  sat
    1    15   1.50   1.50    165    238    240    0      -      -    0    0    0   0.17  1.96   97/96   3.7  -
"""
from __future__ import annotations

import json


def _f(x, fmt: str = ".0f") -> str:
    return "-" if x is None else format(x, fmt)


HEADER = (f"{'rate':>5} {'sent':>5} {'offer':>6} {'thr/s':>6} {'p50':>6} {'p95':>6} {'p99':>6} {'503':>4} {'503p50':>6} "
          f"{'503max':>6} {'err':>4} {'tmo':>4} {'conn':>4} {'srvCPU':>6} {'host':>5} {'hit%':>7} {'lag99':>5}  sat")


def _hits(row: dict) -> str:
    caches = (row.get("metrics") or {}).get("caches") or {}
    return "/".join("-" if v["hit_rate"] is None else f"{100 * v['hit_rate']:.0f}" for _, v in sorted(caches.items())) \
        or "-"


def print_row(row: dict) -> None:
    print(f"{row['rate']:>5g} {row['sent']:>5d} {row['offered_rps']:>6.2f} {row['throughput_rps']:>6.2f} {_f(row['p50_ms']):>6} "
          f"{_f(row['p95_ms']):>6} {_f(row['p99_ms']):>6} {row['rejected_503']:>4d} {_f(row['rejected_p50_ms']):>6} "
          f"{_f(row['rejected_max_ms']):>6} {row['error_count']:>4d} {row['timeouts']:>4d} {row['conn_errors']:>4d} "
          f"{row['server_cpu_cores']:>6.2f} {row['host_busy_cores']:>5.2f} {_hits(row):>7} "
          f"{_f(row['lag_ms_p99'], '.1f'):>5}  {', '.join(row.get('saturated_by') or []) or '-'}", flush=True)


def print_scenario(name: str, summary: dict, rows: list[dict]) -> None:
    print(f"\n== {name}  (ms; offer = sent/s; thr = 200s/s; srvCPU, host = cores busy; lag99 = client send lag p99 ms)")
    print(HEADER)
    for r in rows:
        print_row(r)
    caches = sorted({c for r in rows for c in ((r.get("metrics") or {}).get("caches") or {})})
    if caches:
        print(f"  hit% per cache: {'/'.join(caches)}")
    errors = sorted({e for r in rows for e in r.get("metrics_errors") or []})
    if errors:
        print(f"  /metrics failed {len(errors)} time(s), e.g. {errors[0]}")
    keep = {k: v for k, v in summary.items() if k not in ("steps", "row", "index_output_tail")}
    print("  " + json.dumps(keep, default=str))
