"""A real `m2io serve --unified-model`: unified answers as one JSON object or streamed window by window, drawn
images inline, referenced figures by URL."""
import base64
import json

import httpx


def test_unified_answer_json(unified_server):
    r = httpx.post(f"{unified_server}/api/ask", json={"question": "How do I crop?", "generator": "unified"},
                   timeout=120)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["generator"] == "unified" and data["question"] == "How do I crop?"
    assert isinstance(data["damage"], list) and data["tokens_generated"] > 0
    assert data["sources"]  # the pipeline's sources for the draft the answer was written from
    for step in data["steps"]:
        assert step["kind"] in ("text", "image", "reference")
        if step["kind"] == "reference":
            assert step["figure"]["url"].startswith("/api/images/") and "file" not in step["figure"]
            assert httpx.get(unified_server + step["figure"]["url"], timeout=30).status_code == 200
        if step["kind"] == "image":
            assert base64.b64decode(step["png"].split(",", 1)[1])[:4] == b"\x89PNG"
            assert "file" not in (step["figure"] or {})


def test_unified_form_and_pipeline_still_answer(unified_server):
    r = httpx.post(f"{unified_server}/api/ask", data={"question": "How do I crop?", "generator": "unified"},
                   timeout=120)
    assert r.status_code == 200 and r.json()["generator"] == "unified"
    plain = httpx.post(f"{unified_server}/api/ask", json={"question": "How do I crop?"}, timeout=120)
    assert plain.status_code == 200 and "segments" in plain.json()


def test_unified_answer_streams_window_by_window(unified_server):
    with httpx.stream("POST", f"{unified_server}/api/ask", timeout=120,
                      json={"question": "How do I crop?", "generator": "unified", "stream": True}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        raw = "".join(r.iter_text())
    events = [(block.split("\n")[0].removeprefix("event: "), json.loads(block.split("\n")[1].removeprefix("data: ")))
              for block in raw.strip().split("\n\n")]
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"window"} and len(kinds) >= 2  # a few windows of 6 words
    partial, whole = [data for kind, data in events if kind == "window"], events[-1][1]
    assert all(p["partial"] and not p["well_formed"] for p in partial) and not whole["partial"]
    sizes = [len(p["steps"]) for p in partial] + [len(whole["steps"])]
    assert sizes == sorted(sizes) and whole["tokens_generated"] > partial[-1]["tokens_generated"]
    for p in partial:  # the answer so far is the start of the whole answer
        assert [s["kind"] for s in p["steps"]] == [s["kind"] for s in whole["steps"][:len(p["steps"])]]
    plain = httpx.post(f"{unified_server}/api/ask", json={"question": "How do I crop?", "generator": "unified"},
                       timeout=120).json()
    assert [s["kind"] for s in plain["steps"]] == [s["kind"] for s in whole["steps"]]  # the same answer, unstreamed
