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
>>> plan_from_marks("Open it. <img2> Click OK. <img9>", n_candidates=3)
(['Open it.', 'Click OK.'], [(2, 1)])
>>> align_marks("Open the main menu. <img1> Then click it.", ["Open the menu.", "Then click it."], 1)
[(1, 1)]
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from m2io.corpus.chunk import split_sentences
from m2io.types import PIC, Candidate, Placement

PLAN_ITEM = re.compile(r"<img(\d+)>\s*@\s*(\d+)")
"""One ``<imgK>@S`` item of a written plan (K and S as groups)."""
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
        m = PLAN_ITEM.match(text, pos)
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


_MARK = re.compile(r"<img(\d+)>")


def plan_from_marks(text: str, n_candidates: int) -> tuple[list[str], list[tuple[int, int]]]:
    """Segments and ``(k, slot)`` items of a text written with ``<imgK>`` marks (interleaved output).

    Marks of unknown candidates are dropped, and an image marked twice keeps its first place.
    """
    marks = [int(m) for m in _MARK.findall(text)]
    gold = gold_from_marks(_MARK.sub(PIC, text), [str(k) for k in marks])
    items = [(int(k), slot) for k, slot in gold.slots.items() if 1 <= int(k) <= n_candidates]
    return gold.segments, sorted(items, key=lambda item: (item[1], marks.index(item[0])))


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def align_marks(text: str, segments: list[str], n_candidates: int) -> list[tuple[int, int]]:
    """``(k, slot)`` items for ``<imgK>`` marks in ``text``, a rewrite of the answer ``segments``.

    A model asked to copy an answer and insert marks may change its words; each mark is mapped
    onto the given segments through a word alignment (difflib), and its slot is the number of
    given segments that end at or before the aligned word.
    """
    ends, n = [], 0
    for seg in segments:
        n += len(_words(seg))
        ends.append(n)
    target = [w for seg in segments for w in _words(seg)]
    out_words: list[str] = []
    marks: list[tuple[int, int]] = []  # (k, index of the output word before which the mark stands)
    for piece in re.split(r"(<img\d+>)", text):
        m = _MARK.fullmatch(piece)
        if m:
            marks.append((int(m.group(1)), len(out_words)))
        else:
            out_words += _words(piece)
    matcher = difflib.SequenceMatcher(None, out_words, target, autojunk=False)
    blocks = matcher.get_matching_blocks()
    items, seen = [], set()
    for k, at in marks:
        if not 1 <= k <= n_candidates or k in seen:
            continue
        seen.add(k)
        mapped = 0  # words of the target before the mark
        for a, b, size in blocks:
            if a + size <= at:
                mapped = b + size
            elif a < at:
                mapped = b + (at - a)
        items.append((k, sum(1 for e in ends if e <= mapped)))
    return items
