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
is close, but pure Python and blind to running headers).

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
_PAGE_AT_ENDS = re.compile(r"^\s*(?:\d+|[ivxlc]+)\s+|\s+(?:\d+|[ivxlc]+)\s*$")
SENTENCE_END = re.compile(r"[.!?:;)\"'\u201d]$")
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


def _edge_rows(lines: list[Line], rows: int = 2) -> list[Line]:
    """The lines of a page's top and bottom ``rows`` rows (a header's left and right parts are one row)."""
    if len(lines) <= 2 * rows:
        return list(lines)
    out: list[Line] = []
    for edge in ("top", "bottom"):
        order = sorted(lines, key=lambda ln: ln.top if edge == "top" else -ln.bottom)
        seen: list[float] = []
        for ln in order:
            y = ln.top if edge == "top" else ln.bottom
            if not any(abs(y - t) <= 2 for t in seen):
                if len(seen) == rows:
                    break
                seen.append(y)
            if all(ln is not o for o in out):
                out.append(ln)
    return out


def _detached(line: Line, lines: list[Line]) -> bool:
    """Set apart from the text above or below it by more than a line's spacing, as a header or footer is."""
    above = [ln.bottom for ln in lines if ln.bottom <= line.top + 1 and ln is not line]
    below = [ln.top for ln in lines if ln.top >= line.bottom - 1 and ln is not line]
    gap_above = line.top - max(above) if above else float("inf")
    gap_below = min(below) - line.bottom if below else float("inf")
    return min(gap_above, gap_below) > 0.8 * line.height and max(gap_above, gap_below) > 1.2 * line.height


def running_lines(pages: list[list[Line]], min_share: float = 0.3, window: int = 6, in_window: int = 3) -> set[int]:
    """``id()`` of the lines that are running headers, footers or page numbers.

    An edge line (top or bottom rows of a page) is running when its text, digits blanked, recurs on
    ``min_share`` of all pages, or its very text on every page of a short PDF; or when its exact text (less a page
    number at either end) recurs on ``in_window`` of any ``window`` consecutive pages, set apart from the
    text like a header: a chapter's name in the header of its pages (a paragraph a manual repeats in
    every section is not set apart). Numbered headings ("2.1 Other Changes" in every release's notes) differ
    in their numbers, so they are not taken for a chapter's header.
    """
    edges = [_edge_rows(lines) for lines in pages]
    detached = {id(ln) for lines, edge in zip(pages, edges) for ln in edge if _detached(ln, lines)}
    share_key = lambda ln: _DIGITS.sub("#", ln.text.lower())  # noqa: E731
    window_key = lambda ln: _PAGE_AT_ENDS.sub("", ln.text.lower()).strip()  # noqa: E731
    on_pages: dict[str, set[int]] = {}
    exact: dict[str, set[int]] = {}
    in_pages: dict[str, list[int]] = {}
    for p, lines in enumerate(edges):
        for ln in lines:
            on_pages.setdefault(share_key(ln), set()).add(p)
            exact.setdefault(ln.text.lower(), set()).add(p)
            pages_of = in_pages.setdefault(window_key(ln), [])
            if not pages_of or pages_of[-1] != p:
                pages_of.append(p)
    need = max(3, min_share * len(pages))

    def running(ln: Line) -> bool:
        if len(pages) >= 4 and len(on_pages[share_key(ln)]) >= need:
            return True
        if 1 < len(pages) == len(exact[ln.text.lower()]):  # a short PDF: the same words on every page
            return True
        key = window_key(ln)
        if id(ln) not in detached or sum(c.isalpha() for c in key) < 3 or len(key.split()) < 2:  # not "Step 3" at a page's top
            return False
        on = in_pages[key]
        return any(on[i + in_window - 1] - on[i] < window for i in range(len(on) - in_window + 1))

    return {id(ln) for lines in edges for ln in lines if _PAGE_NUMBER.match(ln.text) or running(ln)}


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
            ends = bool(SENTENCE_END.search(prev.text))
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
