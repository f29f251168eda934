"""The client of bench/load.py: open-loop arrival schedules, the async sender, step rows and the saturation rule.

A ``Step`` is one rate for some seconds: its seeded send times (``schedule``: Poisson or evenly spaced), one
pool question per send time, and the servers it goes to (round-robin). ``Sender.run`` sends it whatever the
completions and returns one record per request (outcome ok, rejected (503), http_error, bad_body, timeout or
conn_error; latency, send lag, the question's set and corpus) and the step's timing; ``summarize`` turns
these into the step's row and ``saturation`` says why a row is saturated (empty: it is not).

>>> schedule(2, 2, "uniform", random.Random(0))
[0.0, 0.5, 1.0, 1.5]
>>> recs = [{"outcome": "ok", "latency_ms": 200.0, "done_s": 1.2, "lag_ms": 1.0, "set": "user"},
...         {"outcome": "rejected", "latency_ms": 3.0, "done_s": 0.6, "lag_ms": 2.0, "set": "user", "retry_after": "1"}]
>>> row = summarize(recs, {"window_s": 2.0, "drain_s": 0.0, "client_cpu_s": 0.1}, 2.0, 1.0)
>>> row["offered_rps"], row["throughput_rps"], row["p50_ms"], failed(row)
(1.0, 0.5, 200.0, 1)
>>> saturation(row, None, p95_limit_s=5.0)
['throughput < 85% of offered', '> 5% failed (503s included)']
"""
from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass

import httpx
import numpy as np

from load_questions import Question
from load_stats import metric_sum, parse_metrics

LAG_LIMIT_MS = 50.0


# --- the open-loop sender -----------------------------------------------------------------------------------

def schedule(rate: float, seconds: float, kind: str, rng: random.Random) -> list[float]:
    """Send times in [0, seconds): Poisson (exponential gaps) or evenly spaced."""
    if kind == "uniform":
        return [i / rate for i in range(int(math.floor(seconds * rate)))]
    out, t = [], rng.expovariate(rate)
    while t < seconds:
        out.append(t)
        t += rng.expovariate(rate)
    return out


@dataclass
class Step:
    scenario: str
    phase: str
    rate: float
    seconds: float
    times: list[float]
    questions: list[Question]
    targets: list[str]


class Sender:
    def __init__(self, timeout: float, inserter: str, indexed: set[str]):
        self.timeout, self.inserter, self.indexed = timeout, inserter, indexed

    def client(self, fresh: bool = False) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0 if fresh else 256)
        return httpx.AsyncClient(timeout=httpx.Timeout(self.timeout + 5.0), limits=limits)

    async def ask(self, client: httpx.AsyncClient, base: str, text: str) -> dict:
        """One POST /api/ask; a record with its outcome: ok, rejected (503), http_error, timeout, conn_error."""
        rec = {"target": base}
        t = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                r = await client.post(base + "/api/ask", json={"question": text, "inserter": self.inserter})
            rec["latency_ms"] = (time.perf_counter() - t) * 1000
            rec["status"] = r.status_code
            if r.status_code == 200:
                try:
                    body = r.json()
                    rec["sources"] = [s.get("doc_id") for s in body.get("sources", [])]
                    rec["timings_ms"] = body.get("timings_ms")
                    rec["outcome"] = "ok" if "placements" in body else "bad_body"
                except ValueError:
                    rec["outcome"] = "bad_body"
            elif r.status_code == 503:
                rec["outcome"] = "rejected"
                rec["retry_after"] = r.headers.get("retry-after")
            else:
                rec["outcome"] = "http_error"
                rec["detail"] = r.text[:200]
        except (TimeoutError, httpx.TimeoutException):
            rec.update(outcome="timeout", latency_ms=(time.perf_counter() - t) * 1000)
        except httpx.TransportError as e:
            rec.update(outcome="conn_error", latency_ms=(time.perf_counter() - t) * 1000,
                       detail=f"{e.__class__.__name__}: {e}"[:200])
        return rec

    async def sample_queue(self, targets: list[str], every: float, seen: list[float]) -> None:
        """m2io_queue_depth (summed over targets) every ``every`` s while the step runs; stops at the first miss."""
        async with httpx.AsyncClient(timeout=5) as c:
            while True:
                total = 0.0
                for b in targets:
                    try:
                        r = await c.get(b + "/metrics")
                        if r.status_code != 200:
                            return
                        total += metric_sum(parse_metrics(r.text), "m2io_queue_depth")
                    except (httpx.HTTPError, ValueError):
                        return
                seen.append(total)
                await asyncio.sleep(every)

    async def run(self, step: Step, stop: asyncio.Event | None = None, during=None) -> tuple[list[dict], dict]:
        """Send ``step`` open-loop (round-robin over its targets); the records and the step's timing.

        ``stop``: ends the schedule early (unsent questions are left for the pool). ``during``: a coroutine
        function run alongside, given the step's start time; its result comes back under "during".
        """
        clients = {b: self.client() for b in step.targets}
        tasks, records = [], []

        async def one(i: int, q: Question, base: str, sched: float, t0: float) -> None:
            now = time.perf_counter()
            rec = await self.ask(clients[base], base, q.text)
            rec.update(i=i, scenario=step.scenario, phase=step.phase, rate=step.rate, scheduled_s=sched,
                       sent_s=now - t0, lag_ms=(now - t0 - sched) * 1000, set=q.set, corpus=q.corpus, qid=q.id,
                       in_index=q.corpus in self.indexed, done_s=time.perf_counter() - t0)
            records.append(rec)

        cpu0 = time.process_time()
        t0 = time.perf_counter()
        side = asyncio.create_task(during(t0)) if during else None
        depths: list[float] = []
        sampler = asyncio.create_task(self.sample_queue(step.targets, 1.0, depths))
        sent = 0
        try:
            for i, (sched, q) in enumerate(zip(step.times, step.questions)):
                if stop is not None and stop.is_set():
                    break
                delay = t0 + sched - time.perf_counter()
                if delay > 0:
                    if stop is not None:
                        try:
                            await asyncio.wait_for(stop.wait(), delay)
                            break
                        except TimeoutError:
                            pass
                    else:
                        await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(i, q, step.targets[i % len(step.targets)], sched, t0)))
                sent += 1
            window_end = time.perf_counter()
            if stop is None:
                await asyncio.sleep(max(0.0, t0 + step.seconds - time.perf_counter()))
                window_end = time.perf_counter()
            await asyncio.gather(*tasks)
            extra = await side if side else None
        finally:
            for t in tasks:
                t.cancel()
            if side:
                side.cancel()
            sampler.cancel()
            for c in clients.values():
                await c.aclose()
        timing = {"window_s": window_end - t0, "drain_s": time.perf_counter() - window_end, "sent": sent,
                  "client_cpu_s": time.process_time() - cpu0, "during": extra,
                  "queue_depth_max": max(depths, default=None),
                  "queue_depth_mean": float(np.mean(depths)) if depths else None}
        return records, timing


# --- step rows ----------------------------------------------------------------------------------------------

def _pct(xs: list[float], q: float) -> float | None:
    return float(np.percentile(xs, q)) if xs else None


def summarize(records: list[dict], timing: dict, seconds: float, rate: float) -> dict:
    ok = [r for r in records if r["outcome"] == "ok"]
    in_window = [r for r in ok if r["done_s"] <= timing["window_s"]]
    lat = [r["latency_ms"] for r in ok]
    rej = [r for r in records if r["outcome"] == "rejected"]
    rej_lat = [r["latency_ms"] for r in rej]
    lags = [r["lag_ms"] for r in records]
    errors: dict[str, int] = {}
    for r in records:
        if r["outcome"] in ("http_error", "bad_body"):
            key = f"{r['outcome']}:{r.get('status')}"
            errors[key] = errors.get(key, 0) + 1
    window = timing["window_s"] or seconds
    span = max([window] + [r["done_s"] for r in ok])  # the step's start to its last 200 (a backlog drains after)
    by_set = {}
    groups = {s: (lambda r, s=s: r["set"] == s) for s in sorted({r["set"] for r in records})}
    if any(not r.get("in_index", True) for r in records):
        groups["off_index"] = lambda r: not r.get("in_index", True)
    for s, member in groups.items():
        mine = [r["latency_ms"] for r in ok if member(r)]
        by_set[s] = {"sent": sum(member(r) for r in records), "ok": len(mine),
                     "p50_ms": _pct(mine, 50), "p95_ms": _pct(mine, 95)}
    stage = {}
    for key in sorted({k for r in ok for k in (r.get("timings_ms") or {})}):
        vals = [r["timings_ms"][key] for r in ok if isinstance((r.get("timings_ms") or {}).get(key), (int, float))]
        stage[key] = _pct(vals, 50)
    sent = len(records)
    return {
        "rate": rate, "seconds": round(window, 2), "sent": sent, "offered_rps": sent / window,
        "ok": len(ok), "throughput_rps": len(ok) / span, "ok_in_window_rps": len(in_window) / window,
        "ok_after_window": len(ok) - len(in_window),
        "p50_ms": _pct(lat, 50), "p95_ms": _pct(lat, 95), "p99_ms": _pct(lat, 99), "max_ms": max(lat, default=None),
        "by_set": by_set, "answer_timings_ms_p50": stage,
        "rejected_503": len(rej), "rejected_p50_ms": _pct(rej_lat, 50), "rejected_max_ms": max(rej_lat, default=None),
        "rejected_without_retry_after": sum(not r.get("retry_after") for r in rej),
        "errors": errors, "error_count": sum(errors.values()),
        "timeouts": sum(r["outcome"] == "timeout" for r in records),
        "conn_errors": sum(r["outcome"] == "conn_error" for r in records),
        "lag_ms_p50": _pct(lags, 50), "lag_ms_p99": _pct(lags, 99), "lag_ms_max": max(lags, default=None),
        "client_lagging": bool(lags) and _pct(lags, 99) > LAG_LIMIT_MS,
        "client_cpu_cores": timing["client_cpu_s"] / (window + timing["drain_s"]),
        "drain_s": round(timing["drain_s"], 2),
        "queue_depth_max": timing.get("queue_depth_max"), "queue_depth_mean": timing.get("queue_depth_mean"),
    }


def failed(row: dict) -> int:
    return row["rejected_503"] + row["error_count"] + row["timeouts"] + row["conn_errors"]


def saturation(row: dict, prev: dict | None, p95_limit_s: float) -> list[str]:
    why = []
    if row["p95_ms"] is None or row["p95_ms"] > p95_limit_s * 1000:
        why.append(f"p95 > {p95_limit_s:g} s")
    if row["throughput_rps"] < 0.85 * row["offered_rps"]:
        why.append("throughput < 85% of offered")
    if row["sent"] and failed(row) > 0.05 * row["sent"]:
        why.append("> 5% failed (503s included)")
    if prev is not None and row["offered_rps"] >= 1.2 * prev["offered_rps"] and \
            row["throughput_rps"] < 1.05 * prev["throughput_rps"]:
        why.append("throughput stopped growing")
    return why
