"""The r1 inserter on real models: SmolLM2-135M zero-shot, and a random one-layer Llama that writes noise."""
from __future__ import annotations

from pathlib import Path

import pytest

from m2io.corpus.mramg import read_dataset
from m2io.encoders.text import TextEncoder
from m2io.insert.plan import parse_plan, to_placements
from m2io.insert.r1_lm import R1Config, R1LMInserter, r1_messages
from m2io.insert.rule import RuleInserter
from m2io.insert.task import build_tasks
from m2io.lm.local import LocalChatModel
from m2io.types import Candidate, Image


@pytest.fixture(scope="module")
def rule():
    return RuleInserter(TextEncoder(), threshold=0.3)


@pytest.fixture(scope="module")
def noise_lm(tiny_lm_dir):
    return LocalChatModel(tiny_lm_dir)


@pytest.fixture
def export_task(tiny_corpus: Path):
    return next(t for t in build_tasks(read_dataset(tiny_corpus), distractors=2) if t.qa_id == "3")


def test_prompt_numbers_segments_and_candidates():
    cands = [Candidate(1, Image("a", None, "The dialog"), "some context here"), Candidate(2, Image("b", None, ""))]
    user = r1_messages("How?", ["Open it.", "Click OK."], cands, R1Config())[1]["content"]
    assert "[1] Open it.\n[2] Click OK." in user
    assert "<img1> The dialog (context: some context here)" in user and "<img2> (no caption)" in user
    assert "S from 0 to 2" in user and "<think>" not in user
    assert "<think></think>" in r1_messages("How?", ["A."], cands, R1Config(think_tokens=8))[1]["content"]


def test_prompt_shows_the_rule_evidence_as_hints(noise_lm, rule, export_task):
    user = R1LMInserter(noise_lm, rule).messages(export_task.query, export_task.segments, export_task.candidates)[1]
    sims = rule.similarities(export_task.segments, export_task.candidates)
    lines = [line for line in user["content"].splitlines() if line.startswith("<img")]
    assert len(lines) == len(export_task.candidates)
    for line, row in zip(lines, sims):
        assert line.endswith(f" [best match: [{int(row.argmax()) + 1}] {row.max():.2f}]")
    plain = R1LMInserter(noise_lm, rule, R1Config(hints=False, draft=False)).messages(
        export_task.query, export_task.segments, export_task.candidates)[1]["content"]
    assert "best match" not in plain and "Draft plan" not in plain


def test_prompt_shows_the_rule_plan_as_a_draft(noise_lm, rule, export_task):
    user = R1LMInserter(noise_lm, rule).messages(export_task.query, export_task.segments,
                                               export_task.candidates)[1]["content"]
    draft = next(line for line in user.splitlines() if line.startswith("Draft plan (rule): "))
    items = parse_plan(draft.removeprefix("Draft plan (rule): "), len(export_task.candidates), len(export_task.segments))
    want = rule.insert(export_task.query, export_task.segments, export_task.candidates).placements
    assert to_placements(items, export_task.candidates) == want and len(want) >= 1
    nothing = R1LMInserter(noise_lm, RuleInserter(rule.encoder, threshold=1.1)).messages(
        export_task.query, export_task.segments, export_task.candidates)[1]["content"]
    assert "Draft plan (rule): (no images)" in nothing


def test_constrained_noise_still_parses(noise_lm, rule, export_task):
    for think in (0, 6):
        r = R1LMInserter(noise_lm, rule, R1Config(think_tokens=think)).insert(
            export_task.query, export_task.segments, export_task.candidates)
        assert not r.fallback and r.model_calls == 1 and r.tokens_generated > 0
        assert r.raw_output.endswith("</plan>") and r.raw_output.startswith("<think>" if think else "<plan>")
        ids = [p.image_id for p in r.placements]
        assert len(ids) == len(set(ids)) and set(ids) <= {c.image.id for c in export_task.candidates}
        assert all(0 <= p.slot <= len(export_task.segments) for p in r.placements)


def test_unconstrained_noise_falls_back_to_rule(noise_lm, rule, export_task):
    r = R1LMInserter(noise_lm, rule, R1Config(constrained=False)).insert(
        export_task.query, export_task.segments, export_task.candidates)
    want = rule.insert(export_task.query, export_task.segments, export_task.candidates).placements
    assert r.fallback and r.model_calls == 1 and r.placements == want and "<plan>" not in r.raw_output


def test_zero_shot_smollm2_writes_a_plan(local_lm, rule, export_task):
    r = R1LMInserter(local_lm, rule).insert(export_task.query, export_task.segments, export_task.candidates)
    assert not r.fallback and r.raw_output.startswith("<plan>") and r.raw_output.endswith("</plan>")
    assert r.placements and r.tokens_generated <= 10 * len(export_task.candidates) + 12
    assert r.prompt[1]["content"].startswith("Question: How do I use exporting?")


def test_nothing_to_decide_makes_no_model_call(noise_lm, rule):
    ins = R1LMInserter(noise_lm, rule)
    assert ins.insert("q", ["One segment."], []).model_calls == 0
    assert ins.insert("q", [], [Candidate(1, Image("a", None, "x"))]).placements == []
    one = ins.insert("q", ["The only segment."], [Candidate(1, Image("a", None, ""))])
    assert not one.fallback and all(p.slot in (0, 1) for p in one.placements)
