"""Insertion tasks: score an inserter alone, and the training data of Inserter-R1.

For a QA item: the answer is the gold text with its ``<PIC>`` marks removed (so exact slots
exist), and the candidates are the gold images plus distractors: the images of the question's
top retrieved chunks, or, without an index, images of other documents; shuffled with a seed
that depends on the item, so a task is the same in every run.

>>> import random
>>> _shuffled(["a", "b", "c"], "0:q1") == _shuffled(["a", "b", "c"], "0:q1")
True
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from m2io.corpus.chunk import image_context_halves
from m2io.corpus.mramg import Dataset
from m2io.insert.plan import GoldPlan, gold_from_marks
from m2io.types import Candidate, Image, QAItem


@dataclass
class InsertTask:
    dataset: str
    qa_id: str
    query: str
    segments: list[str]
    candidates: list[Candidate]
    gold: GoldPlan

    def gold_items(self) -> list[tuple[int, int]]:
        """The gold plan in the written form's terms: (candidate number, slot), in answer order."""
        k_of = {c.image.id: c.k for c in self.candidates}
        return [(k_of[i], self.gold.slots[i]) for i in self.gold.order]


def _shuffled(items: list, key: str) -> list:
    out = list(items)
    random.Random(key).shuffle(out)
    return out


def _contexts(ds: Dataset) -> dict[str, tuple[str, str]]:
    """Each image's text above and below it, where the corpus first shows it."""
    halves: dict[str, tuple[str, str]] = {}
    for doc in ds.documents:
        for image_id, pair in image_context_halves(doc).items():
            halves.setdefault(image_id, pair)
    return halves


def candidate_of(k: int, ds: Dataset, image_id: str, halves: dict[str, tuple[str, str]]) -> Candidate:
    """The k-th candidate: the image with its caption, its context, and the context's two halves."""
    above, below = halves.get(image_id, ("", ""))
    image = ds.images[image_id]
    return Candidate(k, Image(image_id, Path(image.path), image.caption), f"{above} {below}".strip(), above, below)


def build_tasks(ds: Dataset, retriever=None, distractors: int = 4, k_retrieve: int = 5, seed: int = 0,
                items: list[QAItem] | None = None) -> list[InsertTask]:
    """One task per QA item with gold images (``items`` defaults to all of ``ds.qa``)."""
    contexts = _contexts(ds)
    all_images = sorted(i for i in ds.images if ds.images[i].path is not None)
    tasks = []
    for q in items if items is not None else ds.qa:
        gold_ids = [i for i in dict.fromkeys(q.image_ids) if i in ds.images]
        if not gold_ids or len(gold_ids) != len(dict.fromkeys(q.image_ids)):
            continue
        gold = gold_from_marks(q.ground_truth, q.image_ids) if "<PIC>" in q.ground_truth else None
        if gold is None:
            continue  # no gold positions: not an insertion task
        extra: list[str] = []
        if retriever is not None:
            for result in retriever.search(text=q.question, k=k_retrieve):
                extra += [im.image_id for im in result.images if result.dataset == ds.name]
        else:
            extra = _shuffled(all_images, f"{seed}:{q.id}:pool")
        extra = [i for i in dict.fromkeys(extra) if i not in gold_ids][:distractors]
        ordered = _shuffled(gold_ids + extra, f"{seed}:{q.id}")
        candidates = [candidate_of(k, ds, i, contexts) for k, i in enumerate(ordered, 1)]
        tasks.append(InsertTask(ds.name, q.id, q.question, gold.segments, candidates, gold))
    return tasks
