"""A real `m2io serve` (its own copy of the tiny index) against bad requests and a seeded fuzzer.

Every bad request gets a 4xx with a JSON ``detail``; the server stays healthy; a failure inside
(here: the index's files deleted under it) is a 500 with a JSON body whose request id the log names.
"""
from __future__ import annotations

import base64
import json
import random
import shutil
from collections import Counter

import httpx
import pytest

from bad_files import BAD_IMAGES, png_declaring, real_image
from conftest import start_server, stop_server

TOKEN = "robust-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROUTES = ["/health", "/", "/static/app.js", "/api/ask", "/api/images/whatever", "/docs", "/openapi.json"]


@pytest.fixture(scope="module")
def server(tiny_index, tmp_path_factory):
    root = tmp_path_factory.mktemp("robust")
    shutil.copytree(tiny_index / "index", root / "index")
    shutil.copytree(tiny_index / "tiny", root / "tiny")  # the index's rows point at these image files
    log = root / "server.log"
    proc, base = start_server(["serve", "--index", str(root / "index"), "--token", TOKEN, "--default-inserter",
                               "rule", "--max-upload-mb", "1", "--max-body-mb", "2", "--max-image-pixels",
                               "40000000"], "/health", log=log)
    yield base, root, log, proc
    stop_server(proc)


def ask_json(base, body, **kw):
    return httpx.post(f"{base}/api/ask", json=body, headers=AUTH, timeout=60, **kw)


def test_json_body_with_and_without_an_image(server):
    base = server[0]
    r = ask_json(base, {"question": "How do I export my image as a PNG file?", "k": 2, "inserter": "rule"})
    assert r.status_code == 200, r.text
    assert r.json()["sources"][0]["doc_id"] == "tiny/export" and r.headers["x-request-id"]
    b64 = base64.b64encode(real_image()).decode()
    assert ask_json(base, {"image_b64": b64, "k": 2}).status_code == 200
    assert ask_json(base, {"question": "export?", "image_b64": "data:image/png;base64," + b64}).status_code == 200
    with httpx.stream("POST", f"{base}/api/ask", json={"question": "export?", "stream": True}, headers=AUTH,
                      timeout=60) as s:
        assert s.headers["content-type"].startswith("text/event-stream")
        assert "event: done" in "".join(s.iter_text())


def test_openapi_shows_json_and_form_bodies(server):
    spec = httpx.get(f"{server[0]}/openapi.json").json()
    content = spec["paths"]["/api/ask"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(content)
    assert set(content["application/json"]["schema"]["properties"]) == {"question", "inserter", "k", "stream",
                                                                         "image_b64", "generator"}


@pytest.mark.parametrize("name", sorted(BAD_IMAGES))
def test_bad_images_as_json_and_as_upload(server, name):
    base, data = server[0], BAD_IMAGES[name]
    expected = 413 if name.startswith("bomb") else 415
    r = ask_json(base, {"question": "export?", "image_b64": base64.b64encode(data).decode()})
    assert r.status_code == expected and r.json()["detail"], (name, r.status_code, r.text)
    r = httpx.post(f"{base}/api/ask", data={"question": "export?"}, files={"image": ("x.png", data, "image/png")},
                   headers=AUTH, timeout=60)
    assert r.status_code == expected and r.json()["detail"], (name, r.status_code, r.text)


def test_pixel_cap_is_checked_before_decoding(server):
    r = ask_json(server[0], {"question": "x", "image_b64": base64.b64encode(png_declaring(9000, 6000)).decode()})
    assert r.status_code == 413 and "54000000 pixels is over the cap of 40000000" in r.json()["detail"]
    tiny = ask_json(server[0], {"question": "export?", "image_b64": base64.b64encode(real_image(size=(1, 1))).decode()})
    assert tiny.status_code == 200


@pytest.mark.parametrize("body,status,detail", [
    (b'{"question": ', 400, "malformed JSON"),
    (b'["question"]', 422, "must be an object"),
    (b"null", 422, "must be an object"),
    (b'"How?"', 422, "must be an object"),
    ('{"question": "caf\u00e9"}'.encode("latin-1"), 400, "not UTF-8"),
    (b'{"question": "x", "colour": 1}', 422, "unknown field"),
    (b'{"question": ["x"]}', 422, "question: must be a string"),
    (b'{"question": "x", "k": "many"}', 422, "k: must be an integer"),
    (b'{"question": "x", "k": true}', 422, "k: must be an integer"),
    (b'{"question": "x", "k": 0}', 422, "k must be between"),
    (b'{"question": "x", "stream": "maybe"}', 422, "stream: must be true or false"),
    (b'{"question": "x", "inserter": 3}', 422, "inserter: must be a string"),
    (b'{"question": "x", "inserter": "magic"}', 422, "unknown inserter"),
    (b'{"question": "x", "image_b64": "%%%"}', 422, "image_b64: not valid base64"),
    (b'{"question": ""}', 422, "give a question, an image, or both"),
])
def test_bad_json_bodies(server, body, status, detail):
    r = httpx.post(f"{server[0]}/api/ask", content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == status and detail in r.json()["detail"], r.text


@pytest.mark.parametrize("headers,body,status", [
    ({"Content-Type": "text/plain"}, b"question=How", 415),
    ({}, b"", 415),
    ({"Content-Type": "application/xml"}, b"<q>How</q>", 415),
    ({"Content-Type": "multipart/form-data; boundary=zzz"}, b"--zzz\r\nbroken", 422),  # no fields survive
    ({"Content-Type": "multipart/form-data"}, b"no boundary at all", 400),
    ({"Content-Type": "application/x-www-form-urlencoded"}, b"question=hi&k=2&stream=perhaps", 422),
    ({"Content-Type": "application/json", "Content-Encoding": "gzip"}, b"\x1f\x8b not gzip", 400),
])
def test_bad_content_types_and_forms(server, headers, body, status):
    r = httpx.post(f"{server[0]}/api/ask", content=body, headers={**AUTH, **headers})
    assert r.status_code == status and r.json()["detail"], (r.status_code, r.text)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_wrong_methods_are_405(server, route, method):
    r = httpx.request(method, server[0] + route, headers=AUTH)
    assert r.status_code == 405 and r.json()["detail"]


def test_get_on_ask_and_bad_auth_headers(server):
    base = server[0]
    assert httpx.get(f"{base}/api/ask", headers=AUTH).status_code == 405
    for header in ["Bearer", "Bearer  " + TOKEN, "bearer" + TOKEN, "Bearer " + "x" * 5000, "Bearer t\u00e9"]:
        r = httpx.post(f"{base}/api/ask", json={"question": "x"},
                       headers={"Authorization": header.encode("utf-8")})
        assert r.status_code == 401 and r.json()["detail"]
    r = httpx.get(f"{base}/health", headers={"X-Request-ID": "my-id-1"})
    assert r.headers["x-request-id"] == "my-id-1"
    r = httpx.get(f"{base}/health", headers={"X-Request-ID": "bad id \u00e9".encode()})
    assert r.headers["x-request-id"] != "bad id" and len(r.headers["x-request-id"]) == 16


def _random_json(rng: random.Random, depth: int = 0):
    kinds = ["str", "int", "float", "bool", "null"] + (["list", "dict"] if depth < 2 else [])
    kind = rng.choice(kinds)
    if kind == "str":
        return "".join(rng.choice("abc \u00e9\u4e2d\U0001F600<PIC>\\\"\n") for _ in range(rng.randint(0, 30)))
    if kind == "int":
        return rng.choice([0, -1, 1, 5, 10 ** 12, 2 ** 63])
    if kind == "float":
        return rng.choice([0.5, -1e308, 1e-9])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    keys = ["question", "inserter", "k", "stream", "image_b64", "x"]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def _fuzz_request(rng: random.Random) -> dict:
    method = rng.choice(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]) if rng.random() < 0.3 else "POST"
    path = rng.choice(ROUTES + ["/api/ask/", "/api//ask", "/api/images/" + "a" * 300, "/nope", "/static/../x",
                                "/api/images/%00", "/api/ask?k=3"])
    if method == "POST" and rng.random() < 0.8:
        path = "/api/ask"  # where bodies matter
    headers = dict(AUTH) if rng.random() < 0.85 else rng.choice([{}, {"Authorization": "Bearer nope"}])
    kind = rng.choice(["none", "bytes", "json", "json_valid", "form", "multipart"])
    req: dict = {"method": method, "url": path, "headers": headers}
    if kind == "bytes":
        req["content"] = rng.randbytes(rng.randint(0, 2000))
        headers["Content-Type"] = rng.choice(["application/json", "text/plain", "multipart/form-data; boundary=b",
                                              "application/x-www-form-urlencoded", "image/png"])
    elif kind == "json":
        req["json"] = _random_json(rng)
    elif kind == "json_valid":
        req["json"] = {"question": rng.choice(["How do I export?", "layers", "", "x" * 2100]),
                       "k": rng.choice([1, 2, 5, 0, 99]), "inserter": rng.choice(["rule", "r1", "bogus"])}
        if rng.random() < 0.3:
            req["json"]["image_b64"] = base64.b64encode(rng.choice(list(BAD_IMAGES.values()) + [real_image()])).decode()
    elif kind == "form":
        req["data"] = {rng.choice(["question", "k", "stream", "inserter", "zzz"]): str(_random_json(rng))
                       for _ in range(rng.randint(0, 4))}
    elif kind == "multipart":
        req["data"] = {"question": "export?"}
        req["files"] = {rng.choice(["image", "question", "other"]): ("f.png", rng.choice(list(BAD_IMAGES.values())),
                                                                     "image/png")}
    if rng.random() < 0.1:
        headers["Accept"] = rng.choice(["text/event-stream", "*/*", "application/xml"])
    return req


def test_seeded_fuzzer_gets_no_5xx_and_the_server_stays_healthy(server):
    base = server[0]
    rng = random.Random(1234)
    statuses: Counter = Counter()
    with httpx.Client(base_url=base, timeout=60) as client:
        for _ in range(200):
            req = _fuzz_request(rng)
            r = client.request(**req)
            statuses[r.status_code] += 1
            assert r.status_code < 500, (req["method"], req["url"], r.status_code, r.text[:300])
            if r.status_code >= 400 and req["method"] != "HEAD":
                assert r.json()["detail"], (req, r.text[:300])
        assert client.get("/health").json()["status"] == "ok"
    (server[1] / "fuzz-statuses.json").write_text(json.dumps(dict(sorted(statuses.items()))))
    assert sum(statuses.values()) == 200 and len(statuses) >= 6  # the fuzzer reaches many outcomes
    assert statuses[200] >= 2 and statuses[422] + statuses[400] + statuses[415] + statuses[413] >= 60


def test_a_failure_inside_is_a_json_500_that_the_log_names(server):
    base, root, log, proc = server
    for data in (root / "index").rglob("*.lance"):
        if data.is_file():
            data.unlink()  # the index's data files vanish under the running server
    r = httpx.post(f"{base}/api/ask", json={"question": "How do I export?"}, headers={**AUTH, "X-Request-ID": "rq-500"},
                   timeout=60)
    assert r.status_code == 500 and r.json()["request_id"] == "rq-500" and "internal error" in r.json()["detail"]
    assert "Traceback" not in r.text
    assert httpx.get(f"{base}/health").status_code == 200 and proc.poll() is None
    assert "request rq-500 POST /api/ask failed" in log.read_text()
