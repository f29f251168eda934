"""Insertion tasks made by the pipeline as ``ask`` runs it: where the policy is used, not only the gold text.

For a question and an answerer (``focused``, ``section``, ``extractive``, ``llm``...), the
pipeline's draft gives what the inserter sees at answer time: the answer's segments with their
provenance, and the candidates (the answer's sections' figures, then retrieved others from other
sections, each with its origin). The gold decisions: each gold image among the candidates goes to
its structural slot (where it stood relative to the answer's sentences,
:func:`m2io.insert.structure.structural_slot`), or, where the answer holds nothing of its section,
to its relative place (slot ``g`` of ``n`` -> ``round(g / n * m)``, as the ``e2e`` evaluation
expects it); every other candidate is left out. A draft whose sections do not include the gold
section is no task: whatever a policy does there, the figures of a wrong section cannot be right.

``reordered`` copies move the answer's head behind its tail (a text in another order than its
source, as an LLM may write it), with the gold slots following their sentences.

>>> from m2io.types import Candidate, Image, Origin, QAItem
>>> q = QAItem("1", "How?", ["a"], "Open it. <PIC> Click OK.", ["x"])
>>> prov = [Origin("m/a", position=0), Origin("m/a", position=1)]
>>> cands = [Candidate(1, Image("x", None), origin=Origin("m/a", position=1)), Candidate(2, Image("y", None))]
>>> gold_in_answer(q, "m", ["Open it.", "Click OK."], prov, cands).slots
{'x': 1}
"""
from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

from m2io.answer.base import Answer
from m2io.answer.provenance import sections_used
from m2io.insert.plan import GoldPlan, gold_from_marks
from m2io.insert.structure import structural_slot
from m2io.insert.task import InsertTask
from m2io.types import PIC


def gold_in_answer(q, dataset: str, segments: list[str], provenance, candidates) -> GoldPlan | None:
    """The gold plan of a pipeline answer, or None when the answer does not draw on the gold section."""
    if not q.provenance or f"{dataset}/{q.provenance[0]}" not in sections_used(provenance):
        return None
    gold_ids = list(dict.fromkeys(q.image_ids))
    relative = {}
    if PIC in q.ground_truth and q.ground_truth.count(PIC) == len(q.image_ids):
        g = gold_from_marks(q.ground_truth, q.image_ids)
        relative = {i: round(s / max(len(g.segments), 1) * len(segments)) for i, s in g.slots.items()}
    slots = {}
    for c in candidates:
        if c.image.id not in gold_ids:
            continue
        slot = structural_slot(c.origin, provenance)
        if slot is None:
            slot = relative.get(c.image.id)
        if slot is not None:
            slots[c.image.id] = slot
    return GoldPlan(segments, slots)


def reordered(task: InsertTask, q, rng: random.Random) -> InsertTask | None:
    """The task with its answer's first ``c`` segments moved behind the rest (gold slots recomputed)."""
    n = len(task.segments)
    if n < 3 or task.provenance is None:
        return None
    c = rng.randint(1, n - 1)
    segments = task.segments[c:] + task.segments[:c]
    provenance = task.provenance[c:] + task.provenance[:c]
    gold = gold_in_answer(q, task.dataset, segments, provenance, task.candidates)
    if gold is None:
        return None
    return replace(task, segments=segments, provenance=provenance, gold=gold)


def pipeline_tasks(ds, items, pipelines: dict, seed: int = 0, reorder: int = 1,
                   progress: bool = True) -> list[tuple[str, InsertTask]]:
    """(variant, task) pairs: each item answered by each named pipeline (``ask-<name>``), plus reordered copies."""
    from tqdm import tqdm

    rng = random.Random(seed)
    out = []
    items = [q for q in items if q.image_ids and q.provenance]
    for name, pipeline in pipelines.items():
        for q in tqdm(items, desc=f"ask {ds.name} {name}", unit="q", disable=not progress):
            draft = pipeline.draft(q.question)
            gold = gold_in_answer(q, ds.name, draft.segments, draft.provenance, draft.candidates)
            if gold is None or not draft.candidates or not draft.segments:
                continue
            task = InsertTask(ds.name, q.id, q.question, draft.segments, draft.candidates, gold, draft.provenance)
            out.append((f"ask-{name}", task))
            for n in range(reorder):
                moved = reordered(task, q, rng)
                if moved is not None:
                    out.append((f"ask-{name}-reordered{n}", moved))
    return out


class CachedAnswerer:
    """An answerer whose answers are kept in a JSON Lines file (LLM answers cost seconds each on a CPU).

    Keyed by the answerer's name, its model and the question; an answer read back carries no provenance
    (the pipeline aligns it again, as it does a fresh one).
    """

    def __init__(self, answerer, path: Path, model: str = ""):
        self.answerer, self.path, self.model = answerer, Path(path), model
        self.name = answerer.name
        self.ranker = getattr(answerer, "ranker", None)
        self._kept: dict[str, dict] = {}
        self._read()

    def _read(self) -> None:
        """Load the file's answers (another process may be adding to it)."""
        if self.path.is_file():
            for line in self.path.read_text().splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by an interrupted run
                self._kept[row["key"]] = row

    def _key(self, question: str) -> str:
        return json.dumps([self.name, self.model, question])

    def answer(self, question: str, results) -> Answer:
        key = self._key(question)
        if key not in self._kept:
            self._read()
        if key not in self._kept:
            a = self.answerer.answer(question, results)
            row = {"key": key, "text": a.text, "sections": a.sections, "model_calls": a.model_calls,
                   "tokens_generated": a.tokens_generated, "seconds": a.seconds}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as f:
                f.write(json.dumps(row) + "\n")
            self._kept[key] = row
        row = self._kept[key]
        return Answer(row["text"], sections=row["sections"], model_calls=row["model_calls"],
                      tokens_generated=row["tokens_generated"], seconds=row["seconds"])
