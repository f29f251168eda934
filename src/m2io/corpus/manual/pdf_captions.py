"""The caption of a figure on a PDF page, from the lines around its region.

In order: the "Figure N" / "Fig. N" paragraph right below or above it; a short italic or smaller
line right below it (centred under it, or close); a short capitalised line with no closing
punctuation standing alone under it. All three are "caption_style" but the first ("caption_line").

Hand-written: captions are a typesetting convention, not PDF structure.

>>> from m2io.corpus.manual.pdf_lines import Line
>>> lines = [Line("Figure 2.1: The Layers dialog", 0, 60, 310, 220, 321, 9),
...          Line("The dialog lists every layer.", 0, 50, 340, 300, 351, 10)]
>>> find_caption([50, 100, 350, 300], lines, set(), 10.0)
('Figure 2.1: The Layers dialog', 'caption_line', [0])
"""
from __future__ import annotations

import re

from m2io.corpus.manual.pdf_lines import Line

FIGURE_START = re.compile(r"^\s*(?:figure|fig\.?)\s*[0-9A-Z]+(?:[.\-][0-9A-Z]+)*\s*[.:\-\u2013\u2014]?(?:\s|$)",
                          re.IGNORECASE)
TABLE_START = re.compile(r"^\s*table\s*[0-9A-Z]+(?:[.\-][0-9A-Z]+)*\s*[.:\-\u2013\u2014]?(?:\s|$)", re.IGNORECASE)


def find_caption(box: list[float], lines: list[Line], used: set[int], body_size: float) -> tuple[str, str, list[int]]:
    """The caption paragraph next to a figure's region: (text, source, line indexes)."""
    width = box[2] - box[0]
    near = [i for i, ln in enumerate(lines) if i not in used and ln.x1 > box[0] - 0.1 * width
            and ln.x0 < box[2] + 0.1 * width]
    below = sorted((i for i in near if box[3] - 2 <= lines[i].top <= box[3] + 2.5 * max(lines[i].height, 8)),
                   key=lambda i: lines[i].top)
    above = sorted((i for i in near if box[1] - 2.5 * max(lines[i].height, 8) <= lines[i].bottom <= box[1] + 2),
                   key=lambda i: -lines[i].bottom)
    for start, source in ((below[:1], "caption_line"), (above[:1], "caption_line")):
        if start and FIGURE_START.match(lines[start[0]].text):
            return _paragraph(start[0], lines, used, source)
    if below:
        first = lines[below[0]]
        centred = abs((first.x0 + first.x1) / 2 - (box[0] + box[2]) / 2) < 0.2 * max(width, 1)
        close = first.top - box[3] <= 1.2 * first.height and first.x1 > box[0] and first.x0 < box[2]
        styled = first.italic or first.size < 0.93 * body_size
        if (centred or close) and styled and len(first.text.split()) <= 25 and not TABLE_START.match(first.text):
            return _paragraph(below[0], lines, used, "caption_style")
        if (centred or close) and _caption_like(first, below[0], lines):
            return first.text, "caption_style", [below[0]]
    return "", "", []


def _caption_like(line: Line, index: int, lines: list[Line]) -> bool:
    """A title-like line standing alone under a figure: short, capitalised, no closing punctuation,
    set apart from the text below it ("Align center of target clicked")."""
    words = line.text.split()
    if not 1 <= len(words) <= 12 or not line.text[:1].isupper() or line.text[-1] in ".:;,!?" \
            or TABLE_START.match(line.text):
        return False
    after = [ln.top - line.bottom for j, ln in enumerate(lines) if j != index and ln.top >= line.bottom - 1
             and ln.x1 > line.x0 and ln.x0 < line.x1 + 200]
    return not after or min(after) > 0.8 * line.height


def _paragraph(start: int, lines: list[Line], used: set[int], source: str) -> tuple[str, str, list[int]]:
    """A caption line and the lines that continue it (same size, tight spacing, at most 5 lines, and
    not past a line that ends a sentence: the paragraph under a caption is not part of it)."""
    taken = [start]
    for _ in range(4):
        last = lines[taken[-1]]
        if last.text.rstrip().endswith((".", "!", "?")) and len(taken) > 1 or last.text.rstrip().endswith(":"):
            break
        nxt = min((i for i, ln in enumerate(lines) if i not in used and i not in taken
                   and 0 <= ln.top - last.bottom <= 0.6 * last.height and abs(ln.size - last.size) < 0.5
                   and ln.x0 < last.x1 and ln.x1 > last.x0), key=lambda i: lines[i].top, default=None)
        if nxt is None or FIGURE_START.match(lines[nxt].text):
            break
        taken.append(nxt)
    return " ".join(lines[i].text for i in taken), source, taken
