"""Markdown tables of load-test results (bench/load.py JSON files), as bench/RESULTS.md shows them.

    .venv/bin/python bench/load_table.py bench/results/load/workers1.json bench/results/load/workers2.json
"""
from __future__ import annotations

import json
import sys


def _f(x, fmt="{:.0f}"):
    return "-" if x is None else fmt.format(x)


def main(paths: list[str]) -> None:
    print("| scenario | offered req/s | sent | throughput req/s | p50 ms | p95 ms | p99 ms | 503 (p50 / max ms) "
          "| errors, timeouts | server CPU cores | client lag p99 ms | cache hits sections / vectors |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for path in paths:
        data = json.load(open(path))
        for row in data["steps"]:
            caches = (row.get("metrics") or {}).get("caches", {})
            hits = " / ".join(_f(caches.get(c, {}).get("hit_rate"), "{:.2f}") for c in ("sections", "text_vectors"))
            rejected = (f"{row['rejected_503']} ({_f(row['rejected_p50_ms'])} / {_f(row['rejected_max_ms'])})"
                        if row["rejected_503"] else "0")
            print(f"| {row['scenario']} {row.get('phase', '')} | {row['offered_rps']:.2f} | {row['sent']} | "
                  f"{row['throughput_rps']:.2f} | {_f(row['p50_ms'])} | {_f(row['p95_ms'])} | {_f(row['p99_ms'])} | "
                  f"{rejected} | {row['error_count']}, {row['timeouts']} | {row['server_cpu_cores']:.2f} | "
                  f"{row['lag_ms_p99']:.0f} | {hits} |")
        for name, summary in data["scenarios"].items():
            keep = {k: v for k, v in summary.items() if k not in ("steps",) and not isinstance(v, (list, dict))}
            print(f"\n<!-- {name}: {json.dumps(keep)} -->")


if __name__ == "__main__":
    main(sys.argv[1:])
