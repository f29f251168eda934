"""Training examples of the r1 placement policy: tasks from several manuals, augmented, featurised once.

An example is one answer with its candidates, featurised (:func:`task_features`), and its gold
decisions (per candidate: leave out, or a slot). Tasks are made exactly as ``m2io eval --task
insert`` makes them (:func:`m2io.insert.task.build_tasks`), from the *train* split of every
corpus given, plus variants of each task so that the policy does not lean on one corpus's
habits or on verbatim overlap alone:

- ``shuffle``: the candidates reshuffled (another seed);
- ``more``: more retrieved distractors (8 instead of 4); ``fewer``: one distractor;
- ``cut``: the answer cut after an earlier segment (gold images past the cut leave);
- ``ask-<answerer>``: what the pipeline gives the inserter at answer time with that answerer (its
  answer, provenance and candidates: :mod:`m2io.train.policy.pipeline_tasks`), for the template
  questions and the user-phrased ones, plus copies with the answer reordered.

Every task carries its segments' provenance, so the policy learns where figures stood relative to
the answer's sentences (:mod:`m2io.insert.policy.structure_features`).

Featurising embeds every segment, caption and context half (minutes for thousands of tasks on a
CPU), so :func:`cached_examples` keeps them in one file, keyed by everything they depend on.

>>> from m2io.types import Candidate, Image
>>> from m2io.insert.plan import GoldPlan
>>> from m2io.insert.task import InsertTask
>>> t = InsertTask("d", "q", "How?", ["A.", "B."], [Candidate(1, Image("x", None)), Candidate(2, Image("y", None))],
...                GoldPlan(["A.", "B."], {"y": 2}))
>>> gold_actions(t).tolist()                 # x left out (0), y at slot 2 (1 + 2)
[0, 3]
"""
from __future__ import annotations

import hashlib
import json
import pickle
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from m2io.atomic import atomic_write_bytes
from m2io.corpus.split import select_items
from m2io.insert.policy.features import FeatureConfig, TaskFeatures, feature_texts, task_features
from m2io.insert.task import InsertTask, build_tasks
from m2io.train.data import cut_task

FORMAT = 2
"""Bumped whenever what an example holds changes, so an old cache file is rebuilt."""


@dataclass(frozen=True)
class Variants:
    shuffles: int = 1
    """Copies with the candidates reshuffled."""
    more: int = 1
    """Copies with 8 retrieved distractors instead of 4."""
    fewer: int = 1
    """Copies with a single distractor."""
    cuts: int = 1
    """Copies with the answer cut after a random earlier segment (answers of 3+ segments)."""
    answerers: tuple[str, ...] = ("focused", "section", "extractive")
    """Copies as ``ask`` makes them with each of these answerers (pipeline tasks; needs the corpus's index)."""
    reorder: int = 1
    """Of each pipeline task, copies with the answer's head moved behind its tail."""
    llm_items: int = 15
    """Questions per corpus answered by the ``llm`` answerer (seconds each): the user-phrased ones first."""

    @classmethod
    def none(cls) -> Variants:
        return cls(0, 0, 0, 0, (), 0, 0)


@dataclass
class Example:
    features: TaskFeatures
    actions: np.ndarray
    """Gold action per candidate: 0 leave out, ``1 + slot`` placed."""
    gold: dict[int, int]
    """Candidate number -> gold slot."""
    gold_order: list[int]
    """Gold candidate numbers in answer order."""
    n_segments: int
    source: str
    """``<dataset>/<qa id>``."""
    variant: str


def gold_actions(task: InsertTask) -> np.ndarray:
    slot_of = {c.k: task.gold.slots.get(c.image.id) for c in task.candidates}
    return np.array([0 if slot_of[c.k] is None else 1 + slot_of[c.k] for c in task.candidates], np.int64)


def example_of(task: InsertTask, encoder, config: FeatureConfig, variant: str) -> Example:
    items = task.gold_items()
    return Example(task_features(task.query, task.segments, task.candidates, encoder, config, task.provenance),
                   gold_actions(task), dict(items), [k for k, _ in items], len(task.segments),
                   f"{task.dataset}/{task.qa_id}", variant)


def without_provenance(example: Example) -> Example:
    """A copy of ``example`` as the policy sees it when nothing says where the answer's text came from (a caller's
    own text, an LLM answer aligned to nothing): the provenance columns as :func:`structure_features` leaves them.

    Cold start and GRPO train on a share of these so that the policy still places by content alone.
    """
    from dataclasses import replace

    from m2io.insert.policy.structure_features import STRUCT_CAND, STRUCT_SLOT

    f = example.features
    slot, cand = f.slot.copy(), f.cand.copy()
    slot[..., -STRUCT_SLOT:] = 0.0
    slot[..., -STRUCT_SLOT + 1] = 1.0  # the distance column: as far as it gets
    cand[..., -STRUCT_CAND:] = 0.0
    return replace(example, features=replace(f, slot=slot, cand=cand, max_run=1),
                   variant=f"{example.variant}/unsourced")


def with_unsourced(examples: list[Example], share: float, seed: int = 0,
                   variants: tuple[str, ...] | None = None) -> list[Example]:
    """``examples`` plus :func:`without_provenance` copies of a ``share`` of them (of ``variants`` only, if given).

    >>> with_unsourced([], 0.5)
    []
    """
    pool = [e for e in examples if variants is None or e.variant in variants]
    chosen = random.Random(seed).sample(pool, round(share * len(pool))) if share > 0 else []
    return examples + [without_provenance(e) for e in chosen]


class MemoRetriever:
    """A retriever that answers a repeated text query from memory (variants of a task ask the same); everything
    else (sections, models, sources) is the wrapped retriever's."""

    def __init__(self, retriever):
        self.retriever, self._memo = retriever, {}

    def __getattr__(self, name):
        return getattr(self.retriever, name)

    def search(self, text: str | None = None, image=None, k: int = 10):
        if image is not None:
            return self.retriever.search(text=text, image=image, k=k)
        if (text, k) not in self._memo:
            self._memo[(text, k)] = self.retriever.search(text=text, k=k)
        return self._memo[(text, k)]


def corpus_tasks(ds, retriever, split: str, variants: Variants, seed: int = 0, pipelines: dict | None = None,
                 limit: int | None = None, user_items=()) -> list[tuple[str, InsertTask]]:
    """(variant, task) pairs of one corpus's ``split``; ``pipelines`` (name -> :class:`m2io.pipeline.Pipeline`)
    make the ``ask-`` copies, of the split's questions and of ``user_items`` (user-phrased questions)."""
    from m2io.train.policy.pipeline_tasks import pipeline_tasks

    retriever = MemoRetriever(retriever) if retriever is not None else None
    items = select_items(ds.qa, split, limit, seed)
    base = build_tasks(ds, retriever, seed=seed, items=items)
    out = [("base", t) for t in base]
    for n in range(variants.shuffles):
        out += [(f"shuffle{n}", t) for t in build_tasks(ds, retriever, seed=seed + 1 + n, items=items)]
    for n in range(variants.more):
        out += [(f"more{n}", t) for t in build_tasks(ds, retriever, distractors=8, k_retrieve=10,
                                                    seed=seed + 100 + n, items=items)]
    for n in range(variants.fewer):
        out += [(f"fewer{n}", t) for t in build_tasks(ds, retriever, distractors=1, seed=seed + 200 + n, items=items)]
    rng = random.Random(seed)
    for n in range(variants.cuts):
        out += [(f"cut{n}", cut_task(t, rng.randint(2, len(t.segments) - 1))) for t in base if len(t.segments) >= 3]
    if pipelines and retriever is not None:
        chosen = {name: p for name, p in pipelines.items() if name in variants.answerers}
        for p in chosen.values():
            p.retriever = retriever
        asked = [*user_items, *items]
        out += pipeline_tasks(ds, asked, {k: p for k, p in chosen.items() if k != "llm"}, seed, variants.reorder)
        if "llm" in chosen:
            out += pipeline_tasks(ds, asked[: variants.llm_items], {"llm": chosen["llm"]}, seed, variants.reorder)
    return out


def build_examples(corpora: list[tuple], split: str, encoder, variants: Variants = Variants(),
                   features: FeatureConfig = FeatureConfig(), seed: int = 0, pipelines_of=None,
                   limit: int | None = None, progress: bool = True, user_items: dict | None = None) -> list[Example]:
    """Examples of every ``(dataset, retriever)`` in ``corpora`` (retriever may be None: random distractors);
    ``pipelines_of(retriever)`` gives the named pipelines of the ``ask-`` copies; ``user_items``: dataset name ->
    its user-phrased QA items."""
    from tqdm import tqdm

    pairs = []
    for ds, retriever in corpora:
        pipelines = pipelines_of(retriever) if pipelines_of is not None and retriever is not None else None
        pairs += corpus_tasks(ds, retriever, split, variants, seed, pipelines, limit,
                              (user_items or {}).get(ds.name, ()))
    # Encode every distinct text once, in large batches (the encoder keeps the vectors), then featurise.
    texts = list(dict.fromkeys(t for _, task in pairs for t in feature_texts(task.query, task.segments,
                                                                              task.candidates, features) if t.strip()))
    if hasattr(encoder, "cache_size"):
        encoder.cache_size = max(encoder.cache_size, len(texts) + 1000)
    for i in tqdm(range(0, len(texts), 1024), desc=f"encode {split} texts", unit="batch", disable=not progress):
        encoder.encode(texts[i:i + 1024])
    return [example_of(t, encoder, features, v)
            for v, t in tqdm(pairs, desc=f"featurise {split}", unit="task", disable=not progress)]


def cached_examples(path: Path | None, key: dict, build) -> list[Example]:
    """The examples in ``path`` if it was written for ``key``; else ``build()``, then written there."""
    digest = hashlib.sha256(json.dumps({**key, "format": FORMAT}, sort_keys=True, default=str).encode()).hexdigest()
    if path is not None and Path(path).is_file():
        try:
            stored = pickle.loads(Path(path).read_bytes())
            if stored.get("key") == digest:
                return stored["examples"]
        except (pickle.UnpicklingError, EOFError, KeyError, AttributeError, TypeError):
            pass  # a cut or foreign file: rebuilt below
    examples = build()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(Path(path), pickle.dumps({"key": digest, "examples": examples}))
    return examples


def describe(variants: Variants, features: FeatureConfig) -> dict:
    return {"variants": asdict(variants), "features": asdict(features)}
