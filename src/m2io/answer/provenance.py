"""Provenance by alignment: each answer segment to the section segment it comes from, with a score.

Answers composed from sections know their provenance; any other answer (extractive sentences,
an LLM's paraphrase, a text from elsewhere) gets it here. A segment that is a section's
segment verbatim (spaces and case aside) takes it with score 1; every other is compared with
every segment of the given sections by the text encoder's cosine and takes the best one at or
above ``min_score`` (below it, no provenance: None).

>>> from m2io.sections.read import Section
>>> s = Section("m/a", "", ["Open the menu.", "Click Align."], ["m/a::0", "m/a::0"], [0, 0])
>>> align(["click  align.", "Something else."], [s])
[Origin(section='m/a', chunk='m/a::0', position=1, score=1.0, run=1), None]
"""
from __future__ import annotations

import numpy as np

from m2io.types import Origin

MIN_SCORE = 0.55
"""Cosine (MiniLM) below which a paraphrased segment is not attributed to any section."""


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def align(segments: list[str], sections, encoder=None, min_score: float = MIN_SCORE) -> list[Origin | None]:
    """Per segment, its origin among ``sections`` (verbatim first; then, with an ``encoder``, the nearest)."""
    sections = list(sections.values()) if isinstance(sections, dict) else list(sections)
    exact: dict[str, Origin] = {}
    for s in sections:
        for i, seg in enumerate(s.segments):
            exact.setdefault(_norm(seg), s.origin(i))
    out: list[Origin | None] = [exact.get(_norm(seg)) for seg in segments]
    missing = [i for i, o in enumerate(out) if o is None and segments[i].strip()]
    pool = [(s, i) for s in sections for i in range(len(s.segments))]
    if not missing or not pool or encoder is None:
        return out
    vecs = encoder.encode([segments[i] for i in missing] + [s.segments[i] for s, i in pool])
    sims = vecs[: len(missing)] @ vecs[len(missing):].T
    for row, i in zip(sims, missing):
        j = int(np.argmax(row))
        if row[j] >= min_score:
            s, pos = pool[j]
            out[i] = Origin(s.key, s.chunk_of[pos], pos, round(float(row[j]), 4))
    return out


def sections_used(provenance: list[Origin | None]) -> list[str]:
    """The distinct sections an answer draws on, in order of first use.

    >>> sections_used([Origin("a"), None, Origin("b"), Origin("a")])
    ['a', 'b']
    """
    return list(dict.fromkeys(o.section for o in provenance if o is not None))
