"""One run of bench/load.py: its question pool, the servers it starts, its steps and what it writes.

A ``LoadRun`` holds the shuffled pool (every question sent at most once in the run), the output dict
written to ``--json`` after every step, and ``<json stem>.requests.jsonl`` (one line per request). It
starts servers with the run's `m2io serve` flags (``--workers/--threads/--max-queue``, none with
``--legacy-server``), warms them up, measures a step (server CPU, host busy cores and /metrics around the
open-loop send) and steps up the rates until saturation; the scenarios (load_scenarios.py) are built from
these. Run from the repository root (``python -m doctest bench/load_run.py``):

>>> sys.path.insert(0, "bench")
>>> from load import parse_args
>>> run = LoadRun(parse_args(["--index", "index/openshot", "--corpora", "data/openshot", "--threads", "4"]))
>>> run.pool.total, run.server_args(2)
(37, ['--workers', '2', '--threads', '4', '--max-queue', '8'])
>>> step = run.new_step("workers1", "step", 1.0, 10.0, ["http://127.0.0.1:8000"])
>>> len(step.times) == len(step.questions) == run.pool.total - run.pool.remaining
True
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

from m2io.corpus.mramg import dataset_names

from load_client import Sender, Step, saturation, schedule, summarize
from load_procs import Server, log, run_m2io, workers_seen
from load_questions import make_pool, sent_keys
from load_report import HEADER, print_row
from load_stats import host_busy_seconds, metrics_delta, scrape_metrics, tree_cpu_seconds


class LoadRun:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.work: Path = args.work
        exclude = sent_keys(args.exclude_sent)
        self.pool, self.pool_counts = make_pool(args.question_corpora or args.corpora, args.questions, args.seed,
                                                exclude)
        self.indexed = {name for c in args.corpora for name in dataset_names(c)}
        self.prior = json.loads(args.capacity_from.read_text()) if args.capacity_from else None
        self.sender = Sender(args.timeout, args.inserter, self.indexed)
        self.out: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "argv": sys.argv[1:],
                          "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                          "host": {"cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg()},
                          "pool": {"total": self.pool.total, "per_corpus": self.pool_counts,
                                   "excluded_as_sent_before": len(exclude)},
                          "arrivals": args.arrivals, "servers": [], "scenarios": {}, "steps": []}
        self.requests_path = args.json.with_suffix(".requests.jsonl") if args.json else None
        if self.requests_path:
            self.requests_path.parent.mkdir(parents=True, exist_ok=True)
            self.requests_path.write_text("")
        self.index: Path | None = args.index
        self.live_servers: list[Server] = []

    # -- servers --
    def server_args(self, workers: int) -> list[str]:
        a = self.args
        extra = []
        if not a.legacy_server:
            threads = a.threads or max(1, (os.cpu_count() or 1) // workers)
            extra = ["--workers", str(workers), "--threads", str(threads), "--max-queue", str(a.max_queue)]
        return extra + a.serve_arg

    def start_servers(self, specs: list[tuple[str, Path, int, list[str]]]) -> list[Server]:
        """Start servers (label, index, workers, extra args) at once and wait until each is ready."""
        legacy = self.args.legacy_server
        servers = [Server(label, index, self.server_args(workers) + list(extra), self.work / "logs" / f"{label}.log",
                          workers=None if legacy else workers)
                   for label, index, workers, extra in specs]
        self.live_servers.extend(servers)
        for s in servers:
            s.launch()
        for s in servers:
            s.wait_ready(self.args.startup_timeout)
        for s in servers:
            s.workers_seen = None if legacy else workers_seen(s.base)
            self.out["servers"].append(s.record())
        return servers

    def start_server(self, label: str, index: Path, workers: int, extra: list[str] = ()) -> Server:
        return self.start_servers([(label, index, workers, list(extra))])[0]

    # -- output --
    def keep(self, records: list[dict]) -> None:
        if self.requests_path:
            with open(self.requests_path, "a", encoding="utf-8") as f:
                for r in records:
                    f.write(json.dumps(r) + "\n")

    def save(self) -> None:
        self.out["pool"].update(left=self.pool.remaining, used=self.pool.total - self.pool.remaining)
        if self.args.json:
            self.args.json.parent.mkdir(parents=True, exist_ok=True)
            self.args.json.write_text(json.dumps(self.out, indent=1, default=str) + "\n")

    # -- steps --
    def new_step(self, scenario: str, phase: str, rate: float, seconds: float, targets: list[str]) -> Step:
        rng = random.Random(f"{self.args.seed}/{scenario}/{phase}/{rate}")
        times = schedule(rate, seconds, self.args.arrivals, rng)
        questions = self.pool.take(len(times), f"{scenario} {phase} at {rate:g}/s")
        return Step(scenario, phase, rate, seconds, times, questions, targets)

    def warm_up(self, scenario: str, targets: list[str]) -> None:
        n = self.args.warmup
        if not n:
            return
        qs = self.pool.take(n * len(targets), f"{scenario} warm-up")

        async def go():
            out = []
            async with self.sender.client() as c:
                for i, q in enumerate(qs):
                    rec = await self.sender.ask(c, targets[i % len(targets)], q.text)
                    rec.update(scenario=scenario, phase="warmup", set=q.set, corpus=q.corpus, qid=q.id,
                               in_index=q.corpus in self.indexed)
                    out.append(rec)
            return out

        recs = asyncio.run(go())
        self.keep(recs)
        log(f"{scenario} warm-up: {[round(r['latency_ms']) for r in recs]} ms, "
            f"outcomes {[r['outcome'] for r in recs]}")

    def measure(self, step: Step, servers: list[Server], stop=None, during=None) -> tuple[dict, list[dict], dict]:
        """Run one step with CPU and /metrics around it; (row, records, timing)."""
        roots = [s.proc.pid for s in servers if s.proc]
        why: list[str] = []
        m0 = scrape_metrics(step.targets, why)
        cpu0, host0, t = tree_cpu_seconds(roots), host_busy_seconds(), time.perf_counter()
        records, timing = asyncio.run(self.sender.run(step, stop, during))
        wall = time.perf_counter() - t
        cpu1, host1 = tree_cpu_seconds(roots), host_busy_seconds()
        m1 = scrape_metrics(step.targets, why)
        unsent = step.questions[timing["sent"]:]
        if unsent:
            self.pool.give_back(unsent)
        row = {"scenario": step.scenario, "phase": step.phase, "arrivals": self.args.arrivals,
               **summarize(records, timing, step.seconds, step.rate),
               "server_cpu_cores": (cpu1 - cpu0) / wall, "host_busy_cores": (host1 - host0) / wall,
               "metrics": metrics_delta(m0, m1)}
        row["cache_hit_rate"] = row["metrics"]["cache_hit_rate"] if row["metrics"] else None
        row["metrics_errors"] = why
        if len(step.targets) > 1:
            row["per_target"] = {b: {"sent": sum(r["target"] == b for r in records),
                                     "ok": sum(r["target"] == b and r["outcome"] == "ok" for r in records)}
                                 for b in step.targets}
        self.keep(records)
        self.out["steps"].append(row)
        if row["client_lagging"]:
            log(f"WARNING: the client lagged (p99 {row['lag_ms_p99']:.0f} ms): this step measured the client")
        return row, records, timing

    def step_up(self, scenario: str, servers: list[Server]) -> dict:
        """The rates one by one until saturation; the scenario's summary."""
        targets = [s.base for s in servers]
        self.warm_up(scenario, targets)
        print(f"\n-- {scenario}\n{HEADER}", flush=True)
        rows, prev = [], None
        for rate in self.args.rates:
            step = self.new_step(scenario, "step", rate, self.args.seconds, targets)
            log(f"{scenario}: {rate:g}/s for {self.args.seconds:g} s ({len(step.times)} requests, "
                f"pool left {self.pool.remaining})")
            row, _, _ = self.measure(step, servers)
            row["saturated_by"] = saturation(row, prev, self.args.p95_limit)
            rows.append(row)
            print_row(row)
            self.save()
            if row["saturated_by"]:
                break
            prev = row
        sat = next((r for r in rows if r["saturated_by"]), None)
        best = max(rows, key=lambda r: r["throughput_rps"])
        return {"steps": len(rows), "saturated": sat is not None,
                "saturating_rate": sat["rate"] if sat else None,
                "saturated_by": sat["saturated_by"] if sat else None,
                "capacity_rps": best["throughput_rps"], "capacity_at_rate": best["rate"],
                "capacity_p95_ms": best["p95_ms"],
                "note": None if sat else "never saturated: capacity is a lower bound; add higher --rates"}

    def capacity_for(self, what: str) -> tuple[float, str]:
        """The capacity of workers2 (else workers1) of this run, else of ``--capacity-from``; and where it came from."""
        for where, scenarios in (("", self.out["scenarios"]),
                                 (f" in {self.args.capacity_from}", (self.prior or {}).get("scenarios", {}))):
            for name in ("workers2", "workers1"):
                sc = scenarios.get(name)
                if sc and sc.get("capacity_rps"):
                    return sc["capacity_rps"], name + where
        raise SystemExit(f"{what}: no capacity measured in this run; give the rate (--overload-rate / --reindex-rate)")

    # -- index building --
    def ensure_index(self) -> Path:
        if self.index is not None:
            return self.index
        out = self.work / "index"
        stamp = self.work / "index.corpora.json"
        want = [str(c.resolve()) for c in self.args.corpora]
        if out.exists() and stamp.exists() and json.loads(stamp.read_text()) == want:
            log(f"reusing {out} (built from {want})")
            self.out["index_build"] = {"path": str(out), "reused": True}
        else:
            secs = run_m2io(["index", *map(str, self.args.corpora), "--out", str(out)],
                            self.work / "logs" / "index-build.log", "combined index")
            stamp.write_text(json.dumps(want))
            self.out["index_build"] = {"path": str(out), "reused": False, "seconds": secs}
        self.index = out
        return out
