"""A worker answers /health at once: 503 while its models load (or if they failed), ready after."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from m2io.components import ComponentConfig
from m2io.server.app import ServeConfig, create_app
from m2io.server.options import ServeOptions
from m2io.server.service import AskService
from m2io.server.worker import build_service


def _wait_ready(client: TestClient, seconds: float = 120) -> dict:
    deadline = time.time() + seconds
    while time.time() < deadline:
        r = client.get("/health")
        if r.status_code == 200:
            return r.json()
        time.sleep(0.05)
    raise AssertionError(f"not ready: {r.json()}")


def test_health_is_503_until_the_service_has_loaded(tiny_retriever, tiny_lm_dir: Path):
    release = threading.Event()

    def load() -> AskService:
        release.wait(60)
        return AskService(tiny_retriever, ComponentConfig(inserter="rule", lm_dir=str(tiny_lm_dir)))

    with TestClient(create_app(load, ServeConfig(default_inserter="rule"))) as client:
        starting = client.get("/health")
        assert starting.status_code == 503 and starting.json()["status"] == "starting"
        asked = client.post("/api/ask", json={"question": "How do I crop?"})
        assert asked.status_code == 503 and asked.headers["retry-after"] == "2" and "loading" in asked.json()["detail"]
        release.set()
        health = _wait_ready(client)
        assert health["ready"] and health["index_version"] == 1 and health["images"] == 5
        assert client.post("/api/ask", json={"question": "How do I crop?"}).status_code == 200


def test_a_service_that_cannot_load_says_why(tmp_path: Path):
    with TestClient(create_app(lambda: build_service(ServeOptions(index=str(tmp_path / "nowhere"))))) as client:
        deadline = time.time() + 30
        while client.get("/health").json()["status"] == "starting" and time.time() < deadline:
            time.sleep(0.05)
        r = client.get("/health")
        assert r.status_code == 503 and r.json()["status"] == "error" and "nowhere" in r.json()["detail"]
        assert "nowhere" in client.post("/api/ask", json={"question": "x"}).json()["detail"]
