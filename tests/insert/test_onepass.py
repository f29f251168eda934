"""The one-pass LLM inserter and the mark alignment it relies on."""
from __future__ import annotations

import pytest

from m2io.insert.onepass import OnePassInserter, context_with_placeholders
from m2io.insert.plan import align_marks, plan_from_marks
from m2io.lm.local import LocalChatModel
from m2io.types import Candidate, Image

SEGMENTS = ["Open the Layers dialog.", "Drag a layer up to raise it.", "Release the mouse button."]
CANDS = [Candidate(1, Image("dlg", None, "The Layers dialog")), Candidate(2, Image("drag", None, "Dragging a layer"))]


@pytest.mark.parametrize("text,want", [
    ("Open the Layers dialog. <img1> Drag a layer up to raise it. <img2> Release the mouse button.", [(1, 1), (2, 2)]),
    ("<img2> Open the dialog for layers. Drag one layer up to raise it. Release it. <img1>", [(2, 0), (1, 3)]),
    ("Open the Layers dialog. <img1> <img1> <img7> Drag.", [(1, 1)]),
    ("Something else entirely. <img2>", [(2, 3)]),  # the end of the rewrite is the end of the answer
    ("<img1> Something else entirely.", [(1, 0)]),
    ("No images at all.", []),
])
def test_align_marks_maps_rewritten_text_onto_the_segments(text, want):
    assert align_marks(text, SEGMENTS, n_candidates=2) == want


def test_plan_from_marks_uses_the_text_own_segments():
    segments, items = plan_from_marks("First. <img2>\nSecond <img1> part. Third.", n_candidates=2)
    assert segments == ["First.", "Second part.", "Third."] and items == [(2, 1), (1, 1)]


def test_context_placeholders_follow_pic_marks():
    assert context_with_placeholders("a <PIC> b <PIC> c <PIC>", ["dlg", "x", "drag"], CANDS) == "a <img1> b  c <img2>"


def test_noise_model_never_crashes_and_places_only_candidates(tiny_lm_dir):
    ins = OnePassInserter(LocalChatModel(tiny_lm_dir))
    r = ins.insert("How do I raise a layer?", SEGMENTS, CANDS)
    assert r.model_calls == 1 and r.text == r.raw_output and r.tokens_generated > 0
    assert {p.image_id for p in r.placements} <= {"dlg", "drag"}
    out = ins.generate("How do I raise a layer?", ["Passage <img1> about layers."], CANDS)
    assert out.result.model_calls == 1 and {p.image_id for p in out.result.placements} <= {"dlg", "drag"}
    assert ins.insert("q", SEGMENTS, []).model_calls == 0


def test_smollm2_rewrites_the_answer_with_marks(local_lm):
    r = OnePassInserter(local_lm).insert("How do I raise a layer?", SEGMENTS, CANDS)
    budget = int(1.5 * sum(len(s.split()) for s in SEGMENTS) * 4 / 3) + 16
    assert 0 < r.tokens_generated <= budget and r.prompt[1]["content"].count("<img") == 2
