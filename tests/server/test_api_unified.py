"""A real `m2io serve --unified-model`: unified answers as one JSON object, drawn images inline, referenced
figures by URL."""
import base64

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
