"""A bounded load test of `m2io serve` on loopback: a fixed number of requests from N concurrent clients.

    .venv/bin/python bench/load.py --index index/gimp --corpus data/gimp --clients 1 4 --requests 24 \
        --inserters rule r1 --json bench/results/load-gimp.json

Starts its own server on 127.0.0.1 (never any other address), waits for /health, sends
``--requests`` POST /api/ask per setting (questions drawn from the corpus's dev split), then
fetches every placed image once, and stops the server. Records throughput, latency p50/p95 and
the error count (anything but HTTP 200).
"""
from __future__ import annotations

import argparse
import json
import random
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

from m2io.corpus.mramg import dataset_names, read_dataset
from m2io.corpus.split import select_items


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(index: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "m2io.cli", "serve", "--index", str(index), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("server did not start")


def run(base: str, questions: list[str], clients: int, inserter: str) -> dict:
    def one(q: str) -> tuple[float, int, list[str]]:
        t = time.perf_counter()
        try:
            r = httpx.post(base + "/api/ask", data={"question": q, "inserter": inserter}, timeout=300)
            urls = [p["url"] for p in r.json()["placements"]] if r.status_code == 200 else []
            return time.perf_counter() - t, r.status_code, urls
        except httpx.HTTPError:
            return time.perf_counter() - t, 0, []

    start_t = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        out = list(pool.map(one, questions))
    wall = time.perf_counter() - start_t
    lat = [o[0] * 1000 for o in out]
    image_errors = sum(httpx.get(base + u, timeout=30).status_code != 200 for o in out for u in o[2])
    return {"inserter": inserter, "clients": clients, "requests": len(questions), "seconds": wall,
            "throughput_rps": len(questions) / wall, "latency_ms_p50": float(np.percentile(lat, 50)),
            "latency_ms_p95": float(np.percentile(lat, 95)), "errors": sum(o[1] != 200 for o in out),
            "image_fetch_errors": image_errors}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--requests", type=int, default=24)
    ap.add_argument("--inserters", nargs="+", default=["rule", "r1"])
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    pool = [q.question for name in dataset_names(args.corpus)
            for q in select_items(read_dataset(args.corpus, name).qa, "dev")]
    questions = random.Random(0).sample(pool, args.requests)
    proc, base = start(args.index)
    rows = []
    try:
        run(base, questions[:2], 1, args.inserters[0])  # warm caches
        for inserter in args.inserters:
            for clients in args.clients:
                row = run(base, questions, clients, inserter)
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    if args.json:
        args.json.write_text(json.dumps({"index": str(args.index), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
