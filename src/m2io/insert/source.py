"""The ``source`` inserter (a baseline): each figure where it stood in its section, by provenance alone.

A candidate whose section the answer draws on, and whose place there lies inside the part of the
section the answer holds, goes to its structural slot (:func:`m2io.insert.structure.structural_slot`);
every other candidate is left out. With the ``section`` answerer (the best section verbatim) this is
"the best section with its own figures at their own places". No model, no encoding.

>>> from m2io.types import Candidate, Image, Origin
>>> prov = [Origin("a", position=0), Origin("a", position=1)]
>>> cands = [Candidate(1, Image("x", None), origin=Origin("a", position=1)), Candidate(2, Image("y", None))]
>>> SourceInserter().insert("q", ["A.", "B."], cands, prov).placements
[Placement(image_id='x', slot=1)]
"""
from __future__ import annotations

import time

from m2io.insert.base import InsertResult, Inserter
from m2io.insert.structure import span_of, structural_slot
from m2io.types import Candidate, Origin, Placement


class SourceInserter(Inserter):
    name = "source"

    def insert(self, query: str, segments: list[str], candidates: list[Candidate],
               provenance: list[Origin | None] | None = None) -> InsertResult:
        start = time.perf_counter()
        provenance = provenance or []
        out = []
        for c in candidates:
            slot = structural_slot(c.origin, provenance)
            span = span_of(c.origin.section, provenance) if c.origin is not None else None
            if slot is not None and span is not None and span[0] <= c.origin.position <= span[1]:
                out.append(Placement(c.image.id, slot))
        return InsertResult(placements=sorted(out, key=lambda p: p.slot), timings={"insert": time.perf_counter() - start})
