"""Backpressure: one request answered at a time per worker, a bounded queue behind it, 503 beyond.

Answers are CPU-bound: a worker that took every request would only grow everyone's latency. A request
that finds ``max_queue`` others waiting is refused at once (:class:`Busy`: the server answers 503 with
``Retry-After``, an estimate of when the queue will have drained). A waiting request whose client has
gone away (closed connection) leaves the queue without being answered (:class:`Gone`).

Written by hand: Starlette and uvicorn offer a global ``limit_concurrency`` (503 without ``Retry-After``,
counting every connection, health checks included) but no per-endpoint queue that drops gone clients.

>>> import asyncio
>>> async def demo():
...     gate = Admission(max_queue=0)
...     async with gate.turn():
...         try:
...             async with gate.turn():
...                 pass
...         except Busy as e:
...             return e.retry_after
>>> asyncio.run(demo())
1
"""
from __future__ import annotations

import asyncio
import contextlib
import math
import time

from m2io.server.metrics import DROPPED, QUEUE_DEPTH


class Busy(Exception):
    def __init__(self, waiting: int, retry_after: int):
        super().__init__(f"server busy: {waiting} requests waiting; retry in {retry_after} s")
        self.retry_after = retry_after


class Gone(Exception):
    """The client closed its connection while its request waited."""


class Admission:
    def __init__(self, max_queue: int = 8, poll_seconds: float = 0.05):
        self.max_queue, self.poll_seconds = max_queue, poll_seconds
        self.waiting = 0
        self.busy = False
        self.seconds_per_answer = 1.0  # a running mean of recent answers, for Retry-After
        self._lock: asyncio.Lock | None = None

    def retry_after(self) -> int:
        return max(1, math.ceil(self.seconds_per_answer * (self.waiting + 1)))

    @contextlib.asynccontextmanager
    async def turn(self, is_disconnected=None):
        """Wait for this worker's inference thread (``is_disconnected``: an async callable, polled meanwhile)."""
        self._lock = self._lock or asyncio.Lock()
        if self.busy and self.waiting >= self.max_queue:
            raise Busy(self.waiting, self.retry_after())
        self.waiting += 1
        QUEUE_DEPTH.inc()
        try:
            while True:
                try:
                    await asyncio.wait_for(self._lock.acquire(), self.poll_seconds)
                    break
                except TimeoutError:
                    if is_disconnected is not None and await is_disconnected():
                        DROPPED.inc()
                        raise Gone from None
        finally:
            self.waiting -= 1
            QUEUE_DEPTH.dec()
        self.busy = True
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds_per_answer = 0.8 * self.seconds_per_answer + 0.2 * (time.perf_counter() - start)
            self.busy = False
            self._lock.release()
