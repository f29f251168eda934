from __future__ import annotations

from pathlib import Path

import pytest

from m2io.corpus.mramg import read_dataset
from m2io.encoders.text import TextEncoder
from m2io.insert.rule import RuleInserter, tune_threshold
from m2io.insert.score import score_plan
from m2io.insert.task import build_tasks
from m2io.types import Placement


@pytest.fixture(scope="module")
def encoder():
    return TextEncoder()


def test_tasks_hold_gold_and_distractors_deterministically(tiny_corpus: Path):
    ds = read_dataset(tiny_corpus)
    tasks = build_tasks(ds, distractors=2, seed=3)
    again = build_tasks(ds, distractors=2, seed=3)
    assert [[c.image.id for c in t.candidates] for t in tasks] == [[c.image.id for c in t.candidates] for t in again]
    export = next(t for t in tasks if t.qa_id == "3")
    ids = [c.image.id for c in export.candidates]
    assert {"E1", "E2"} <= set(ids) and len(ids) == 4 and [c.k for c in export.candidates] == [1, 2, 3, 4]
    assert export.segments == ["Export writes the image as PNG or JPEG files for other programs.",
                               "The export dialog asks for a file name."]
    assert export.gold.slots == {"E1": 1, "E2": 2}
    k = {c.image.id: c.k for c in export.candidates}
    assert export.gold_items() == [(k["E1"], 1), (k["E2"], 2)]
    assert export.candidates[ids.index("E1")].context.startswith("Exporting Export writes")


def test_rule_inserter_places_images_by_caption(encoder, tiny_corpus: Path):
    ds = read_dataset(tiny_corpus)
    tasks = build_tasks(ds, distractors=3)
    inserter = RuleInserter(encoder, threshold=0.3)
    export = next(t for t in tasks if t.qa_id == "3")
    result = inserter.insert(export.query, export.segments, export.candidates)
    assert result.model_calls == 0 and not result.fallback
    assert {p.image_id for p in result.placements} >= {"E1", "E2"}
    best, means = tune_threshold(inserter, tasks, grid=[0.0, 0.3, 0.6, 0.95])
    assert means[0.95] == 0.0 and means[best] == max(means.values()) and means[best] > 0.5


def test_empty_inputs_do_not_crash(encoder):
    inserter = RuleInserter(encoder)
    assert inserter.insert("q", [], []).placements == []
    assert inserter.insert("q", ["One segment."], []).placements == []


def test_score_plan_by_hand(tiny_corpus: Path):
    task = next(t for t in build_tasks(read_dataset(tiny_corpus)) if t.qa_id == "3")
    perfect = score_plan(task.gold, [Placement("E1", 1), Placement("E2", 2)])
    assert perfect == {"image_precision": 1.0, "image_recall": 1.0, "image_f1": 1.0, "ordering": 1.0,
                       "position_accuracy": 1.0, "position_accuracy_soft": 1.0}
    swapped = score_plan(task.gold, [Placement("E2", 1), Placement("E1", 2)])
    assert swapped["ordering"] == pytest.approx(2 / 3) and swapped["position_accuracy"] == 0.0
    assert swapped["position_accuracy_soft"] == pytest.approx(0.5)
