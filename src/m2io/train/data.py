"""Training rows for Inserter-R1, made exactly as the ``insert`` evaluation makes its tasks.

Each row holds the policy's prompt (:func:`m2io.insert.r1_lm.r1_messages`), the gold plan as the
SFT completion, and what the rewards need (``gold`` as JSON ``{k: slot}``, ``n_candidates``,
``n_segments``). Augmentations, each a new row of the same QA item: the candidates shuffled
with another seed, more distractors, and the answer cut to fewer segments (gold images past
the cut leave the candidates too, since the shorter answer no longer holds them).

>>> from m2io.insert.plan import GoldPlan
>>> from m2io.types import Candidate, Image
>>> from m2io.insert.task import InsertTask
>>> t = InsertTask("d", "q1", "How?", ["A.", "B.", "C."], [Candidate(1, Image("x", None)), Candidate(2, Image("y", None))],
...                GoldPlan(["A.", "B.", "C."], {"x": 1, "y": 3}))
>>> cut = cut_task(t, 2)
>>> cut.segments, [c.image.id for c in cut.candidates], cut.gold.slots
(['A.', 'B.'], ['x'], {'x': 1})
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace

from m2io.corpus.mramg import Dataset
from m2io.corpus.split import select_items
from m2io.insert.grammar import PLAN_CLOSE, PLAN_OPEN
from m2io.insert.plan import GoldPlan, format_plan
from m2io.insert.r1_lm import Evidence, R1Config, r1_messages, rule_evidence
from m2io.insert.rule import RuleInserter
from m2io.insert.task import InsertTask, build_tasks


@dataclass(frozen=True)
class AugmentConfig:
    shuffles: int = 1
    """Extra copies of each task with the candidates shuffled by another seed."""
    more_distractors: int = 1
    """Extra copies with this many more distractors each (0: none)."""
    extra_distractors: int = 4
    cuts: int = 1
    """Extra copies with the answer cut after a random earlier segment (answers of 3+ segments)."""


def cut_task(task: InsertTask, n: int) -> InsertTask:
    """The task with its answer cut to the first ``n`` segments (candidates renumbered from 1)."""
    gone = {i for i, s in task.gold.slots.items() if s > n}
    kept = [c for c in task.candidates if c.image.id not in gone]
    candidates = [replace(c, k=k) for k, c in enumerate(kept, 1)]
    slots = {i: s for i, s in task.gold.slots.items() if i not in gone}
    return replace(task, segments=task.segments[:n], candidates=candidates, gold=GoldPlan(task.segments[:n], slots),
                   provenance=task.provenance[:n] if task.provenance is not None else None)


def row_of(task: InsertTask, config: R1Config, variant: str, rule: RuleInserter | None = None) -> dict:
    """One row; ``rule`` (r1's fallback) gives the prompt's hints and draft, as at inference."""
    items = task.gold_items()
    evidence = rule_evidence(rule, task.segments, task.candidates, config) if rule else Evidence()
    return {"prompt": r1_messages(task.query, task.segments, task.candidates, config, evidence),
            "completion": [{"role": "assistant", "content": PLAN_OPEN + format_plan(items) + PLAN_CLOSE}],
            "gold": json.dumps({str(k): s for k, s in items}), "n_candidates": len(task.candidates),
            "n_segments": len(task.segments), "qa_id": f"{task.dataset}/{task.qa_id}", "variant": variant}


def training_rows(ds: Dataset, retriever=None, split: str = "train", augment: AugmentConfig = AugmentConfig(),
                  config: R1Config = R1Config(think_tokens=0), limit: int | None = None, seed: int = 0,
                  rule: RuleInserter | None = None, progress: bool = False) -> list[dict]:
    """Rows of the split's insertion tasks and their augmentations (deterministic for a seed).

    ``rule`` is the fallback inserter the policy will run with, so training prompts carry the same
    hints and draft as inference prompts.
    """
    import random

    from tqdm import tqdm

    items = select_items(ds.qa, split, limit, seed)
    passes = 1 + augment.shuffles + augment.more_distractors + augment.cuts
    bar = tqdm(total=len(items) * passes, desc=f"training rows {ds.name}", unit="row", disable=not progress)

    def add(rows: list[dict]) -> list[dict]:
        bar.update(len(rows))
        return rows

    base = build_tasks(ds, retriever, seed=seed, items=items)
    rows = add([row_of(t, config, "base", rule) for t in base])
    for n in range(augment.shuffles):
        tasks = build_tasks(ds, retriever, seed=seed + 1 + n, items=items)
        rows += add([row_of(t, config, f"shuffle{n}", rule) for t in tasks])
    for n in range(augment.more_distractors):
        more = build_tasks(ds, retriever, distractors=4 + augment.extra_distractors, k_retrieve=10,
                           seed=seed + 100 + n, items=items)
        rows += add([row_of(t, config, f"distract{n}", rule) for t in more])
    rng = random.Random(seed)
    for n in range(augment.cuts):
        rows += add([row_of(cut_task(t, rng.randint(2, len(t.segments) - 1)), config, f"cut{n}", rule)
                     for t in base if len(t.segments) >= 3])
    bar.total = bar.n  # items without gold images and short answers make no rows
    bar.close()
    return rows


def fit_rows(rows: list[dict], tokenizer, max_tokens: int) -> tuple[list[dict], int]:
    """The rows whose chat prompt plus completion fit in ``max_tokens`` tokens, and how many did not.

    Training cost grows with prompt tokens, and TRL would drop (SFT) or cut (GRPO) longer rows
    anyway; leaving them out here keeps the count honest and the kept rows whole.
    """
    kept = []
    for row in rows:
        n = len(tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=True, return_dict=False))
        if n <= max_tokens:
            kept.append(row)
    return kept, len(rows) - len(kept)
