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
from m2io.insert.side import rule_text
from m2io.store.base import SIDE_TEXTS
from m2io.types import Candidate, Origin, Placement


def candidate_text(c: Candidate) -> str:
    return rule_text(c.image.caption, c.context)


class RuleInserter(Inserter):
    name = "rule"

    def __init__(self, text_encoder, threshold: float = 0.4):
        self.encoder, self.threshold = text_encoder, threshold

    def similarities(self, segments: list[str], candidates: list[Candidate]) -> np.ndarray:
        """(candidates, segments) cosine similarities."""
        if not segments or not candidates:
            return np.zeros((len(candidates), len(segments)), np.float32)
        if all(c.side is not None for c in candidates) and candidates[0].side.shape[-1] == self.encoder.dim:
            # the index's vector of each candidate's rule text (side vector 4): only the segments are encoded
            texts = [candidate_text(c) for c in candidates]
            own = np.stack([c.side[SIDE_TEXTS - 1] if t.strip() else np.zeros(self.encoder.dim, np.float32)
                            for c, t in zip(candidates, texts)])
            return own @ self.encoder.encode(list(segments)).T
        vecs = self.encoder.encode(list(segments) + [candidate_text(c) for c in candidates])
        return vecs[len(segments):] @ vecs[: len(segments)].T

    def insert(self, query: str, segments: list[str], candidates: list[Candidate],
               provenance: list[Origin | None] | None = None) -> InsertResult:
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
