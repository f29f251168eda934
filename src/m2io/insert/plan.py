"""Placement plans: which candidate images go where in an answer, and their compact written form.

An answer is split into segments (its sentences, line by line), numbered from 1; slot ``s``
means "after segment s", slot 0 "before the first". The inserter never changes the text. The
written form lists ``<imgK>@S`` items (K: the query's 1-based candidate number): a few tokens
per image, which is where a separate inserter saves time over interleaved generation.

>>> gold = gold_from_marks("Open the menu. <PIC>\\nPick Layers. Then drag. <PIC>", ["m", "l"])
>>> gold.segments, gold.slots
(['Open the menu.', 'Pick Layers.', 'Then drag.'], {'m': 1, 'l': 3})
>>> parse_plan("<img2>@3 <img1>@1", n_candidates=2, n_segments=3)
[(2, 3), (1, 1)]
>>> format_plan([(2, 3), (1, 1)])
'<img2>@3 <img1>@1'
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from m2io.corpus.chunk import split_sentences
from m2io.types import PIC, Candidate, Placement

_ITEM = re.compile(r"<img(\d+)>\s*@\s*(\d+)")
_SEPARATOR = re.compile(r"[\s,;]*")


class PlanError(ValueError):
    """A written plan that does not parse or names an image or slot that does not exist."""


def segment_answer(text: str) -> list[str]:
    """The answer's segments: sentences of each line, ``<PIC>`` and ``<imgK>`` marks removed."""
    clean = re.sub(r"<PIC>|<img\d+>", " ", text)
    return [" ".join(s.split()) for line in clean.split("\n") for s in split_sentences(line)]


@dataclass(frozen=True)
class GoldPlan:
    segments: list[str]
    slots: dict[str, int]
    """Gold image id -> its slot (an image marked twice keeps its first place)."""

    @property
    def order(self) -> list[str]:
        """Gold images in answer order (by slot; the order of the marks within a slot)."""
        return sorted(self.slots, key=lambda i: self.slots[i])


def gold_from_marks(ground_truth: str, image_ids: list[str]) -> GoldPlan:
    """Segments and gold slots of an answer written with ``<PIC>`` marks.

    A mark's slot is the number of segments that end before it, so a mark inside a sentence
    counts as after the previous sentence. The segments are exactly ``segment_answer`` of the text.
    """
    pieces = ground_truth.split(PIC)
    if len(pieces) - 1 != len(image_ids):
        raise ValueError(f"{len(pieces) - 1} {PIC} marks but {len(image_ids)} image ids")
    slots: dict[str, int] = {}
    text = ""
    for k, piece in enumerate(pieces):
        text += piece
        if k < len(image_ids):
            before = segment_answer(text)
            # A sentence the mark interrupts is not finished: it counts after the mark.
            unfinished = bool(before) and not _ends_segment(text)
            slots.setdefault(image_ids[k], len(before) - unfinished)
            text += " "
    return GoldPlan(segment_answer(text), slots)


def _ends_segment(text: str) -> bool:
    """True if ``text`` ends where the splitter ends a segment: a line break, or . ! ? (+ quotes)."""
    tail = text.rstrip(" \t")
    return tail.endswith("\n") or re.search(r"[.!?][\"'”’)\]]*$", tail) is not None


def parse_plan(text: str, n_candidates: int, n_segments: int) -> list[tuple[int, int]]:
    """``(candidate number, slot)`` items of a written plan, in written order; strict.

    Only ``<imgK>@S`` items separated by spaces, commas or semicolons; an empty plan places no
    image. Raises :class:`PlanError` for anything else, an unknown candidate, a slot outside
    ``0..n_segments``, or an image placed twice.
    """
    items, pos, seen = [], 0, set()
    text = text.strip()
    while pos < len(text):
        pos = _SEPARATOR.match(text, pos).end()
        if pos >= len(text):
            break
        m = _ITEM.match(text, pos)
        if not m:
            raise PlanError(f"unexpected text at {pos}: {text[pos:pos + 20]!r}")
        k, slot = int(m.group(1)), int(m.group(2))
        if not 1 <= k <= n_candidates:
            raise PlanError(f"<img{k}> is not a candidate (there are {n_candidates})")
        if not 0 <= slot <= n_segments:
            raise PlanError(f"slot {slot} of <img{k}> is outside 0..{n_segments}")
        if k in seen:
            raise PlanError(f"<img{k}> is placed twice")
        seen.add(k)
        items.append((k, slot))
        pos = m.end()
    return items


def format_plan(items: list[tuple[int, int]]) -> str:
    return " ".join(f"<img{k}>@{slot}" for k, slot in items)


def to_placements(items: list[tuple[int, int]], candidates: list[Candidate]) -> list[Placement]:
    """Placements of parsed items, in answer order (by slot; written order within a slot)."""
    by_k = {c.k: c for c in candidates}
    ordered = sorted(enumerate(items), key=lambda pair: (pair[1][1], pair[0]))
    return [Placement(by_k[k].image.id, slot) for _, (k, slot) in ordered]
