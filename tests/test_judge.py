"""The LLM judge: its reply parser by hand, and a real judge call against `m2io serve-lm`."""
from __future__ import annotations

import pytest

from m2io.evaluate.finish import finish
from m2io.judge import Judge, judge_messages, parse_judgement
from m2io.lm.openai import OpenAIChatModel


@pytest.mark.parametrize("reply,n,want", [
    ('{"relevance": 5, "effectiveness": 4, "position": [1, 1, 0, 1], "overall": 3}', 4,
     {"judge_image_relevance": 100.0, "judge_image_effectiveness": 80.0, "judge_image_position": 75.0,
      "judge_overall": 60.0}),
    ('The grade: {"overall": 2}', 0, {"judge_overall": 40.0}),
    ('{"relevance": 5, "effectiveness": 4, "position": [1], "overall": 3}', 2, None),  # one position per image
    ('{"relevance": 0, "effectiveness": 4, "position": [1], "overall": 3}', 1, None),
    ('{"relevance": true, "effectiveness": 4, "position": [1], "overall": 3}', 1, None),
    ("no json here", 0, None), ("{broken", 1, None),
])
def test_parse_judgement(reply, n, want):
    assert parse_judgement(reply, n) == want


def test_prompt_shows_images_in_place():
    msgs = judge_messages("How?", "Gold.", [("text", "Open it."), ("image", "a"), ("text", "Done.")], {"a": "Menu"})
    assert "Open it.\n[IMAGE 1: Menu]\nDone." in msgs[1]["content"] and '"position"' in msgs[1]["content"]


def test_judge_on_a_real_server_records_what_it_said(serve_lm):
    judge = Judge(OpenAIChatModel(serve_lm, "SmolLM2-135M-Instruct"), max_tokens=40)
    record = {"query": "How do I crop?", "segments": ["Use the crop tool.", "Press Enter."],
              "placements": [{"image_id": "c", "slot": 1}], "candidates": [{"image_id": "c", "caption": "Crop tool"}],
              "scores": {"image_f1": 1.0}, "_reference": "Use the crop tool. Press Enter.", "_text": "x",
              "latency_ms": 1.0, "model_calls": 0, "tokens_generated": 0, "fallback": False}
    summary, (item,) = finish([record], judge=judge)
    assert item["judge_raw"] and isinstance(item["judge_unparsed"], bool)
    if item["judge_unparsed"]:  # a 135M model rarely writes the JSON; it is counted, never guessed
        assert summary["judge_unparsed_rate"] == 1.0 and "judge_overall" not in summary
    else:
        assert 20.0 <= summary["judge_overall"] <= 100.0


def test_unreachable_judge_is_recorded_not_raised():
    from conftest import free_port

    judge = Judge(OpenAIChatModel(f"http://127.0.0.1:{free_port()}/v1", "x", timeout=2))
    scores, raw = judge("q", "gold", [("text", "a")], {})
    assert scores is None and raw.startswith("error:")
