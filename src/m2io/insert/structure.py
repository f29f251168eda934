"""Where a figure stood relative to an answer's sentences, from their provenance.

A figure stood at slot ``s`` of its section (after the section's ``s``-th segment). In an answer
whose segments know their sections and positions, its *structural slot* is right after the answer
segment that stood nearest above it there (the largest position before ``s``), or, when none did,
right before the one that stood nearest below it; an answer with nothing of its section has none. This holds
for the section verbatim, a passage cut from it, sentences picked from it, or (through alignment)
an LLM's paraphrase, and it does not depend on any one manual's wording: it is the inserter's
strongest signal across manuals.

>>> from m2io.types import Origin
>>> prov = [Origin("a", position=0), Origin("a", position=1), Origin("b", position=0), Origin("a", position=4)]
>>> structural_slot(Origin("a", position=2), prov), structural_slot(Origin("b", position=0), prov)
(2, 2)
>>> structural_slot(Origin("c", position=0), prov) is None
True
>>> adjacent(Origin("a", position=2), prov, 2)       # above: "a" 1 stands before slot 2; below: "b", not "a" 2
(True, False)
>>> adjacent(Origin("a", position=1), prov, 1)
(True, True)
"""
from __future__ import annotations

from m2io.types import Origin


def structural_slot(origin: Origin | None, provenance: list[Origin | None]) -> int | None:
    """The answer slot where the figure stood, or None (no origin, or nothing of its section in the answer)."""
    if origin is None:
        return None
    mine = [(i, o.position) for i, o in enumerate(provenance) if o is not None and o.section == origin.section]
    if not mine:
        return None
    before = [(p, -i) for i, p in mine if p < origin.position]
    if before:
        return -max(before)[1] + 1
    return min((p, i) for i, p in mine)[1]


def adjacent(origin: Origin | None, provenance: list[Origin | None], slot: int) -> tuple[bool, bool]:
    """Whether the answer segment before ``slot`` is the sentence just above the figure in its section, and
    whether the one after is the sentence just below it."""
    if origin is None:
        return False, False
    def at(i: int, position: int) -> bool:
        o = provenance[i] if 0 <= i < len(provenance) else None
        return o is not None and o.section == origin.section and o.position == position
    return at(slot - 1, origin.position - 1), at(slot, origin.position)


def span_of(section: str, provenance: list[Origin | None]) -> tuple[int, int] | None:
    """The first and one past the last position of ``section`` that the answer holds (None: none)."""
    positions = [o.position for o in provenance if o is not None and o.section == section]
    return (min(positions), max(positions) + 1) if positions else None
