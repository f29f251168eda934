"""Which files of a manual to read, and with which reader: HTML, DocBook, PDF, Markdown or reStructuredText.

``auto`` decides from what the folder holds: a MkDocs or Docusaurus configuration means Markdown
sources, a Sphinx ``conf.py`` beside ``.rst`` files means reST sources; otherwise built HTML where
there is any, then DocBook books, Markdown, reST and PDF files, in that order.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "mkdocs.yml").write_text("site_name: Demo"); (d / "docs").mkdir()
>>> _ = (d / "docs" / "index.md").write_text("# Demo")
>>> detect_source(d)
'markdown'
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from m2io.corpus.manual.docbook import DOCBOOK_SUFFIXES, is_docbook_root, parse_docbook
from m2io.corpus.manual.lang import other_language_folder
from m2io.corpus.manual.markdown_nav import MARKDOWN_SUFFIXES
from m2io.corpus.manual.page import Page, parse_page
from m2io.corpus.manual.rst import sphinx_source_dir
from m2io.corpus.manual.skip import SKIP_DIRS
from m2io.errors import DatasetError

SOURCES = ("auto", "html", "docbook", "pdf", "markdown", "rst")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")


def _files(root: Path, suffixes: tuple[str, ...], sources_only: bool = False) -> list[Path]:
    """Files with these suffixes; for sources (Markdown, reST), not in build output or hidden folders."""
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in suffixes and p.is_file() and not (
        sources_only and any(part in SKIP_DIRS or part.startswith(".") for part in p.relative_to(root).parts[:-1])))


def detect_source(root: Path) -> str:
    """The reader ``auto`` picks for folder ``root``."""
    root = Path(root)
    if (root / "mkdocs.yml").is_file() or (root / "mkdocs.yaml").is_file() or any(root.glob("docusaurus.config.*")):
        return "markdown"
    if (sphinx_source_dir(root)[0] / "conf.py").is_file() and _files(root, (".rst",), True):
        return "rst"
    if _files(root, HTML_SUFFIXES, True):  # not a source tree's templates
        return "html"
    if any(is_docbook_root(p) for p in _files(root, DOCBOOK_SUFFIXES)):
        return "docbook"
    for kind, suffixes in (("markdown", MARKDOWN_SUFFIXES), ("rst", (".rst",)), ("pdf", (".pdf",))):
        if _files(root, suffixes, kind != "pdf"):
            return kind
    return "html"


def find_sources(root: Path, lang: str, source: str = "auto") -> tuple[str, list[Path], int]:
    """(reader, files in reading order, files skipped as other languages) for folder ``root``."""
    if source not in SOURCES:
        raise DatasetError(f"unknown manual source {source!r}: give one of {', '.join(SOURCES)}", field="source")
    kind = detect_source(root) if source == "auto" else source
    if kind == "markdown":
        from m2io.corpus.manual.markdown_nav import find_markdown_pages
        paths = find_markdown_pages(root)
    elif kind == "rst":
        from m2io.corpus.manual.rst import find_rst_pages
        paths = find_rst_pages(root)
    elif kind == "pdf":
        paths = _files(root, (".pdf",))
    elif kind == "docbook":
        paths, seen = [], set()
        for path in _files(root, DOCBOOK_SUFFIXES):
            if is_docbook_root(path):
                digest = hashlib.sha1(path.read_bytes()).hexdigest()  # gnumeric.xml == index.docbook
                if digest not in seen:
                    seen.add(digest)
                    paths.append(path)
    else:
        paths = _files(root, HTML_SUFFIXES)
    kept = [p for p in paths if not other_language_folder(p.relative_to(root), lang)]
    return kind, kept, len(paths) - len(kept)


def pdf_figure_dir(path: Path, cache: Path) -> Path:
    """Where a PDF's figures are written: one folder per file content, reused by the next build."""
    digest = hashlib.sha1()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    from m2io.corpus.manual.pdf_figures import FIGURES_VERSION, RENDER_SCALE, FigureRules
    rules = hashlib.sha1(f"{RENDER_SCALE} {FigureRules()}".encode()).hexdigest()[:6]
    return Path(cache) / "pdf-figures" / f"{digest.hexdigest()[:16]}-v{FIGURES_VERSION}-{rules}"


def _config_stamp(root: Path) -> float:
    return max((p.stat().st_mtime for p in (*root.glob("mkdocs.y*ml"), *root.glob("docusaurus.config.*"),
                                             *root.glob("sidebars.*"))), default=0.0)


@functools.lru_cache(maxsize=4)
def _markdown_site(root: Path, stamp: float):
    """A docs tree's configuration, read once for all its pages (read again when the file changes)."""
    from m2io.corpus.manual.markdown_nav import markdown_site
    return markdown_site(root)


def parse_source(path: Path, kind: str, root: Path, cache: Path, progress: bool = False) -> Page:
    """Read one file with the reader for ``kind``."""
    if kind == "pdf":
        from m2io.corpus.manual.pdf import parse_pdf
        return parse_pdf(path, pdf_figure_dir(path, cache), progress=progress)
    if kind == "markdown":
        from m2io.corpus.manual.markdown import parse_markdown
        return parse_markdown(path, root, site=_markdown_site(root, _config_stamp(root)))
    if kind == "rst":
        from m2io.corpus.manual.rst import parse_rst
        return parse_rst(path, root)
    if kind == "docbook" or path.suffix.lower() in DOCBOOK_SUFFIXES:
        return parse_docbook(path)
    return parse_page(path)
