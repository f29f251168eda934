"""Read a text PDF manual into a :class:`~m2io.corpus.manual.page.Page`: sections, paragraphs, figures.

Through pypdfium2 (PDFium, Apache-2.0/BSD): it is the fastest of the permissively licensed PDF
readers (PyMuPDF is AGPL), and it renders, so vector drawings become images. Pages are read one
at a time and closed, figures are written to ``figure_dir`` as they are found, so memory holds
only the text.

- **Sections** come from the outline (bookmarks): each entry's heading line is found on its page
  near its destination, and the entry's depth is the level. Without an outline, headings are lines
  set larger than the body text (or bold and numbered, "2.3 Layers"), levels by size and numbering.
- **Text** in reading order (:mod:`~m2io.corpus.manual.pdf_layout`), figures
  (:mod:`~m2io.corpus.manual.pdf_figures`) where they stand on the page.
- **Bad input**: an empty, truncated, encrypted or scanned (no text layer) file raises
  :class:`~m2io.errors.DatasetError` naming it, before anything is kept.

>>> import tempfile, pathlib
>>> from fpdf import FPDF
>>> from PIL import Image as PILImage
>>> d = pathlib.Path(tempfile.mkdtemp()); PILImage.new("RGB", (300, 200), "teal").save(d / "shot.png")
>>> pdf = FPDF(); pdf.add_page(); pdf.set_font("helvetica", "B", 16); pdf.start_section("1 Layers")
>>> _ = pdf.cell(0, 10, "1 Layers", new_x="LMARGIN", new_y="NEXT"); pdf.set_font("helvetica", size=10)
>>> _ = pdf.multi_cell(0, 5, "A layer holds pixels. Open the Layers dialog to see them all:")
>>> _ = pdf.image(str(d / "shot.png"), x=20, w=90); pdf.set_x(20); _ = pdf.cell(0, 5, "Figure 1: The Layers dialog")
>>> pdf.output(str(d / "guide.pdf"))
>>> page = parse_pdf(d / "guide.pdf", d / "figures")
>>> s = page.sections[0]
>>> s.title, [type(b).__name__ for b in s.blocks], s.blocks[1].caption
('Layers', ['TextBlock', 'FigureBlock'], 'The Layers dialog')
"""
from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from tqdm import tqdm

from m2io.corpus.manual.page import FigureBlock, Page, Section, TextBlock, strip_caption_prefix, strip_numbering
from m2io.corpus.manual.pdf_figures import FIGURE_START, Figure, FigureRules, find_figures
from m2io.corpus.manual.pdf_floats import figure_label, place_floats
from m2io.corpus.manual.pdf_layout import SENTENCE_END, paragraphs, reading_order, running_lines
from m2io.corpus.manual.pdf_lines import Line, read_lines
from m2io.errors import DatasetError

_NUMBERED = re.compile(r"^(?:[0-9]+|[A-Z])(?:\.[0-9]+)*\.?\s+\S")
_CHAPTER_LABEL = re.compile(r"^(?:chapter|part|appendix|section)\s+[0-9A-Z]+[.:]?$", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
MIN_TEXT_CHARS_PER_PAGE = 20


@dataclass
class _Heading:
    title: str
    level: int
    page: int
    top: float
    x0: float = 0.0
    x1: float = 0.0


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(strip_numbering(text).lower()))


def _open(path: Path) -> pdfium.PdfDocument:
    if not path.is_file():
        raise DatasetError("no such PDF file", path)
    size = path.stat().st_size
    if size == 0:
        raise DatasetError("empty file, not a PDF", path)
    with path.open("rb") as f:
        head = f.read(1024)
        f.seek(max(0, size - 2048))
        tail = f.read()
    if b"%PDF-" not in head:
        raise DatasetError("not a PDF (no %PDF- header)", path)
    if b"%%EOF" not in tail:
        raise DatasetError("truncated PDF (no %%EOF at its end): download or copy it again", path)
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as e:
        if "password" in str(e).lower():
            raise DatasetError("encrypted PDF: it needs a password to open; decrypt it first (qpdf --decrypt)", path) from e
        raise DatasetError(f"unreadable PDF: {e}", path) from e


def _outline(pdf: pdfium.PdfDocument, heights: list[float]) -> list[_Heading]:
    out = []
    for item in pdf.get_toc(max_depth=8):
        title = " ".join((item.get_title() or "").split())
        dest = item.get_dest()
        index = dest.get_index() if dest is not None else None
        if not title or index is None or not 0 <= index < len(heights):
            continue
        _, view = dest.get_view()
        y = view[1] if len(view) > 1 and view[1] else None
        out.append(_Heading(title, item.level + 1, index, heights[index] - y if y else 0.0))
    return out


def _match_outline(headings: list[_Heading], pages: list[list]) -> dict[int, _Heading]:
    """Map ``id()`` of each outline entry's heading line (or of the first item after its destination) to it."""
    marks: dict[int, _Heading] = {}
    for h in headings:
        items = pages[h.page]
        target = _norm(h.title)
        lines = [it for it in items if isinstance(it, Line) and id(it) not in marks]
        found = None
        for i, ln in enumerate(lines):
            text = _norm(ln.text)
            if not text:
                continue
            joined = text if i + 1 >= len(lines) else f"{text} {_norm(lines[i + 1].text)}"
            if text == target or (target.startswith(text) and joined.startswith(target)):
                if found is None or abs(ln.top - h.top) < abs(found.top - h.top):
                    found = ln
        if found is not None:
            h.top = found.top
            marks[id(found)] = h
            if _norm(found.text) != target:  # a title set on two lines: the second is part of it
                nxt = lines[lines.index(found) + 1]
                marks[id(nxt)] = _Heading("", 0, h.page, nxt.top)
            continue
        after = next((it for it in items if it.top >= h.top - 2 and id(it) not in marks), None)
        if after is not None:
            marks[id(after)] = _Heading(h.title, h.level, h.page, -1.0)  # a heading placed before this item
    return marks


def _font_headings(pages: list[list], body: float) -> dict[int, _Heading]:
    """Headings by font size and numbering, for PDFs without an outline."""
    candidates: list[Line] = []
    for items in pages:
        for it in items:
            if not isinstance(it, Line):
                continue
            words = it.text.split()
            if not 1 <= len(words) <= 14 or it.text[-1] in ".,;" or not any(c.isalpha() for c in it.text):
                continue
            if FIGURE_START.match(it.text):
                continue
            if it.size >= 1.12 * body or (it.bold and _NUMBERED.match(it.text) and it.size >= 0.97 * body):
                candidates.append(it)
    sizes = sorted({round(ln.size * 2) / 2 for ln in candidates}, reverse=True)
    marks: dict[int, _Heading] = {}
    previous: Line | None = None
    for ln in candidates:
        number = re.match(r"^((?:[0-9]+|[A-Z])(?:\.[0-9]+)*)\.?\s", ln.text)
        level = number[1].count(".") + 1 if number else sizes.index(round(ln.size * 2) / 2) + 1
        if previous is not None and previous.page == ln.page and abs(previous.size - ln.size) < 0.3 \
                and 0 <= ln.top - previous.bottom < 0.6 * ln.height and id(previous) in marks:
            marks[id(ln)] = _Heading("", 0, ln.page, ln.top)  # a title's second line
            marks[id(previous)].title += " " + ln.text
        else:
            marks[id(ln)] = _Heading(ln.text, level, ln.page, ln.top)
        previous = ln
    return marks


def _body_size(pages: list[list]) -> float:
    weight: Counter = Counter()
    for items in pages:
        for it in items:
            if isinstance(it, Line):
                weight[round(it.size * 2) / 2] += len(it.text)
    return weight.most_common(1)[0][0] if weight else 10.0


def _title(pdf: pdfium.PdfDocument, first_page: list, path: Path) -> str:
    meta = " ".join((pdf.get_metadata_dict().get("Title") or "").split())
    if meta and not re.search(r"\.(?:dvi|tex|pdf|docx?|odt|html?)$|^untitled|^microsoft word", meta, re.IGNORECASE):
        return meta
    lines = [it for it in first_page if isinstance(it, Line) and any(c.isalpha() for c in it.text)]
    if lines:
        return max(lines, key=lambda ln: ln.size).text
    return path.stem.replace("_", " ").replace("-", " ")


def _captions_before(pages: list[list]) -> None:
    """Give an uncaptioned figure the "Figure N" paragraph just before it in reading order.

    A caption above its figure may be far from it or on the previous page, where the figure did not fit.
    """
    flat = [(p, i) for p, items in enumerate(pages) for i in range(len(items))]
    taken: set[tuple[int, int]] = set()
    for k, (p, i) in enumerate(flat):
        fig = pages[p][i]
        if not isinstance(fig, Figure) or fig.caption:
            continue
        back = []
        for p2, i2 in reversed(flat[max(0, k - 4):k]):
            item = pages[p2][i2]
            if not isinstance(item, Line) or (p2, i2) in taken:
                break
            back.append((p2, i2))
            if FIGURE_START.match(item.text):
                lines = [pages[a][b] for a, b in reversed(back)]
                if all(abs(ln.size - lines[0].size) < 0.5 for ln in lines):
                    fig.caption, fig.caption_source = " ".join(ln.text for ln in lines), "caption_line"
                    taken.update(back)
                break
    for p, items in enumerate(pages):
        items[:] = [it for i, it in enumerate(items) if (p, i) not in taken]
    _share_captions([it for items in pages for it in items])


def _share_captions(items: list) -> None:
    """Figures side by side with no text between share the one caption among them (a figure of several images)."""
    run: list[Figure] = []
    for it in [*items, None]:
        if isinstance(it, Figure):
            run.append(it)
            continue
        captioned = [f for f in run if f.caption]
        if len(captioned) == 1:
            for f in run:
                if not f.caption:
                    f.caption, f.caption_source = captioned[0].caption, captioned[0].caption_source
        run = []


def _runs_on(lines: list[Line]) -> bool:
    """The last line breaks off mid-sentence: it is not a sentence's end and it is as wide as the lines
    of its paragraph usually are (a short label such as "Step 2" ends where it ends)."""
    last = lines[-1]
    widest = max(ln.width for ln in lines[-6:])
    return not SENTENCE_END.search(last.text) and len(last.text) >= 40 and last.width >= 0.8 * widest


def _sections(pages: list[list], marks: dict[int, _Heading], title: str) -> list[Section]:
    sections: list[Section] = []
    preamble = Section(title=title, level=1, anchor="")
    floats: dict[int, str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[Line] = []

    def current() -> Section:
        return sections[-1] if sections else preamble

    deferred: list[FigureBlock] = []

    def flush() -> None:
        for p in paragraphs(pending):
            current().blocks.append(TextBlock(p.text))
        pending.clear()
        current().blocks.extend(deferred)
        deferred.clear()

    for items in pages:
        for it in items:
            mark = marks.get(id(it))
            if mark is not None:
                flush()
                if mark.level:  # a new heading (level 0 marks a title's second line)
                    while stack and stack[-1][0] >= mark.level:
                        stack.pop()
                    name = strip_numbering(mark.title)
                    sections.append(Section(title=name, level=mark.level, anchor="", parents=[t for _, t in stack]))
                    stack.append((mark.level, name))
                if mark.top >= 0:  # the item is the heading line itself
                    if pending and _CHAPTER_LABEL.match(pending[-1].text):
                        pending.pop()
                    continue
            if isinstance(it, Figure):
                block = FigureBlock(src=it.path, caption=strip_caption_prefix(it.caption) if it.caption else "",
                                    caption_source=it.caption_source or "none", alt="")
                if it.at_page_edge and figure_label(it.caption):
                    floats[id(block)] = figure_label(it.caption)
                if it.at_page_edge and pending and _runs_on(pending):
                    deferred.append(block)  # a float inside a paragraph that runs on: after the paragraph
                    continue
                flush()
                current().blocks.append(block)
            else:
                if _CHAPTER_LABEL.match(it.text) and sections and not current().blocks and not pending:
                    continue
                pending.append(it)
    flush()
    for section in sections:
        section.blocks = place_floats(section.blocks, floats)
    return ([preamble] if preamble.blocks else []) + sections


def _check_text_layer(pdf: pdfium.PdfDocument, path: Path, sample: int = 10) -> None:
    """Refuse a scanned PDF from its first pages, before any figure is cut out of it."""
    chars = 0
    for i in range(min(sample, len(pdf))):
        page = pdf[i]
        textpage = page.get_textpage()
        chars += textpage.count_chars()
        textpage.close()
        page.close()
    if chars < MIN_TEXT_CHARS_PER_PAGE * min(sample, len(pdf)):
        raise DatasetError(f"no text layer ({chars} characters on the first {min(sample, len(pdf))} pages): a scanned "
                           "PDF? Run OCR first (for example ocrmypdf)", path)


def _read_pages(pdf: pdfium.PdfDocument, path: Path, figure_dir: Path, rules: FigureRules, progress: bool):
    """Lines and figures of every page, the pages' widths and heights, and the characters read."""
    pages: list[list] = []
    widths, heights = [], []
    chars = 0
    for i in tqdm(range(len(pdf)), desc=f"read {path.name}", unit="page", disable=not progress):
        page = pdf[i]
        try:
            page.set_rotation(0)  # text, shapes and crops all in the page's own upright space
            width, height = page.get_size()
            lines = read_lines(page, i)
            figures, used = find_figures(page, i, lines, figure_dir, rules)
        except (pdfium.PdfiumError, ValueError, OSError) as e:
            raise DatasetError(f"page {i + 1} could not be read: {e}", path) from e
        finally:
            page.close()
        chars += sum(len(ln.text) for ln in lines)
        widths.append(width)
        heights.append(height)
        pages.append([ln for j, ln in enumerate(lines) if j not in used] + figures)
    return pages, widths, heights, chars


def parse_pdf(path: Path, figure_dir: Path, rules: FigureRules = FigureRules(), progress: bool = False) -> Page:
    """Read the PDF at ``path``; its figures are written under ``figure_dir`` (kept when they exist).

    A first read writes the figures into a temporary folder renamed to ``figure_dir`` at the end, so
    a PDF that turns out bad leaves nothing behind and two builds never share a half-written folder.
    """
    path, figure_dir = Path(path), Path(figure_dir)
    pdf = _open(path)
    work = figure_dir if figure_dir.is_dir() else figure_dir.with_name(f".{figure_dir.name}.partial-{os.getpid()}")
    try:
        if len(pdf) == 0:
            raise DatasetError("the PDF has no pages", path)
        _check_text_layer(pdf, path)
        pages, widths, heights, chars = _read_pages(pdf, path, work, rules, progress)
        if chars < MIN_TEXT_CHARS_PER_PAGE * len(pdf):
            raise DatasetError(f"no text layer ({chars} characters on {len(pdf)} pages): a scanned PDF? "
                               "Run OCR first (for example ocrmypdf)", path)
        running = running_lines([[it for it in items if isinstance(it, Line)] for items in pages])
        repeated = Counter(it.key for items in pages for it in items if isinstance(it, Figure))
        logo = max(3, 0.2 * len(pdf))  # the same picture in the same place on many pages, uncaptioned

        def kept(it) -> bool:
            return id(it) not in running and not (isinstance(it, Figure) and repeated[it.key] >= logo
                                                  and it.caption_source != "caption_line")

        pages = [reading_order([it for it in items if kept(it)], widths[i]) for i, items in enumerate(pages)]
        _captions_before(pages)
        for items in pages:
            for it in (items[:1] + items[-1:]):
                if isinstance(it, Figure):
                    it.at_page_edge = True
        outline = _outline(pdf, heights)
        marks = _match_outline(outline, pages) if len(outline) >= 2 else _font_headings(pages, _body_size(pages))
        title = _title(pdf, pages[0], path)
    except BaseException:
        if work != figure_dir:
            shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        pdf.close()
    if work != figure_dir:
        try:
            os.replace(work, figure_dir)
        except OSError:  # another build finished first: use its folder, the same figures
            shutil.rmtree(work, ignore_errors=True)
        for items in pages:
            for it in items:
                if isinstance(it, Figure):
                    it.path = figure_dir / it.path.name
    return Page(path=path, title=title, book=title, lang="", sections=_sections(pages, marks, title), home=title)
