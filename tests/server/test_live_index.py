"""Serving beyond one process: workers, replicas over one pgvector index, and re-indexing while serving."""
from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import start_server, stop_server, write_tiny_corpus
from m2io.index.build import IndexConfig, build_index

NEW_DOC = ["zebra", "Zebra stripes\nThe quokkaflux filter paints zebra stripes over the selection.", []]
QUESTION = {"question": "What does the quokkaflux filter paint?", "inserter": "rule"}


def _sources(base: str) -> list[str]:
    r = httpx.post(f"{base}/api/ask", json=QUESTION, timeout=60)
    assert r.status_code == 200, r.text
    return [s["doc_id"] for s in r.json()["sources"]]


class Asking(threading.Thread):
    """Asks every server, round robin, until stopped; keeps every status."""

    def __init__(self, bases: list[str]):
        super().__init__(daemon=True)
        self.bases, self.statuses, self.stop = bases, [], threading.Event()

    def run(self):
        n = 0
        while not self.stop.is_set():
            base = self.bases[n % len(self.bases)]
            try:
                self.statuses.append(httpx.post(f"{base}/api/ask", json={"question": f"How do I crop {n}?"},
                                                timeout=60).status_code)
            except httpx.HTTPError as e:
                self.statuses.append(type(e).__name__)
            n += 1


def _reindex_under_load(corpus: Path, index: Path, cfg: IndexConfig, bases: list[str]) -> tuple[list, float]:
    """Add a document and re-index while every server is being asked; (statuses, seconds until every server
    answered from the new document, asked 6 times each so that every worker is hit)."""
    with (corpus / "doc_tiny.jsonl").open("a") as f:
        f.write(json.dumps(NEW_DOC) + "\n")
    asking = Asking(bases)
    asking.start()
    time.sleep(1)
    build_index([corpus], index, cfg, progress=False)
    done = time.perf_counter()
    waiting = set(bases)
    while waiting and time.perf_counter() - done < 30:
        waiting = {b for b in waiting if not all("tiny/zebra" in _sources(b) for _ in range(6))}
        time.sleep(0.2)
    seen = time.perf_counter() - done
    asking.stop.set()
    asking.join()
    assert not waiting, f"{waiting} still answer from the old snapshot"
    return asking.statuses, seen


def _index_versions(base: str) -> dict[str, float]:
    text = httpx.get(f"{base}/metrics").text
    return {pid: float(v) for pid, v in re.findall(r'm2io_index_version\{pid="(\d+)"\} ([0-9.]+)', text)}


def test_two_workers_answer_from_a_new_snapshot_without_restart(tmp_path: Path, tiny_lm_dir: Path):
    corpus = write_tiny_corpus(tmp_path / "tiny")
    index = tmp_path / "index"
    build_index([corpus], index, IndexConfig(), progress=False)
    proc, base = start_server(["serve", "--index", str(index), "--lm", str(tiny_lm_dir), "--workers", "2",
                               "--refresh-seconds", "0.5"], "/health")
    try:
        pids = set()
        for _ in range(40):  # both workers get ready; the kernel spreads new connections over them
            with httpx.Client() as client:
                health = client.get(f"{base}/health")
            if health.status_code == 200:
                pids.add(health.json()["worker"])
            if len(pids) == 2:
                break
            time.sleep(0.25)
        assert len(pids) == 2
        assert "tiny/zebra" not in _sources(base)
        statuses, seconds = _reindex_under_load(corpus, index, IndexConfig(), [base])
        assert statuses and set(statuses) == {200} and seconds < 10
        time.sleep(1.5)  # idle workers move too (refresh every 0.5 s): the metrics name each worker's snapshot
        assert set(_index_versions(base).values()) == {2.0} and len(_index_versions(base)) == 2
    finally:
        stop_server(proc)


def test_two_replicas_over_one_pgvector_index(tmp_path: Path, pg_dsn: str, tiny_lm_dir: Path):
    corpus = write_tiny_corpus(tmp_path / "tiny")
    cfg = IndexConfig(backend="pgvector", pg_dsn=pg_dsn, pg_prefix="replicas")
    index = tmp_path / "index"
    build_index([corpus], index, cfg, progress=False)
    replica = tmp_path / "replica-index"  # another machine's copy of the folder: only the manifest and adapter
    replica.mkdir()
    (replica / "m2io-index.json").write_text((index / "m2io-index.json").read_text())
    servers = [start_server(["serve", "--index", str(folder), "--pg-dsn", pg_dsn, "--lm", str(tiny_lm_dir)], "/health")
               for folder in (index, replica)]
    bases = [base for _, base in servers]
    try:
        assert all("tiny/zebra" not in _sources(b) for b in bases)
        assert [httpx.get(f"{b}/health").json()["index_version"] for b in bases] == [1, 1]
        statuses, seconds = _reindex_under_load(corpus, index, cfg, bases)
        assert statuses and set(statuses) == {200} and seconds < 10
        assert [httpx.get(f"{b}/health").json()["index_version"] for b in bases] == [2, 2]
        # Labels come from the server's snapshot too: the replica without sources.json names the manual.
        r = httpx.post(f"{bases[1]}/api/ask", json={"question": "How do I reorder layers?"}, timeout=60).json()
        assert any(s["label"].startswith("Tiny Paint Manual") for s in r["sources"])
    finally:
        for proc, _ in servers:
            stop_server(proc)
