"""The draft-versus-gold statistics read the draft r1's real training prompts show."""
from __future__ import annotations

from pathlib import Path

from m2io.corpus.mramg import read_dataset
from m2io.encoders.text import TextEncoder
from m2io.insert.rule import RuleInserter
from m2io.insert.task import build_tasks
from m2io.train.data import AugmentConfig, training_rows
from m2io.train.draft_gap import draft_gap, draft_of


def test_draft_of_a_real_row_is_the_rule_plan(tiny_corpus: Path):
    rule = RuleInserter(TextEncoder())
    ds = read_dataset(tiny_corpus)
    rows = training_rows(ds, split="all", augment=AugmentConfig(shuffles=0, more_distractors=0, cuts=0), rule=rule)
    for task, row in zip(build_tasks(ds, seed=0), rows):
        by_id = {c.image.id: c.k for c in task.candidates}
        placed = rule.insert(task.query, task.segments, task.candidates).placements
        assert draft_of(row) == {by_id[p.image_id]: p.slot for p in placed}
    gap = draft_gap(rows)
    assert gap["rows"] == 4 and 0 < gap["draft_recall"] <= 1 and sum(gap["gold_minus_draft_slot"].values()) > 0
