"""The MRAMG rule-based inserter: each candidate goes after its most similar answer segment.

Similarity is the cosine between the segment's embedding and the embedding of the image's
caption and context; a candidate is placed only if its best similarity reaches the threshold,
which :func:`tune_threshold` picks on a development split. No language model is called.

>>> inserter = RuleInserter(TextEncoder(), threshold=0.4)              # doctest: +SKIP
>>> inserter.insert("How?", ["Open the dialog.", "Click OK."], candidates).placements   # doctest: +SKIP
"""
from __future__ import annotations

import time

import numpy as np

from m2io.insert.base import InsertResult, Inserter
from m2io.insert.score import score_plan
from m2io.types import Candidate, Placement


def candidate_text(c: Candidate) -> str:
    return f"{c.image.caption}. {c.context}".strip(". ") if c.context else c.image.caption


class RuleInserter(Inserter):
    name = "rule"

    def __init__(self, text_encoder, threshold: float = 0.4):
        self.encoder, self.threshold = text_encoder, threshold

    def similarities(self, segments: list[str], candidates: list[Candidate]) -> np.ndarray:
        """(candidates, segments) cosine similarities."""
        if not segments or not candidates:
            return np.zeros((len(candidates), len(segments)), np.float32)
        vecs = self.encoder.encode(list(segments) + [candidate_text(c) for c in candidates])
        return vecs[len(segments):] @ vecs[: len(segments)].T

    def insert(self, query: str, segments: list[str], candidates: list[Candidate]) -> InsertResult:
        start = time.perf_counter()
        sims = self.similarities(segments, candidates)
        return InsertResult(placements=place(sims, candidates, self.threshold),
                            timings={"insert": time.perf_counter() - start})


def place(sims: np.ndarray, candidates: list[Candidate], threshold: float) -> list[Placement]:
    """Each candidate after its best segment (slot = segment number) if it reaches ``threshold``.

    >>> from pathlib import Path
    >>> from m2io.types import Image
    >>> cands = [Candidate(1, Image("a", Path("a"))), Candidate(2, Image("b", Path("b")))]
    >>> place(np.array([[0.2, 0.9], [0.3, 0.1]]), cands, threshold=0.5)
    [Placement(image_id='a', slot=2)]
    """
    out = []
    for c, row in zip(candidates, sims):
        if row.size and row.max() >= threshold:
            out.append(Placement(c.image.id, int(row.argmax()) + 1))
    return sorted(out, key=lambda p: p.slot)


def tune_threshold(inserter: RuleInserter, tasks, grid: list[float] | None = None,
                   objective: str = "image_f1") -> tuple[float, dict[float, float]]:
    """The threshold with the best mean ``objective`` over ``tasks`` (similarities computed once)."""
    grid = grid or [round(x, 2) for x in np.arange(0.0, 0.85, 0.05)]
    sims = [inserter.similarities(t.segments, t.candidates) for t in tasks]
    means = {th: float(np.mean([score_plan(t.gold, place(s, t.candidates, th))[objective]
                                for t, s in zip(tasks, sims)])) for th in grid}
    best = max(grid, key=lambda th: (means[th], -th))
    return best, means
