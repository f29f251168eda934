"""Put a PDF's lines in reading order: columns, running headers and footers, paragraphs.

- **Columns**: a page is two columns when a vertical gutter near the middle is crossed by almost no
  line while many lines lie wholly on each side. Lines that cross it (titles, wide figures) cut the
  page into bands; each band is read left column first, then right.
- **Running headers and footers**: the top and bottom lines of a page whose text, with its digits
  blanked, repeats on many pages, and bare page numbers ("12", "xii", "Page 3 of 40").
- **Paragraphs**: lines join while the spacing stays tight and the style stays the same; a short
  line ending a sentence closes one. A hyphen at a line's end between letters is taken out
  ("manu-" + "al" -> "manual"); a dash before a capital or digit stays.

Hand-written: these are layout rules no PDF library applies for us (pdfminer's layout analysis
is close, but ten times slower than reading with PDFium and blind to running headers).

>>> from m2io.corpus.manual.pdf_lines import Line
>>> a = Line("A layer holds the pixels of one part of the im-", 0, 50, 100, 300, 110, 10)
>>> b = Line("age, and layers stack.", 0, 50, 111, 160, 121, 10)
>>> [p.text for p in paragraphs([a, b])]
['A layer holds the pixels of one part of the image, and layers stack.']
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from m2io.corpus.manual.pdf_lines import SOFT_HYPHENS, Line

_PAGE_NUMBER = re.compile(r"^\s*(?:(?:page|p\.)\s*)?(?:\d+|[ivxlcdm]+)(?:\s*(?:/|of)\s*\d+)?\s*$", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
_SENTENCE_END = re.compile(r"[.!?:;)\"'\u201d]$")
BULLET = re.compile(r"^\s*(?:[\u2022\u25cf\u25e6\u2023\u2043\u2219\-\u2013*]\s|\(?\d{1,2}[.)]\s|\(?[a-z][.)]\s)")


@dataclass
class Paragraph:
    text: str
    lines: list[Line]

    @property
    def first(self) -> Line:
        return self.lines[0]


def _gutter(lines: list[Line], page_width: float) -> float | None:
    """The x of a two-column page's gutter, or None for one column."""
    if len(lines) < 12:
        return None
    best = None
    for step in range(35, 66):
        x = page_width * step / 100
        crossing = sum(1 for ln in lines if ln.x0 < x - 1 < x + 1 < ln.x1)
        left = sum(1 for ln in lines if ln.x1 <= x)
        right = sum(1 for ln in lines if ln.x0 >= x)
        if crossing <= 0.1 * len(lines) and min(left, right) >= 0.25 * len(lines):
            score = crossing - 0.01 * min(left, right)
            if best is None or score < best[0]:
                best = (score, x)
    return best[1] if best else None


def reading_order(items: list, page_width: float) -> list:
    """``items`` (anything with x0, x1, top) in reading order: by bands, left column before right."""
    lines = [it for it in items if isinstance(it, Line)]
    gutter = _gutter(lines, page_width)
    if gutter is None:
        return sorted(items, key=lambda it: (it.top, it.x0))
    order: list = []
    band: list = []
    for it in sorted(items, key=lambda it: (it.top, it.x0)):
        if it.x0 < gutter - 1 and it.x1 > gutter + 1:  # crosses the gutter: ends a band
            order += sorted(band, key=lambda b: (b.x0 >= gutter, b.top, b.x0))
            order.append(it)
            band = []
        else:
            band.append(it)
    return order + sorted(band, key=lambda b: (b.x0 >= gutter, b.top, b.x0))


def running_lines(pages: list[list[Line]], min_share: float = 0.3) -> set[int]:
    """``id()`` of the lines that are running headers, footers or page numbers."""
    def edges(lines: list[Line]) -> list[Line]:
        by_top = sorted(lines, key=lambda ln: ln.top)
        return by_top[:2] + by_top[-2:] if len(by_top) > 4 else by_top

    counts: Counter = Counter()
    for lines in pages:
        counts.update({_DIGITS.sub("#", ln.text.lower()) for ln in edges(lines)})
    need = max(3, min_share * len(pages))
    out = set()
    for lines in pages:
        for ln in edges(lines):
            seen = counts[_DIGITS.sub("#", ln.text.lower())]
            if _PAGE_NUMBER.match(ln.text) or (len(pages) >= 4 and seen >= need) or (1 < len(pages) == seen):
                out.add(id(ln))
    return out


def _join(text: str, nxt: str) -> str:
    if text and text[-1] in SOFT_HYPHENS:
        return text[:-1] + nxt
    if len(text) > 2 and text[-1] == "-" and text[-2].isalpha() and nxt[:1].islower():
        return text[:-1] + nxt
    return f"{text} {nxt}"


def paragraphs(lines: list[Line]) -> list[Paragraph]:
    """Group consecutive lines (already in reading order) into paragraphs."""
    out: list[Paragraph] = []
    current: list[Line] = []
    text = ""
    for ln in lines:
        if current:
            prev = current[-1]
            ends = bool(_SENTENCE_END.search(prev.text))
            if ln.page != prev.page or ln.top < prev.top - prev.height:
                new = ends  # the next page or column: the paragraph goes on unless the sentence ended
            else:
                right = max(c.x1 for c in (*current, ln))
                width = max(c.width for c in (*current, ln))
                new = (ln.top - prev.bottom > 0.7 * prev.height
                       or abs(ln.size - prev.size) > 0.15 * prev.size or ln.bold != prev.bold
                       or bool(BULLET.match(ln.text))
                       or (ends and prev.x1 < right - 0.12 * width))  # a short line that ends a sentence
            if not new:
                current.append(ln)
                text = _join(text, ln.text)
                continue
            out.append(Paragraph(text.replace("\u00ad", "").replace("\ufffe", ""), current))
        current, text = [ln], ln.text
    if current:
        out.append(Paragraph(text.replace("\u00ad", "").replace("\ufffe", ""), current))
    return out
