"""Backpressure: a bounded queue per worker, 503 with Retry-After beyond it, gone clients dropped."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from conftest import start_server, stop_server
from m2io.server.admission import Admission, Busy, Gone


def test_a_full_queue_refuses_at_once_and_a_gone_client_leaves_it():
    async def scenario():
        gate = Admission(max_queue=1, poll_seconds=0.01)
        gone = asyncio.Event()
        order = []

        async def waiter(name, is_disconnected=None):
            try:
                async with gate.turn(is_disconnected):
                    order.append(name)
            except Gone:
                order.append(f"{name} gone")

        async with gate.turn():  # the inference thread is busy
            async def disconnected():
                return gone.is_set()

            queued = asyncio.create_task(waiter("queued", disconnected))
            await asyncio.sleep(0.05)
            assert gate.waiting == 1
            with pytest.raises(Busy) as refused:  # the queue (1) is full
                async with gate.turn():
                    pass
            gone.set()  # the queued request's client closes its connection
            await queued
            assert gate.waiting == 0
            later = asyncio.create_task(waiter("later"))  # room again
            await asyncio.sleep(0.05)
        await later
        return order, refused.value

    order, refused = asyncio.run(scenario())
    assert order == ["queued gone", "later"]
    assert refused.retry_after >= 1 and "1 requests waiting" in str(refused)


@pytest.fixture(scope="module")
def busy_server(tiny_index: Path, tiny_lm_dir: Path):
    proc, base = start_server(["serve", "--index", str(tiny_index / "index"), "--lm", str(tiny_lm_dir),
                               "--max-queue", "0", "--default-inserter", "rule"], "/health")
    yield base
    stop_server(proc)


def test_overload_gets_503_with_retry_after_and_the_server_stays_healthy(busy_server: str):
    def ask(n: int) -> httpx.Response:
        return httpx.post(f"{busy_server}/api/ask", json={"question": f"How do I export a PNG file {n}?"}, timeout=60)

    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(ask, range(24)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) == {200, 503}, statuses
    refused = [r for r in responses if r.status_code == 503]
    assert all(int(r.headers["retry-after"]) >= 1 and "busy" in r.json()["detail"] for r in refused)
    health = httpx.get(f"{busy_server}/health").json()
    assert health["ready"] and health["queue"] == 0
    assert httpx.post(f"{busy_server}/api/ask", json={"question": "How do I crop a photo?"}, timeout=60).status_code == 200
    metrics = httpx.get(f"{busy_server}/metrics").text
    assert f'm2io_requests_total{{route="/api/ask",status="503"}} {float(len(refused))}' in metrics
    assert 'm2io_stage_seconds_count{stage="retrieve"}' in metrics and "m2io_queue_depth 0.0" in metrics
    assert 'm2io_cache_lookups_total{cache="text_vectors",result="miss"}' in metrics
