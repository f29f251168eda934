"""Prometheus metrics of the server (prometheus-client), summed over its worker processes.

``m2io serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder before any worker starts; each
worker then writes its samples there and ``/metrics`` (on any worker) reads them all. Without that
variable (an app made in a test) the process's own registry is served.

- ``m2io_requests_total{route,status}`` and ``m2io_request_seconds{route}``: every HTTP request;
- ``m2io_stage_seconds{stage}``: retrieve, rank, answer, insert, per answer;
- ``m2io_queue_depth``: requests waiting for a worker's inference thread (summed over live workers);
- ``m2io_index_version{pid}``: the index snapshot each worker answers from;
- ``m2io_cache_lookups_total{cache,result}``: section and text-vector caches, hit or miss;
- ``m2io_dropped_total``: queued requests whose client went away before their turn.

>>> route_of("/api/images/abc"), route_of("/nowhere")
('/api/images', 'other')
"""
from __future__ import annotations

import os
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
REQUESTS = Counter("m2io_requests", "HTTP requests by route and status.", ["route", "status"])
REQUEST_SECONDS = Histogram("m2io_request_seconds", "HTTP request latency by route.", ["route"], buckets=BUCKETS)
STAGE_SECONDS = Histogram("m2io_stage_seconds", "Time per answer stage.", ["stage"], buckets=BUCKETS)
QUEUE_DEPTH = Gauge("m2io_queue_depth", "Requests waiting for an inference thread.", multiprocess_mode="livesum")
INDEX_VERSION = Gauge("m2io_index_version", "Index snapshot answered from, per worker.", multiprocess_mode="liveall")
CACHE = Counter("m2io_cache_lookups", "Cache lookups by cache and result.", ["cache", "result"])
DROPPED = Counter("m2io_dropped", "Queued requests dropped because their client went away.")

ROUTES = ("/api/ask", "/api/images", "/health", "/metrics", "/static", "/docs", "/openapi.json")


def route_of(path: str) -> str:
    """A bounded label for a path (never the path itself: image keys would make one series each)."""
    if path == "/":
        return "/"
    return next((r for r in ROUTES if path == r or path.startswith(r + "/")), "other")


def exposition() -> tuple[bytes, str]:
    """The metrics text: every worker's in multiprocess mode, else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def worker_exit() -> None:
    """Drop this worker's live gauges (queue depth, index version) from the sums."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())


class CacheCounts:
    """Turns the cumulative ``lookups`` counts of the caches into counter increments, after each answer."""

    def __init__(self):
        self.seen: dict[tuple[str, str], int] = {}

    def record(self, caches: dict[str, dict[str, int]]) -> None:
        for cache, counts in caches.items():
            for result, n in counts.items():
                delta = n - self.seen.get((cache, result), 0)
                if delta > 0:
                    CACHE.labels(cache, result).inc(delta)
                self.seen[(cache, result)] = n


class Timed:
    """Pure ASGI middleware: counts and times every HTTP request by route and status."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        route, start, status = route_of(scope.get("path", "")), time.perf_counter(), [500]

        async def watched(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            REQUESTS.labels(route, str(status[0])).inc()
            REQUEST_SECONDS.labels(route).observe(time.perf_counter() - start)
