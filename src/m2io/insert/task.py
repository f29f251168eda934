"""Insertion tasks: score an inserter alone, and the training data of Inserter-R1.

For a QA item: the answer is the gold text with its ``<PIC>`` marks removed (so exact slots
exist), and the candidates are the gold images plus distractors: the images of the question's
top retrieved chunks, or, without an index, images of other documents; shuffled with a seed
that depends on the item, so a task is the same in every run. The gold text's provenance is its
own section, position by position; each candidate's origin is its section and slot there (a
distractor's: the first section that shows it).

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
from m2io.types import PIC, Candidate, Image, Origin, QAItem


@dataclass
class InsertTask:
    dataset: str
    qa_id: str
    query: str
    segments: list[str]
    candidates: list[Candidate]
    gold: GoldPlan
    provenance: list[Origin | None] | None = None
    """Per segment, where it came from (the gold text: its own section, position by position)."""

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


def figure_places(ds: Dataset) -> dict[tuple[str, str], tuple[int, int]]:
    """(doc id, image id) -> (slot in the section's gold text, figures standing at that slot), for every figure."""
    from m2io.corpus.questions import gold_of_document

    out = {}
    for doc in ds.documents:
        source = ds.sources.get(doc.id)
        text, images = gold_of_document(doc, source.heading_path if source is not None else None)
        if text.count(PIC) != len(images):
            continue
        slots = gold_from_marks(text, images).slots
        for image_id, slot in slots.items():
            out[(doc.id, image_id)] = (slot, sum(1 for s in slots.values() if s == slot))
    return out


def _first_doc(ds: Dataset) -> dict[str, str]:
    first: dict[str, str] = {}
    for doc in ds.documents:
        for image_id in doc.image_ids:
            first.setdefault(image_id, doc.id)
    return first


def candidate_of(k: int, ds: Dataset, image_id: str, halves: dict[str, tuple[str, str]],
                 doc_id: str | None = None, places: dict | None = None) -> Candidate:
    """The k-th candidate: the image with its caption, its context, the context's two halves and (with ``places``)
    its origin in ``doc_id``."""
    above, below = halves.get(image_id, ("", ""))
    image = ds.images[image_id]
    origin = None
    if places is not None and doc_id is not None and (doc_id, image_id) in places:
        slot, run = places[(doc_id, image_id)]
        origin = Origin(f"{ds.name}/{doc_id}", "", slot, 1.0, run)
    return Candidate(k, Image(image_id, Path(image.path), image.caption), f"{above} {below}".strip(), above, below,
                     origin)


def build_tasks(ds: Dataset, retriever=None, distractors: int = 4, k_retrieve: int = 5, seed: int = 0,
                items: list[QAItem] | None = None) -> list[InsertTask]:
    """One task per QA item with gold images (``items`` defaults to all of ``ds.qa``)."""
    contexts = _contexts(ds)
    places, first = figure_places(ds), _first_doc(ds)
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
        home = q.provenance[0] if q.provenance else None
        candidates = [candidate_of(k, ds, i, contexts, home if i in gold_ids else first.get(i), places)
                      for k, i in enumerate(ordered, 1)]
        provenance = [Origin(f"{ds.name}/{home}", "", n) for n in range(len(gold.segments))] if home else None
        tasks.append(InsertTask(ds.name, q.id, q.question, gold.segments, candidates, gold, provenance))
    return tasks
