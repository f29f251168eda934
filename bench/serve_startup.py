"""Seconds from ``m2io serve`` to a ready ``/health`` (200), with the defaults, one and two workers.

    .venv/bin/python bench/serve_startup.py --index index/gimp --repeats 3 --json bench/results/load/startup.json

Each start is a fresh process (the OS file cache stays warm after the first, as on a server that restarts);
the first start of each setting is reported apart as ``cold``. Records wall seconds to the first 200 on
``/health``, the worker's own ``load_seconds`` (models and index, after imports), and with two workers
the seconds until both workers answered ready. Servers bind 127.0.0.1 only and are stopped after each start.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx



def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_once(index: Path, workers: int, timeout: float = 180.0) -> dict:
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "m2io.cli", "serve", "--index", str(index), "--port", str(port),
                             "--workers", str(workers)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    base, pids, first, loads = f"http://127.0.0.1:{port}", set(), None, []
    try:
        while time.perf_counter() - t0 < timeout and len(pids) < workers:
            try:
                with httpx.Client() as client:  # a new connection each time, so that every worker can answer
                    r = client.get(base + "/health", timeout=2)
                if r.status_code == 200 and r.json()["worker"] not in pids:
                    pids.add(r.json()["worker"])
                    loads.append(r.json()["load_seconds"])
                    first = first or time.perf_counter() - t0
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        return {"workers": workers, "ready_s": first, "all_ready_s": time.perf_counter() - t0 if len(pids) == workers
                else None, "load_seconds": loads}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    out = {"index": str(a.index), "settings": []}
    for workers in a.workers:
        runs = [start_once(a.index, workers) for _ in range(a.repeats + 1)]
        warm = [r["ready_s"] for r in runs[1:] if r["ready_s"] is not None]
        row = {"workers": workers, "cold": runs[0], "warm_runs": runs[1:],
               "ready_s_median": statistics.median(warm) if warm else None,
               "all_ready_s_median": statistics.median([r["all_ready_s"] for r in runs[1:] if r["all_ready_s"]] or [0])}
        out["settings"].append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "warm_runs"}), flush=True)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
