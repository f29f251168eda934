"""The five scenarios of bench/load.py, each on fresh servers of a ``LoadRun``; each returns its summary.

workers1 / workers2 (``workers_scenario``): the rates stepped up to saturation on one server. overload: one
step at twice the measured capacity, then checks (only 200s and 503s, fast 503s with Retry-After, /health
and one ask after). reindex: load while ``m2io index`` adds a document to a copy of the index, then probes
until every worker answers with it. replicas: two servers on one pgvector index (pgserver), round-robin.
The rules and the JSON they write are described in bench/load.py. One scenario alone, e.g. overload at a
given rate (the others need a capacity: ``--capacity-from`` an earlier run's JSON)::

    .venv/bin/python bench/load.py --index index/openshot --corpora data/openshot \
        --scenarios overload --overload-rate 4 --overload-seconds 10 --json /tmp/m2io-load/overload.json
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import time

from load_client import failed
from load_pgcopy import copy as copy_to_pgvector
from load_procs import ROOT, Server, health, log, m2io_cmd
from load_questions import copy_with_keyword_doc, keyword_question, make_keyword
from load_report import print_row
from load_run import LoadRun


def workers_scenario(run: LoadRun, name: str, workers: int) -> dict:
    s = run.start_server(name, run.ensure_index(), workers)
    try:
        summary = run.step_up(name, [s])
    finally:
        s.stop()
    summary.update(workers=s.workers, startup_s=s.startup_s, workers_seen=s.workers_seen)
    return summary


def _rate(run: LoadRun, scenario: str, given: float | None, factor: float) -> tuple[float, str]:
    """The rate of a scenario and where it came from: ``--<scenario>-rate``, else ``factor`` x a capacity."""
    if given:
        return given, f"--{scenario}-rate"
    cap, src = run.capacity_for(scenario)
    return round(factor * cap, 2), f"{factor:g} x capacity of {src} ({cap:.2f}/s)"


def overload_scenario(run: LoadRun) -> dict:
    a = run.args
    rate, basis = _rate(run, "overload", a.overload_rate, 2.0)
    s = run.start_server("overload", run.ensure_index(), a.overload_workers)
    try:
        run.warm_up("overload", [s.base])
        step = run.new_step("overload", "overload", rate, a.overload_seconds, [s.base])
        log(f"overload: {rate:g}/s ({basis}) for {a.overload_seconds:g} s ({len(step.times)} requests)")
        row, records, _ = run.measure(step, [s])
        print_row(row)
        health_after = asyncio.run(health(s.base))
        q = run.pool.take(1, "overload after-check")[0]

        async def after():
            async with run.sender.client() as c:
                return await run.sender.ask(c, s.base, q.text)

        ask = asyncio.run(after())
        ask.update(scenario="overload", phase="after", set=q.set, corpus=q.corpus, qid=q.id,
                   in_index=q.corpus in run.indexed)
        run.keep([ask])
    finally:
        s.stop()
    other = {k: v for k, v in row["errors"].items()}
    checks = {
        "only_200_and_503": not other and not row["timeouts"] and not row["conn_errors"],
        "no_timeouts": row["timeouts"] == 0,
        "some_503": row["rejected_503"] > 0,
        "every_503_within_100ms": row["rejected_503"] == 0 or row["rejected_max_ms"] <= 100.0,
        "every_503_has_retry_after": row["rejected_without_retry_after"] == 0,
        "health_200_after": health_after.get("http") == 200,
        "ask_200_after": ask["outcome"] == "ok",
    }
    return {"rate": rate, "rate_basis": basis, "workers": s.workers, "checks": checks,
            "passed": all(checks.values()), "health_after": health_after,
            "ask_after": {k: ask.get(k) for k in ("status", "outcome", "latency_ms")},
            "startup_s": s.startup_s, "row": {k: row[k] for k in (
                "sent", "ok", "throughput_rps", "p50_ms", "p95_ms", "rejected_503", "rejected_p50_ms",
                "rejected_max_ms", "errors", "timeouts", "conn_errors")}}


def reindex_scenario(run: LoadRun) -> dict:
    a = run.args
    rate, basis = _rate(run, "reindex", a.reindex_rate, a.reindex_fraction)
    base_index = run.ensure_index()
    corpus = a.reindex_corpus or min(a.corpora, key=lambda c: sum(
        len(p.read_bytes().splitlines()) for p in c.glob("doc_*.jsonl")))
    rdir = run.work / "reindex"
    if rdir.exists():
        shutil.rmtree(rdir)
    index = rdir / "index"
    log(f"reindex: copying {base_index} -> {index}")
    shutil.copytree(base_index, index)
    keyword = make_keyword(random.Random(f"{time.time_ns()}"))
    name, doc_id = copy_with_keyword_doc(corpus, rdir / "corpus" / corpus.name, keyword)
    log(f"reindex: corpus copy {rdir / 'corpus' / corpus.name} with {doc_id!r} (keyword {keyword!r})")
    s = run.start_server("reindex", index, a.reindex_workers)
    probe_n = iter(range(10 ** 6))
    probes: list[dict] = []

    def has_doc(rec: dict) -> bool:
        return rec["outcome"] == "ok" and any(str(d).endswith(doc_id) for d in rec.get("sources") or [])

    async def check(t0: float, t_ref: float) -> list[dict]:
        """10 concurrent asks on fresh connections, each a distinct question about the keyword."""
        async def one(text: str) -> dict:
            sent = time.perf_counter()
            r = await run.sender.ask(c, s.base, text)
            done = time.perf_counter()
            r.update(scenario="reindex", phase="probe", question=text, found=has_doc(r), t_s=done - t0,
                     sent_since_index_end_s=sent - t_ref, since_index_end_s=done - t_ref)
            return r

        async with run.sender.client(fresh=True) as c:
            recs = await asyncio.gather(*(one(keyword_question(keyword, next(probe_n)))
                                          for _ in range(a.probe_asks)))
        probes.extend(recs)
        return recs

    stop = asyncio.Event()

    async def during(t0: float) -> dict:
        try:
            return await reindex_while_loaded(t0)
        finally:
            stop.set()

    async def reindex_while_loaded(t0: float) -> dict:
        out: dict = {}
        await asyncio.sleep(a.reindex_delay)
        before = await check(t0, t0)
        out["found_before_index"] = sum(r["found"] for r in before)
        out["health_before"] = await health(s.base)
        cmd = m2io_cmd("index", str(rdir / "corpus" / corpus.name), "--out", str(index), *a.index_arg)
        log_path = run.work / "logs" / "reindex-index.log"
        log(f"reindex: {' '.join(cmd[3:])} while serving at {rate:g}/s")
        t_start = time.perf_counter()
        with open(log_path, "ab") as lf:
            proc = await asyncio.create_subprocess_exec(*cmd, stdout=lf, stderr=subprocess.STDOUT,
                                                        stdin=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
        try:
            rc = await proc.wait()
        finally:
            if proc.returncode is None:
                os.killpg(proc.pid, signal.SIGKILL)
        t_end = time.perf_counter()
        out.update(index_rc=rc, index_seconds=t_end - t_start, index_started_s=t_start - t0,
                   index_log=str(log_path), index_output=log_path.read_text()[-600:])
        first = all_s = None
        deadline = t_end + a.visible_timeout
        while time.perf_counter() < deadline and rc == 0:
            recs = await check(t0, t_end)
            if first is None and any(r["found"] for r in recs):
                first = min(r["since_index_end_s"] for r in recs if r["found"])
            oks = [r for r in recs if r["outcome"] == "ok"]
            # every answer of the check has the document, and at least half of its asks were answered (the
            # others may be 503s: 10 asks at once can overflow a worker's queue)
            if oks and all(r["found"] for r in oks) and 2 * len(oks) >= len(recs):
                all_s = max(r["since_index_end_s"] for r in oks)
                break
            await asyncio.sleep(a.probe_every)
        out.update(first_visible_s=first, all_visible_s=all_s, health_after=await health(s.base))
        await asyncio.sleep(a.reindex_tail)
        return out

    try:
        run.warm_up("reindex", [s.base])
        step = run.new_step("reindex", "reindex", rate, a.reindex_max_seconds, [s.base])
        log(f"reindex: {rate:g}/s ({basis}), up to {a.reindex_max_seconds:g} s "
            f"({len(step.times)} questions reserved)")
        row, records, timing = run.measure(step, [s], stop=stop, during=during)
        print_row(row)
    finally:
        s.stop()
    run.keep(probes)
    d = timing["during"] or {}
    failures = failed(row)
    probe_503 = sum(p["outcome"] == "rejected" for p in probes)
    probe_fail = sum(p["outcome"] not in ("ok", "rejected") for p in probes)
    return {"rate": rate, "rate_basis": basis, "workers": s.workers, "corpus": str(corpus),
            "dataset": name, "new_doc_id": doc_id, "keyword": keyword, "startup_s": s.startup_s,
            "index_seconds": d.get("index_seconds"), "index_rc": d.get("index_rc"),
            "failed_requests_during_step": failures, "probe_asks_503": probe_503, "probe_asks_failed": probe_fail,
            "found_before_index": d.get("found_before_index"),
            "first_visible_s": d.get("first_visible_s"), "all_workers_visible_s": d.get("all_visible_s"),
            "health_before": d.get("health_before"), "health_after": d.get("health_after"),
            "checks": {"no_failed_requests": failures == 0, "no_failed_probes": probe_fail == 0,
                       "index_ok": d.get("index_rc") == 0,
                       "absent_before": d.get("found_before_index") == 0,
                       "visible": d.get("all_visible_s") is not None},
            "load_window_s": timing["window_s"],
            "load_covered_index_and_check": d.get("index_started_s") is not None and d.get("index_seconds") is not None
            and timing["window_s"] >= d["index_started_s"] + d["index_seconds"] + (d.get("all_visible_s") or 0),
            "probe_asks": len(probes), "index_output_tail": d.get("index_output")}


def replicas_scenario(run: LoadRun) -> dict:
    import pgserver

    a = run.args
    pgdata = run.work / "pgdata"
    run.work.mkdir(parents=True, exist_ok=True)
    log(f"replicas: PostgreSQL (pgserver) in {pgdata}")
    t = time.perf_counter()
    pg = pgserver.get_server(pgdata, cleanup_mode="stop")
    servers: list[Server] = []
    try:
        dsn = pg.get_uri()
        pg_start = time.perf_counter() - t
        pg_index = run.work / "pgindex"
        stamp = run.work / "pgindex.corpora.json"
        want = [str(c.resolve()) for c in a.corpora]
        build = None
        if not (pg_index.exists() and stamp.exists() and json.loads(stamp.read_text()) == want):
            # the LanceDB index's rows, copied (the same rows m2io index would encode again: load_pgcopy.py)
            build = copy_to_pgvector(run.ensure_index(), pg_index, dsn)["seconds"]
            log(f"pgvector index: copied from {run.ensure_index()} in {build:.0f} s")
            stamp.write_text(json.dumps(want))
        servers += run.start_servers([(f"replica{n}", pg_index, a.replica_workers, ["--pg-dsn", dsn])
                                      for n in (1, 2)])
        summary = run.step_up("replicas", servers)
    finally:
        for s in servers:
            s.stop()
        pg.cleanup()
    summary.update(replicas=2, workers_each=servers[0].workers if servers else None, postgres_start_s=pg_start,
                   pgindex_build_s=build, startup_s=[s.startup_s for s in servers])
    return summary
