"""insert and e2e evaluation on the tiny indexed corpus, with hand-checked numbers and traceable items."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from m2io.components import ComponentConfig, Components
from m2io.corpus.split import select_items, split_of_doc
from m2io.evaluate.end_to_end import e2e_scores
from m2io.evaluate.run import run_eval
from m2io.types import Placement, QAItem

KEYS = {"n", "image_precision", "image_recall", "image_f1", "ordering", "position_accuracy", "position_accuracy_soft",
        "rouge_l", "bertscore_f1", "fallback_rate", "latency_ms_p50", "latency_ms_p95", "model_calls_mean",
        "tokens_generated_mean", "stage_ms_p50"}


@pytest.fixture(scope="module")
def retriever(tiny_retriever):
    return tiny_retriever


def test_split_is_by_document_and_stable():
    qa = [QAItem(str(n), "q", [f"doc{n % 7}"], "a") for n in range(70)]
    dev = select_items(qa, "dev")
    assert {q.provenance[0] for q in dev}.isdisjoint({q.provenance[0] for q in select_items(qa, "train")})
    assert all(split_of_doc(q.provenance[0]) == "dev" for q in dev)
    assert len(select_items(qa, "all", limit=5, seed=1)) == 5 and select_items(qa, "all", 5, 1) == select_items(qa, "all", 5, 1)


def test_insert_eval_of_rule_writes_summary_and_items(retriever, tiny_index: Path, tmp_path: Path):
    comps = Components(ComponentConfig(inserter="rule", rule_threshold=0.3))
    out = tmp_path / "rule.json"
    s = run_eval(tiny_index / "tiny", "insert", retriever, comps, split="all", json_out=out, progress=False)
    assert KEYS <= set(s) and s["n"] == 4 and s["fallback_rate"] == 0.0 and s["model_calls_mean"] == 0.0
    assert s["rouge_l"] == pytest.approx(1.0) and s["bertscore_f1"] == pytest.approx(1.0, abs=1e-4)
    assert all(0.0 <= s[k] <= 1.0 for k in KEYS - {"n", "latency_ms_p50", "latency_ms_p95", "model_calls_mean",
                                                  "tokens_generated_mean", "stage_ms_p50"})
    items = [json.loads(line) for line in out.with_name("rule.items.jsonl").read_text().splitlines()]
    assert len(items) == 4 and json.loads(out.read_text())["scores"]["n"] == 4
    mean_f1 = sum(i["scores"]["image_f1"] for i in items) / 4
    assert s["image_f1"] == pytest.approx(mean_f1)
    export = next(i for i in items if i["qa_id"] == "3")
    assert export["gold"]["slots"] == {"E1": 1, "E2": 2} and {c["image_id"] for c in export["candidates"]} >= {"E1", "E2"}


def test_e2e_eval_with_r1_lm_counts_calls_and_tokens(retriever, tiny_index: Path, tiny_lm_dir, tmp_path: Path):
    comps = Components(ComponentConfig(inserter="r1-lm", lm_dir=str(tiny_lm_dir)))
    s = run_eval(tiny_index / "tiny", "e2e", retriever, comps, split="all", k=2, bertscore=False,
                 json_out=tmp_path / "e2e.json", progress=False)
    assert s["n"] == 4 and s["model_calls_mean"] == 1.0 and s["tokens_generated_mean"] > 0 and s["fallback_rate"] == 0
    assert set(s["stage_ms_p50"]) == {"retrieve", "rank", "answer", "insert"} and "bertscore_f1" not in s
    lo, hi = s["image_f1_ci95"]
    assert 0 <= lo <= s["image_f1"] <= hi <= 1
    item = json.loads((tmp_path / "e2e.items.jsonl").read_text().splitlines()[0])
    assert item["raw_output"].startswith("<plan>") and item["prompt"][1]["content"].startswith("Question:")


def test_e2e_position_is_relative_to_answer_length():
    q = QAItem("1", "q", ["d"], "A. B. <PIC> C. D.", ["x"])  # gold slot 2 of 4 segments
    s = e2e_scores(q, ["a", "b", "c", "d", "e", "f", "g", "h"], [Placement("x", 4), Placement("y", 8)])
    assert (s["image_precision"], s["image_recall"], s["position_accuracy"]) == (0.5, 1.0, 1.0)
    assert s["position_accuracy_soft"] == 1.0
    s = e2e_scores(q, ["a", "b"], [Placement("x", 2)])
    assert s["position_accuracy"] == 0.0 and s["position_accuracy_soft"] == pytest.approx(0.5)


def test_e2e_of_user_phrased_questions_reports_sections_oracle_and_kinds(retriever, tiny_index: Path, tmp_path: Path):
    """The default pipeline on questions asked the way people ask: per kind, sections per answer, the ceiling."""
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "u1", "doc_id": "export", "kind": "task", "question": "save my picture as png"}\n'
                         '{"id": "u2", "doc_id": "crop", "kind": "keyword", "question": "cut away photo borders"}\n')
    comps = Components(ComponentConfig(inserter="source"), retriever.models.text)
    s = run_eval(tiny_index / "tiny", "e2e", retriever, comps, bertscore=False, json_out=tmp_path / "u.json",
                 progress=False, questions=questions)
    assert s["n"] == 2 and set(s["by_kind"]) == {"task", "keyword"}
    assert 1.0 <= s["answer_sections"] <= 2.0 and s["oracle_f1"] == 1.0  # the gold figures are always offered
    items = {i["qa_id"]: i for i in map(json.loads, (tmp_path / "u.items.jsonl").read_text().splitlines())}
    export = items["u1"]
    assert export["kind"] == "task" and export["gold"]["section"] == "export"
    assert export["provenance"][0][:2] == ["tiny/export", 0]
    assert export["scores"]["section_top1"] == 1.0  # the right section: its figures where they stood, after their text
    assert export["placements"] == [{"image_id": "E1", "slot": 1}, {"image_id": "E2", "slot": 2}]
    assert export["scores"]["image_f1"] == 1.0 and export["scores"]["position_accuracy"] == 1.0
    assert json.loads((tmp_path / "u.json").read_text())["questions"] == str(questions)
