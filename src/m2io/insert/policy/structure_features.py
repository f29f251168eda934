"""What the placement policy knows from provenance: where each figure stood relative to the answer's sentences.

Per candidate and slot (``STRUCT_SLOT``): whether the slot is the figure's structural slot
(:func:`m2io.insert.structure.structural_slot`), how far from it (share of the answer), whether
the segment before the slot is the sentence just above the figure in its section and the one
after it the sentence just below, whether those two segments come from the figure's section at
all, and how sure their alignment is (1 verbatim, the cosine for a paraphrase). Per candidate
(``STRUCT_CAND``): whether the answer draws on its section, that section's share of the answer,
whether it is the answer's first section, whether the figure stood inside the part of the section
the answer holds, how many figures stood with it, and whether its origin is known at all.

These do not depend on any manual's wording, which is why they transfer: a figure belongs right
after the sentence it followed in its section, when the answer holds that sentence.

>>> from m2io.types import Candidate, Image, Origin
>>> prov = [Origin("a", position=0), Origin("a", position=1)]
>>> s, c = structure_features([Candidate(1, Image("x", None), origin=Origin("a", position=1))], prov, 2)
>>> s.shape, c.shape, s[0, :, 0].tolist()                 # structural slot 1 of slots 0..2
((1, 3, 7), (1, 6), [0.0, 1.0, 0.0])
>>> c[0].tolist()
[1.0, 1.0, 1.0, 1.0, 0.0, 1.0]
"""
from __future__ import annotations

import numpy as np

from m2io.insert.structure import adjacent, span_of, structural_slot
from m2io.types import Candidate, Image, Origin  # noqa: F401  (Image: the doctests build candidates)

STRUCT_SLOT = 7
STRUCT_CAND = 6


def structure_features(candidates: list[Candidate], provenance: list[Origin | None] | None,
                       n: int) -> tuple[np.ndarray, np.ndarray]:
    """(m, n + 1, STRUCT_SLOT) and (m, STRUCT_CAND) float32 arrays (zeros where nothing is known)."""
    m = len(candidates)
    prov = list(provenance or [])[:n] + [None] * max(0, n - len(provenance or []))
    slot = np.zeros((m, n + 1, STRUCT_SLOT), np.float32)
    cand = np.zeros((m, STRUCT_CAND), np.float32)
    first = next((o.section for o in prov if o is not None), None)
    for i, c in enumerate(candidates):
        # An origin says something only beside the answer's own: with no provenance, both are unknown.
        o = c.origin if first is not None else None
        if o is None:
            slot[i, :, 1] = 1.0
            continue
        cand[i, 5] = 1.0
        cand[i, 4] = np.log(max(o.run, 1))
        mine = [p for p in prov if p is not None and p.section == o.section]
        if not mine:
            slot[i, :, 1] = 1.0
            continue
        cand[i, 0] = 1.0
        cand[i, 1] = len(mine) / max(n, 1)
        cand[i, 2] = float(o.section == first)
        span = span_of(o.section, prov)
        cand[i, 3] = float(span is not None and span[0] <= o.position <= span[1])
        target = structural_slot(o, prov)
        for t in range(n + 1):
            above, below = adjacent(o, prov, t)
            before = prov[t - 1] if t >= 1 else None
            after = prov[t] if t < n else None
            same_before = before is not None and before.section == o.section
            same_after = after is not None and after.section == o.section
            slot[i, t] = [float(t == target), abs(t - target) / max(n, 1), float(above), float(below),
                          float(same_before), float(same_after),
                          max(before.score if same_before else 0.0, after.score if same_after else 0.0)]
    return slot, cand


def allowed_run(candidates: list[Candidate], provenance: list[Origin | None] | None) -> int:
    """The longest run of figures (at one slot) a plan may have: the longest its sources had, at least 1.

    >>> allowed_run([Candidate(1, Image("x", None), origin=Origin("a", position=1, run=3))], [Origin("a", position=0)])
    3
    """
    used = {o.section for o in (provenance or []) if o is not None}
    runs = [c.origin.run for c in candidates if c.origin is not None and c.origin.section in used]
    return max([1, *runs])

