"""Turn a folder of HTML manual pages into an MRAMG dataset.

One document per section that holds at least one content figure, with ``<PIC>`` where the
authors put each figure; one QA item per document, its question built from the section
title and its gold answer the section text with ``<PIC>`` at the gold positions.

>>> import tempfile, pathlib
>>> from PIL import Image as PILImage
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> PILImage.new("RGB", (200, 120)).save(d / "dialog.png")
>>> _ = (d / "page.html").write_text('<html><head><link rel="home" title="Demo Manual"/></head><body>'
...     '<h2 id="layers">Layers</h2><p>Every image is a stack of layers you can hide and reorder.</p>'
...     '<figure><img src="dialog.png"/><figcaption>The Layers dialog</figcaption></figure></body></html>')
>>> ds, report = build_manual_dataset(d, ManualConfig(name="demo", min_words=5))
>>> ds.documents[0].content
'Layers\\nEvery image is a stack of layers you can hide and reorder.\\n<PIC>'
>>> ds.qa[0].question, ds.images[ds.documents[0].image_ids[0]].caption
('Can you explain Layers in Demo Manual?', 'The Layers dialog')
"""
from __future__ import annotations

import os
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from m2io.corpus.manual.debian import default_cache_dir
from m2io.corpus.manual.decor import DecorRules, decor_reason, image_size
from m2io.corpus.manual.formats import find_sources, parse_source
from m2io.corpus.manual.lang import other_language_page
from m2io.corpus.manual.page import FigureBlock, Page, Section, TextBlock
from m2io.corpus.manual.titles import page_name, section_name, site_name
from m2io.corpus.mramg import Dataset, IdStyle
from m2io.errors import DatasetError
from m2io.types import PIC, DocSource, Document, Image, QAItem

_QUESTION_START = re.compile(r"^(how|what|why|when|where|which|who|can|should|is|are|do|does)\b", re.IGNORECASE)
CAPTION_RANK = {"title": 0, "caption_line": 1, "caption_style": 2, "table_cell": 3, "alt": 4, "title_attr": 5, "term": 6,
                "file_name": 7, "none": 8}


@dataclass(frozen=True)
class ManualConfig:
    """How to turn a manual into a dataset."""

    name: str
    """Dataset name: files are doc_<name>.jsonl, <name>_mqa.jsonl, images/<NAME>/."""
    lang: str = "en"
    """Keep pages in this language (locale folders and <html lang> of other languages are skipped)."""
    title: str = ""
    """The manual's name in questions; empty = the pages' home-link title or first h1."""
    min_words: int = 12
    """A section needs at least this many words of text to become a document."""
    max_answer_words: int = 800
    """Longer sections still become documents, but get no QA item (a gold answer should read as one)."""
    decor: DecorRules = field(default_factory=DecorRules)
    source: str = "auto"
    """``html``, ``docbook``, ``pdf``, ``markdown``, ``rst``, or ``auto`` (:func:`~m2io.corpus.manual.formats.detect_source`)."""
    cache: Path | None = None
    """Where PDF figures are written (``<cache>/pdf-figures/<file hash>/``); None: ``~/.cache/m2io``."""


@dataclass
class BuildReport:
    pages: int = 0
    pages_other_language: int = 0
    pages_unparsable: list[str] = field(default_factory=list)
    sections: int = 0
    sections_with_figures: int = 0
    sections_too_short: int = 0
    qa_skipped_too_long: int = 0
    figures_kept: int = 0
    figures_dropped: Counter = field(default_factory=Counter)
    caption_sources: Counter = field(default_factory=Counter)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _image_id(src: Path, root: Path) -> str:
    try:
        rel = src.relative_to(root)
    except ValueError:
        rel = Path(src.name)
    parts = list(rel.parts)
    if len(parts) > 1 and parts[0].lower() in ("images", "image", "img", "figures", "_images", "media"):
        parts = parts[1:]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "__".join(parts))


def _question(title: str, parent: str, ambiguous: bool, book: str, key: str) -> str:
    if title.endswith("?") or _QUESTION_START.match(title):
        question = title.rstrip("?") + "?"
        return f"{question[:-1]} ({parent})?" if ambiguous and parent else question
    topic = f"{title} ({parent})" if ambiguous and parent else title
    first = topic.split()[0] if topic.split() else ""
    if first.lower().endswith("ing") and len(first) > 4:
        return f"How does {book} describe {topic[0].lower() + topic[1:]}?"
    templates = ("What does {book} say about {topic}?", "Can you explain {topic} in {book}?",
                 "How does {topic} work in {book}?")
    return templates[zlib.crc32(key.encode()) % len(templates)].format(book=book, topic=topic)


@dataclass
class _Doc:
    id: str
    page: Page
    section: Section
    blocks: list[TextBlock | tuple[str, FigureBlock]]
    source: DocSource


def _parse_all(kind: str, paths: list[Path], root: Path, config: ManualConfig, report: BuildReport,
               progress: bool) -> list[Page]:
    pages = []
    cache = config.cache or default_cache_dir()
    for path in tqdm(paths, desc=f"parse {config.name}", unit="file", disable=not progress or kind == "pdf"):
        try:
            page = parse_source(path, kind, root, cache, progress=progress)
        except DatasetError as e:
            if kind == "pdf":
                raise  # a bad PDF is a whole manual, not one page among many: say so and write nothing
            report.pages_unparsable.append(str(e))
            continue
        except (ValueError, OSError) as e:
            if kind == "pdf":
                raise DatasetError(f"unreadable PDF: {e}", path) from e
            report.pages_unparsable.append(f"{path}: {e}")
            continue
        if other_language_page(page.lang, config.lang):
            report.pages_other_language += 1
            continue
        pages.append(page)
    return pages


def name_sections(pages: list[Page]) -> str:
    """Give pages their names without the site's, and sections names no other page shares.

    Sections whose heading path repeats on other pages are renamed in place ("d.background: Examples").
    Returns the site's name found in the page titles ("" if none).
    """
    site = site_name([p.title for p in pages])
    on_pages: Counter = Counter()
    for page in pages:
        for key in {tuple(t.lower() for t in [*s.parents, s.title]) for s in page.sections}:
            on_pages[key] += 1
    for page in pages:
        page.title = page_name(page.title, site)
        for s in page.sections:
            # A path that already names the page ("Waves > Overview" on the Waves page) stays as it is.
            repeated = on_pages[tuple(t.lower() for t in [*s.parents, s.title])] > 1 \
                and page.title.lower() not in (t.lower() for t in s.parents)
            s.title = section_name(s.title, page.title, repeated)
    return site.text if site else ""


def build_manual_dataset(html_dir: Path | None, config: ManualConfig, progress: bool = False,
                         files: list[Path] | None = None) -> tuple[Dataset, BuildReport]:
    """Build an MRAMG :class:`Dataset` from the manual under folder ``html_dir`` (or from ``files``, PDFs)."""
    report = BuildReport()
    if files:
        paths = [Path(f).resolve() for f in files]
        for path in paths:
            if not path.is_file():
                raise DatasetError("no such file", path)
        kind, html_dir = "pdf", Path(os.path.commonpath([p.parent for p in paths]))
    else:
        html_dir = Path(html_dir).resolve()
        if not html_dir.is_dir():
            raise DatasetError("not a folder", html_dir)
        kind, paths, report.pages_other_language = find_sources(html_dir, config.lang, config.source)
    if not paths:
        what = f"{kind} files" if config.source != "auto" else "HTML pages, DocBook books, PDF, Markdown or reST files"
        raise DatasetError(f"no {what} in language {config.lang!r} here", html_dir)
    root = Path(os.path.commonpath([p.parent for p in paths]))  # ids relative to the manual, not the disk

    images: dict[str, Image] = {}
    caption_rank: dict[str, int] = {}
    sizes: dict[Path, tuple[int, int] | None] = {}
    docs: list[_Doc] = []
    used_ids: set[str] = set()
    pages = _parse_all(kind, paths, html_dir, config, report, progress)
    site = name_sections(pages)
    for page in pages:
        report.pages += 1
        book = config.title or page.home or site or page.book or config.name
        rel_page = page.path.relative_to(root).as_posix() if page.path.is_relative_to(root) else page.path.name
        for section in page.sections:
            report.sections += 1
            blocks: list[TextBlock | tuple[str, FigureBlock]] = []
            for block in section.blocks:
                if isinstance(block, TextBlock):
                    blocks.append(block)
                    continue
                if block.src not in sizes:
                    sizes[block.src] = image_size(block.src) if block.src.is_file() else None
                size = sizes[block.src]
                if size is None:
                    reason = "missing_file" if not block.src.is_file() else "not_raster_or_unreadable"
                else:
                    reason = decor_reason(block.alt, size, block.src.stem, config.decor)
                if reason:
                    report.figures_dropped[reason] += 1
                    continue
                if page.path.suffix.lower() == ".pdf":  # figures live in the cache: name them by their PDF
                    image_id = _image_id(Path(Path(rel_page).with_suffix("").as_posix().replace("/", "__")
                                              + f"__{block.src.name}"), root)
                else:
                    image_id = _image_id(block.src, root)
                rank = CAPTION_RANK.get(block.caption_source, len(CAPTION_RANK))
                if image_id not in images or rank < caption_rank[image_id]:
                    images[image_id] = Image(image_id, block.src, block.caption)
                    caption_rank[image_id] = rank
                blocks.append((image_id, block))
            if not any(isinstance(b, tuple) for b in blocks):
                continue
            report.sections_with_figures += 1
            words = sum(len(b.text.split()) for b in blocks if isinstance(b, TextBlock))
            if words < config.min_words:
                report.sections_too_short += 1
                continue
            rel = Path(rel_page).with_suffix("").as_posix()
            doc_id = f"{rel}#{section.anchor or _slug(section.title)}"
            base, n = doc_id, 2
            while doc_id in used_ids:
                doc_id, n = f"{base}-{n}", n + 1
            used_ids.add(doc_id)
            source = DocSource(book, page.title, [*section.parents, section.title], rel_page)
            docs.append(_Doc(doc_id, page, section, blocks, source))

    if not docs:
        raise DatasetError("no section with a content figure and enough text: nothing to build", html_dir)
    used = {b[0] for d in docs for b in d.blocks if isinstance(b, tuple)}
    images = {k: v for k, v in images.items() if k in used}
    title_count = Counter(d.section.title.lower() for d in docs)
    documents, qa = [], []
    for d in docs:
        # The document opens with its heading path, as the section does on the page; the gold
        # answer is the section's text alone.
        lines, image_ids, gold_lines, gold_ids = [" > ".join([*d.section.parents, d.section.title])], [], [], []
        for b in d.blocks:
            if isinstance(b, TextBlock):
                lines.append(b.text)
                gold_lines.append(b.text)
                continue
            image_id, fig = b
            report.figures_kept += 1
            report.caption_sources[fig.caption_source] += 1
            lines.append(PIC)
            image_ids.append(image_id)
            if image_id not in gold_ids:  # an image shown twice is placed once in the answer
                gold_lines.append(PIC)
                gold_ids.append(image_id)
        documents.append(Document(d.id, "\n".join(lines), image_ids))
        if sum(len(t.split()) for t in gold_lines if t != PIC) > config.max_answer_words:
            report.qa_skipped_too_long += 1
            continue
        book = d.source.manual
        parent = d.section.parents[-1] if d.section.parents else d.page.title
        question = _question(d.section.title, parent, title_count[d.section.title.lower()] > 1, book, d.id)
        qa.append(QAItem(str(len(qa) + 1), question, [d.id], "\n".join(gold_lines), gold_ids))
    sources = {d.id: d.source for d in docs}
    return Dataset(config.name, documents, qa, images, IdStyle(qa_int=True), sources=sources), report
