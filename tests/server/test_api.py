"""The HTTP API against a real `m2io serve` started by the tests (httpx over loopback)."""
from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image as PILImage

from conftest import API_TOKEN as TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def server(m2io_server):
    return m2io_server


QUESTION = {"question": "How do I export my image as a PNG file?", "k": "2", "inserter": "rule"}


def _png(color="red", size=(60, 40)) -> bytes:
    buf = io.BytesIO()
    PILImage.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def test_health_needs_no_token(server):
    r = httpx.get(f"{server}/health")
    body = r.json()
    assert r.status_code == 200 and (body["status"], body["ready"], body["images"], body["index_version"]) == (
        "ok", True, 5, 1)
    assert body["queue"] == 0 and body["load_seconds"] > 0 and body["worker"] > 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                                     {"Authorization": f"Basic {TOKEN}"}])
def test_api_needs_the_bearer_token(server, headers):
    r = httpx.post(f"{server}/api/ask", data=QUESTION, headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert httpx.get(f"{server}/api/images/whatever", headers=headers).status_code == 401


def test_ask_returns_the_interleaved_answer_and_its_images(server, tiny_index: Path):
    r = httpx.post(f"{server}/api/ask", data=QUESTION, headers=AUTH, timeout=60)
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["segments"] and a["inserter"] == "rule" and a["sources"][0]["doc_id"] == "tiny/export"
    assert a["sources"][0]["label"] == "Tiny Paint Manual \u203a Basics \u203a Exporting"
    placed = {p["image_id"]: p for p in a["placements"]}
    assert {"E1", "E2"} <= set(placed) and placed["E1"]["caption"] == "The export dialog"
    assert set(a["timings_ms"]) == {"retrieve", "rank", "answer", "insert", "total"} and "file" not in placed["E1"]
    # the default answer is the export section, each sentence traced to it; its figures follow their sentences
    assert a["answerer"] == "focused" and a["sources"][0]["in_answer"] and not a["sources"][-1]["in_answer"]
    assert a["provenance"][0] == {"source": 0, "section": "tiny/export", "chunk": "tiny/export::0", "position": 0,
                                  "score": 1.0}
    where = httpx.post(f"{server}/api/ask", data={**QUESTION, "inserter": "source"}, headers=AUTH, timeout=60).json()
    assert [(p["image_id"], p["slot"]) for p in where["placements"]] == [("E1", 1), ("E2", 2)]
    img = httpx.get(server + placed["E1"]["url"], headers=AUTH)
    assert img.status_code == 200 and img.headers["content-type"] == "image/png"
    assert img.content == (tiny_index / "tiny" / "images" / "TINY" / "E1.png").read_bytes()


@pytest.mark.parametrize("path", ["/api/images/0123456789abcdef01234567", "/api/images/..%2F..%2Fetc%2Fpasswd",
                                  "/api/images/%2Fetc%2Fpasswd", "/api/images/E1.png", "/api/images/E1"])
def test_only_indexed_images_are_served(server, path):
    assert httpx.get(server + path, headers=AUTH).status_code == 404


def test_raw_traversal_path_is_not_served(server):
    with httpx.Client() as client:  # send the dots as they are, without client-side normalisation
        request = client.build_request("GET", server + "/api/images/x", headers=AUTH)
        request.url = request.url.copy_with(raw_path=b"/api/images/../../../../etc/passwd")
        assert client.send(request).status_code == 404


def test_uploads_are_validated(server):
    ok = httpx.post(f"{server}/api/ask", data={"k": "2", "inserter": "rule"}, headers=AUTH, timeout=60,
                    files={"image": ("q.png", _png(), "image/png")})
    assert ok.status_code == 200 and ok.json()["segments"] is not None
    text = httpx.post(f"{server}/api/ask", data=QUESTION, headers=AUTH,
                      files={"image": ("q.png", b"this is not a picture at all", "image/png")})
    assert text.status_code == 415 and "not an image" in text.json()["detail"]
    big = httpx.post(f"{server}/api/ask", data=QUESTION, headers=AUTH,
                     files={"image": ("big.bmp", _png(size=(3, 3)) + b"\0" * 100_000, "image/png")})
    assert big.status_code == 413
    huge = httpx.post(f"{server}/api/ask", data=QUESTION, headers=AUTH,
                      files={"image": ("huge.png", b"\0" * 200_000, "image/png")})
    assert huge.status_code == 413 and "request body" in huge.json()["detail"]


@pytest.mark.parametrize("data,detail", [
    ({"question": ""}, "give a question, an image, or both"),
    ({"question": "x" * 2001}, "question over 2000"),
    ({"question": "hi", "inserter": "magic"}, "unknown inserter"),
    ({"question": "hi", "k": "0"}, "k must be between"),
    ({"question": "hi", "generator": "dream"}, "generator: must be one of pipeline, unified"),
    ({"question": "hi", "generator": "unified"}, "no unified model"),
])
def test_bad_requests_are_422(server, data, detail):
    r = httpx.post(f"{server}/api/ask", data=data, headers=AUTH)
    assert r.status_code == 422 and detail in r.json()["detail"]


def test_streaming_sends_text_then_placements(server):
    events = []
    with httpx.stream("POST", f"{server}/api/ask", data={**QUESTION, "stream": "true"}, headers=AUTH,
                      timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for block in r.iter_text():
            events.append(block)
    raw = "".join(events)
    parsed = [(chunk.split("\n")[0][len("event: "):], json.loads(chunk.split("\n")[1][len("data: "):]))
              for chunk in raw.strip().split("\n\n")]
    assert [e for e, _ in parsed] == ["text", "placements", "done"]
    text, placements, done = (d for _, d in parsed)
    assert text["segments"] == done["segments"] and "insert" not in text["timings_ms"]
    assert text["provenance"][0]["section"] == "tiny/export" and text["sources"][0]["in_answer"]
    assert placements["placements"] == done["placements"] and done["placements"]
    accept = httpx.post(f"{server}/api/ask", data=QUESTION, headers={**AUTH, "Accept": "text/event-stream"}, timeout=60)
    assert accept.text.startswith("event: text")


def test_concurrent_requests_are_safe(server):
    def one(n):
        inserter = ["rule", "r1", "onepass"][n % 3]
        return httpx.post(f"{server}/api/ask", data={**QUESTION, "inserter": inserter}, headers=AUTH, timeout=120)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(one, range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    assert answers[0].json()["placements"] == answers[3].json()["placements"]  # same question, same inserter
    assert {a.json()["inserter"] for a in answers} == {"rule", "r1", "onepass"}


def test_openapi_docs(server):
    spec = httpx.get(f"{server}/openapi.json").json()
    assert {"/api/ask", "/api/images/{key}", "/health"} <= set(spec["paths"])
