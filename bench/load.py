"""An open-loop load test of `m2io serve`: fixed arrival rates, distinct questions, servers started here.

Tiny check (minutes; add ``--legacy-server`` for a server without --workers/--threads/--max-queue)::

    .venv/bin/python bench/load.py --index index/openshot --corpora data/openshot \
        --scenarios workers1 --rates 0.5 1 --seconds 10 --json /tmp/m2io-load/tiny.json

Full run (builds WORK/index once: ``m2io index data/kicad data/wireshark data/debhandbook data/grass --out
/tmp/m2io-load/index``, and for replicas a pgvector index in WORK/pgindex; both reused by later runs).
The four indexed manuals have 668 distinct questions, fewer than the five scenarios can take (the start of a
run prints the most each can take: 1657 here), so the pool also holds the questions of the other manuals
in data/ (1729 in all; they are marked ``in_index: false`` and their latency is reported apart as
``by_set.off_index``)::

    .venv/bin/python bench/load.py \
        --scenarios workers1 workers2 overload reindex replicas \
        --question-corpora data/* --rates 0.5 1 2 3 4 6 --seconds 20 \
        --json bench/results/load/load.json

Only questions about the indexed manuals: ``--scenarios workers1 workers2 --seconds 20`` fits the 668 in
every case; then the other three with ``--capacity-from <that json>`` and ``--exclude-sent <that
json's .requests.jsonl>`` (each question still sent once over both) fit only if saturation came early.

What it does
------------
- Questions (load_questions.py): one pool of distinct questions, every item of the corpus folders
  (``--question-corpora``, default ``--corpora``), template and user-phrased, shuffled with ``--seed``.
  Each is sent at most once in the run (warm-ups, steps, overload, reindex, replicas and the after-overload
  ask all take from the pool); a step whose schedule needs more than is left stops the run with an error
  (exit 2, the JSON written) before it sends anything. Each request records its set (template/user), corpus
  and question id. The reindex probes are not from the pool: distinct made-up questions about the new
  document's word.
- Index: ``m2io index <corpora> --out WORK/index`` once (reused while the corpus list is the same),
  unless ``--index`` is given.
- Servers (load_procs.py, load_run.py): ``m2io serve --workers N --threads T --max-queue Q`` (``--threads``:
  cores / workers by default; ``--max-queue`` 8), plus each ``--serve-arg``; ``--legacy-server`` passes none
  of the three (a server without them: its own single process).
- Arrivals (load_client.py): open loop. For each rate of ``--rates`` a seeded schedule of ``--seconds`` is
  sent whatever the completions (asyncio + httpx): Poisson by default (exponential gaps; the count varies
  around rate x seconds), ``--arrivals uniform`` evenly spaced. The client's lag (actual minus scheduled
  send) is reported; a p99 over 50 ms marks the step ``client_lagging``, with the client's own CPU. Each
  request has a total ``--timeout``; a timeout is an error counted apart from HTTP errors and connection errors.
- Per step (load_client.py, load_stats.py): rate asked and offered (sent / window), throughput (200s /
  seconds from the step's start to its last 200, at least the window: the offered rate while the server
  keeps up, its capacity once a backlog drains after the window), latency p50/p95/p99 of 200s (also per
  set), 503s (count, p50, max, without Retry-After), other errors, server CPU (utime+stime of the server's
  process tree from /proc, as cores), the host's busy cores, the client's CPU, /metrics deltas (hit rate per
  cache, stage means, requests by route and status, index version per worker) and the queue depth sampled
  each second. Printed as one table line per step (load_report.py).
- Saturation: a step is saturated when p95 > ``--p95-limit`` s, throughput < 85 % of the offered rate,
  more than 5 % of requests fail (503s included), or throughput grows < 5 % while the offered rate grows
  >= 20 %. Stepping stops after the first saturated step; a scenario's capacity is its largest throughput.
- Scenarios (load_scenarios.py; each with fresh servers, reported apart):
  workers1 / workers2: one / two worker processes behind one port (``--threads``: cores / workers by
  default, so both use the same cores); then capacity(workers2) / capacity(workers1).
  overload: ``--overload-rate`` or 2 x the capacity of workers2 (else workers1), for ``--overload-seconds``
  on a ``--overload-workers`` server: only 200s and 503s expected, every 503 within 100 ms with
  Retry-After, no timeouts; then /health must be 200 and one ask must succeed.
  reindex: at ``--reindex-fraction`` of that capacity, on a copy of the index, ``m2io index`` runs during
  the step (after ``--reindex-delay`` s) on a copy of one corpus folder (``--reindex-corpus``, default
  the smallest) whose doc_<name>.jsonl has one more document about a made-up word; failed load requests
  during the step must be 0. From the end of ``m2io index``, every ``--probe-every`` s, ``--probe-asks``
  concurrent asks on fresh connections (so that every worker is hit), each a distinct question about the
  word: seconds until the first answer lists the new document in ``sources``, and until a whole check
  does (every 200 of it lists the document; 503s from the burst are counted apart).
  replicas: a PostgreSQL server (pgserver, data in WORK/pgdata) with a pgvector index of the corpora
  (copied once into WORK/pgindex from WORK/index by ``load_pgcopy.py``: the same rows, not encoded twice), two ``m2io serve --pg-dsn`` on two ports, requests round-robin; the same
  rates and saturation rule.
- Output: ``--json`` (every step row, scenario summaries, every server with its startup time to a
  ready /health) and ``<json stem>.requests.jsonl`` (one line per request). Server logs in WORK/logs/.
  Servers and indexers run in their own process groups on 127.0.0.1 on free ports and are stopped
  (SIGTERM to the group, SIGKILL after 20 s) at the end, on an error, on Ctrl-C and on SIGTERM.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_procs import ROOT, log, stop_all, stop_at_exit  # noqa: E402
from load_questions import PoolExhausted  # noqa: E402
from load_report import print_scenario  # noqa: E402
from load_run import LoadRun  # noqa: E402
from load_scenarios import overload_scenario, reindex_scenario, replicas_scenario, workers_scenario  # noqa: E402

SCENARIOS = ("workers1", "workers2", "overload", "reindex", "replicas")
DEFAULT_CORPORA = ["data/kicad", "data/wireshark", "data/debhandbook", "data/grass"]


def run_scenarios(run: LoadRun) -> None:
    """The asked scenarios in SCENARIOS order, each saved and printed; then capacity(workers2) / capacity(workers1)."""
    order = [s for s in SCENARIOS if s in run.args.scenarios]
    for name in order:
        log(f"=== scenario {name} (pool left {run.pool.remaining} of {run.pool.total})")
        t = time.perf_counter()
        if name == "workers1":
            summary = workers_scenario(run, "workers1", 1)
        elif name == "workers2":
            summary = workers_scenario(run, "workers2", 2)
        elif name == "overload":
            summary = overload_scenario(run)
        elif name == "reindex":
            summary = reindex_scenario(run)
        else:
            summary = replicas_scenario(run)
        summary["wall_s"] = time.perf_counter() - t
        run.out["scenarios"][name] = summary
        run.save()
        print_scenario(name, summary, [r for r in run.out["steps"] if r["scenario"] == name])
    w1, w2 = run.out["scenarios"].get("workers1"), run.out["scenarios"].get("workers2")
    if w1 and w2 and w1["capacity_rps"]:
        run.out["workers2_over_workers1"] = {
            "capacity_ratio": w2["capacity_rps"] / w1["capacity_rps"],
            "both_saturated": w1["saturated"] and w2["saturated"]}
        print(f"\nworkers2 / workers1 capacity: {w2['capacity_rps']:.2f} / {w1['capacity_rps']:.2f} = "
              f"{run.out['workers2_over_workers1']['capacity_ratio']:.2f}"
              f"{'' if w1['saturated'] and w2['saturated'] else ' (not both saturated: a lower bound)'}")


# --- the command line -----------------------------------------------------------------------------------------

def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS[:2]))
    ap.add_argument("--rates", type=float, nargs="+", default=[0.5, 1, 2, 3, 4, 6], help="requests/s, ascending")
    ap.add_argument("--seconds", type=float, default=30.0, help="length of each rate step")
    ap.add_argument("--arrivals", choices=["poisson", "uniform"], default="poisson")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=30.0, help="per-request total timeout (s)")
    ap.add_argument("--p95-limit", type=float, default=5.0, help="a step with a larger p95 (s) is saturated")
    ap.add_argument("--inserter", default="rule")
    ap.add_argument("--warmup", type=int, default=3, help="sequential asks per server before a scenario")
    ap.add_argument("--corpora", type=Path, nargs="+", default=[Path(c) for c in DEFAULT_CORPORA],
                    help="corpus folders: the combined index and the question pool")
    ap.add_argument("--question-corpora", type=Path, nargs="+", default=None,
                    help="corpus folders whose questions make the pool [--corpora]; questions of corpora not in the "
                         "index are marked in_index=false and reported apart (by_set.off_index)")
    ap.add_argument("--questions", type=Path, default=Path("questions"), help="folder of user-phrased <name>.jsonl")
    ap.add_argument("--exclude-sent", type=Path, nargs="+", default=[],
                    help="<run>.requests.jsonl of earlier runs: their questions are left out of the pool")
    ap.add_argument("--capacity-from", type=Path, default=None,
                    help="an earlier run's JSON: its workers2 (else workers1) capacity sets overload/reindex rates")
    ap.add_argument("--index", type=Path, default=None, help="serve this index instead of building WORK/index")
    ap.add_argument("--work", type=Path, default=Path("/tmp/m2io-load"))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--legacy-server", action="store_true",
                    help="pass none of --workers/--threads/--max-queue to m2io serve (a server without them)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads per worker [cores // workers]")
    ap.add_argument("--max-queue", type=int, default=8)
    ap.add_argument("--serve-arg", action="append", default=[],
                    help="one more m2io serve argument, repeatable; write options as --serve-arg=--refresh-seconds")
    ap.add_argument("--index-arg", action="append", default=[],
                    help="one more m2io index argument for the reindex run (--index-arg=--batch-docs)")
    ap.add_argument("--startup-timeout", type=float, default=300.0)
    ap.add_argument("--overload-rate", type=float, default=None)
    ap.add_argument("--overload-seconds", type=float, default=20.0)
    ap.add_argument("--overload-workers", type=int, default=2)
    ap.add_argument("--reindex-rate", type=float, default=None)
    ap.add_argument("--reindex-fraction", type=float, default=0.65)
    ap.add_argument("--reindex-workers", type=int, default=2)
    ap.add_argument("--reindex-corpus", type=Path, default=None, help="[the smallest of --corpora]")
    ap.add_argument("--reindex-delay", type=float, default=5.0, help="load before m2io index starts (s)")
    ap.add_argument("--reindex-tail", type=float, default=5.0, help="load after the document is visible (s)")
    ap.add_argument("--reindex-max-seconds", type=float, default=120.0,
                    help="longest reindex step (questions for it are reserved, unsent ones go back)")
    ap.add_argument("--visible-timeout", type=float, default=60.0)
    ap.add_argument("--probe-every", type=float, default=0.5)
    ap.add_argument("--probe-asks", type=int, default=10)
    ap.add_argument("--replica-workers", type=int, default=1)
    args = ap.parse_args(argv)
    if args.rates != sorted(args.rates):
        ap.error("--rates must be ascending")
    if args.legacy_server:
        for name, n in (("workers2", 2), ("overload", args.overload_workers), ("reindex", args.reindex_workers),
                        ("replicas", args.replica_workers)):
            if name in args.scenarios and n != 1:
                log(f"note: with --legacy-server, {name} runs the server's single process (asked: {n} workers)")
        if "workers2" in args.scenarios:
            ap.error("workers2 needs a server with --workers (drop --legacy-server)")
    measured = {"workers1", "workers2"} & set(args.scenarios)
    measured = measured or args.capacity_from
    if "overload" in args.scenarios and not (args.overload_rate or measured):
        ap.error("overload needs --overload-rate, --capacity-from, or workers1/workers2 in this run")
    if "reindex" in args.scenarios and not (args.reindex_rate or measured):
        ap.error("reindex needs --reindex-rate, --capacity-from, or workers1/workers2 in this run")
    return args


def plan(args: argparse.Namespace) -> dict[str, float]:
    """The most questions each scenario can take (every rate run; warm-ups and checks included).

    >>> plan(parse_args(["--scenarios", "workers1", "overload", "--rates", "1", "2", "--seconds", "10"]))
    {'workers1': 33, 'overload': 84}
    """
    steps = sum(r * args.seconds for r in args.rates)
    top = max(args.rates)
    need = {}
    for name in args.scenarios:
        if name in ("workers1", "workers2"):
            need[name] = steps + args.warmup
        elif name == "replicas":
            need[name] = steps + 2 * args.warmup
        elif name == "overload":
            need[name] = (args.overload_rate or 2 * top) * args.overload_seconds + args.warmup + 1
        elif name == "reindex":
            need[name] = ((args.reindex_rate or args.reindex_fraction * top) * args.reindex_max_seconds + args.warmup)
    return {k: round(v) for k, v in need.items()}


def main(argv=None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)
    args.work.mkdir(parents=True, exist_ok=True)
    stop_at_exit()
    run = LoadRun(args)
    need = plan(args)
    log(f"pool: {run.pool.total} distinct questions {run.pool_counts}; arrivals {args.arrivals}, seed {args.seed}")
    log(f"questions needed at most (no early saturation; overload/reindex rates guessed from the top rate where "
        f"not given): {need} = {sum(need.values()):.0f}")
    if sum(need.values()) > run.pool.total:
        log(f"WARNING: that is more than the pool ({run.pool.total}); the run stops with an error at the first step "
            f"that does not fit, unless saturation comes early. Shorter --seconds or fewer --rates make it fit.")
    rc = 0
    try:
        run_scenarios(run)
    except PoolExhausted as e:
        log(f"ERROR: {e}")
        run.out["error"] = str(e)
        rc = 2
    except KeyboardInterrupt:
        log("interrupted: stopping servers")
        run.out["error"] = "interrupted"
        rc = 130
    finally:
        stop_all()
        run.out["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        run.save()
        if args.json:
            log(f"wrote {args.json} and {run.requests_path}")
    return rc


if __name__ == "__main__":
    sys.exit(main())