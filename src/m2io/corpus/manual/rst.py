"""Read reStructuredText / Sphinx sources (a source tree, or a built HTML tree's ``_sources/``) into Pages.

**Finding pages.** The source folder is the one holding ``conf.py`` (the folder given, or its
``source/``, ``docs/``, ``doc/``, ``docs/source/`` or ``doc/source/``), or the ``_sources/`` of a
built HTML folder, whose copies are named ``x.rst.txt`` (or ``x.txt``). Pages come in toctree
order: from the root document (``root_doc``/``master_doc`` in ``conf.py``, read by regex, else
``index``, else ``contents``), depth first through each ``.. toctree::`` entry (relative names,
``/absolute`` ones, ``Title <name>`` forms and, under ``:glob:``, patterns; ``self`` and URLs
skipped), then the pages no toctree reaches, sorted by path. ``_build``, ``_static``,
``_templates``, hidden folders and ``node_modules`` are skipped.

**Parsing a page.** docutils parses the page into a doctree with settings that never halt, never
print and read no other file (``report_level``/``halt_level`` 5, no file insertion, no config
files, raw HTML allowed), and with each section a heading (``doctitle_xform`` off, so a page's
title is its level-1 section and no lone subsection becomes a subtitle). Sphinx markup docutils
does not know is rewritten by :mod:`m2io.corpus.manual.rst_sphinx`; a legend leaves its figure to
be text; ``:orphan:``-style file metadata is dropped. Image URIs are resolved (relative to the
page's folder, ``/x`` to the source folder, Sphinx's ``x.*`` to an existing ``.png``, ``.jpg``,
``.gif`` or ``.svg``, and, when the file is not there, as in ``_sources/`` copies, to
``<built folder>/_images/<name>``); a missing image stays, for the dataset builder to count.
docutils' html5 writer then writes the page and :func:`m2io.corpus.manual.page.parse_page_html`
reads it, so figures (``<figure><img><figcaption>``) follow the same rules as HTML manuals.
The writer is used rather than a hand-written HTML emitter because it already covers every
docutils node (tables, definition lists, admonitions, footnotes).

Hand-written: the toctree walk, reading ``conf.py`` by regex (it is never executed), the image
resolution, and the Sphinx fallbacks. ``Page.book``/``home`` is ``project`` from ``conf.py`` (or
the ``# Project:`` line of a built tree's ``objects.inv``). A file that is not UTF-8 raises
:class:`m2io.errors.DatasetError`.

>>> import tempfile, pathlib
>>> from PIL import Image
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> Image.new("RGB", (200, 120)).save(d / "layers.png")
>>> _ = (d / "conf.py").write_text("project = 'Paint'\\n")
>>> _ = (d / "index.rst").write_text("Paint\\n=====\\n\\n.. toctree::\\n\\n   layers\\n")
>>> _ = (d / "layers.rst").write_text('''Layers
... ======
...
... See :ref:`the dialog <dialog>`.
...
... .. figure:: layers.*
...
...    The Layers dialog
... ''')
>>> [p.name for p in find_rst_pages(d)]
['index.rst', 'layers.rst']
>>> page = parse_rst(d / "layers.rst", d)
>>> page.home, page.title, [b.text for b in page.sections[0].blocks[:1]]
('Paint', 'Layers', ['See the dialog.'])
>>> fig = page.sections[0].figures[0]
>>> fig.src.name, fig.caption, fig.caption_source
('layers.png', 'The Layers dialog', 'title')
"""
from __future__ import annotations

import html
import os
import posixpath
import re
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from docutils import io as docutils_io
from docutils import nodes
from docutils.core import publish_doctree, publish_parts
from docutils.readers import doctree as doctree_reader
from docutils.writers import html5_polyglot

from m2io.corpus.manual.page import Page, parse_page_html
from m2io.corpus.manual.rst_sphinx import repair_doctree
from m2io.errors import DatasetError
from m2io.corpus.manual.skip import SKIP_DIRS

SOURCE_FOLDERS = (".", "source", "docs", "doc", "docs/source", "doc/source")
IMAGE_PREFERENCE = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")
SETTINGS = {
    "report_level": 5, "halt_level": 5, "exit_status_level": 5, "warning_stream": False, "traceback": True,
    "file_insertion_enabled": False, "raw_enabled": True, "_disable_config": True, "doctitle_xform": False,
    "sectsubtitle_xform": False, "initial_header_level": 1, "embed_stylesheet": False, "stylesheet_path": [],
    "stylesheet": [], "syntax_highlight": "none", "math_output": "LaTeX", "smart_quotes": False,
    "output_encoding": "unicode",
}

_TOCTREE = re.compile(r"^(\s*)\.\.\s+toctree::")
_OPTION = re.compile(r"^:[\w-]+:(\s|$)")
_EXPLICIT = re.compile(r"^(.*?)\s*<([^<>]+)>$")


def sphinx_source_dir(root: Path) -> tuple[Path, Path | None]:
    """(folder holding the sources, the built HTML folder when the sources are its ``_sources/`` copies)."""
    root = Path(root)
    if (root / "_sources").is_dir():
        return root / "_sources", root
    if root.name == "_sources":
        return root, root.parent
    return next((root / f for f in SOURCE_FOLDERS if (root / f / "conf.py").is_file()), root), None


def _conf_value(text: str, name: str) -> str:
    found = re.search(rf"^{name}\s*=\s*[uUrR]?(['\"])(.*?)\1", text, re.MULTILINE)
    return found.group(2) if found else ""


def sphinx_conf(root: Path) -> dict[str, str]:
    """``project``, ``root_doc``, ``language``, ``version`` and ``release`` from ``conf.py`` (by regex), or
    for a built tree the project named in ``objects.inv``; missing values are left out."""
    srcdir, built = sphinx_source_dir(root)
    conf = srcdir / "conf.py"
    text = conf.read_text(encoding="utf-8", errors="replace") if conf.is_file() else ""
    values = {name: _conf_value(text, name) for name in ("project", "language", "version", "release")}
    values["root_doc"] = _conf_value(text, "root_doc") or _conf_value(text, "master_doc")
    inventory = built / "objects.inv" if built else None
    if not values["project"] and inventory is not None and inventory.is_file():
        head = inventory.read_bytes()[:1024].decode("utf-8", "replace")
        found = re.search(r"^# Project: (.+)$", head, re.MULTILINE)
        values["project"] = found.group(1).strip() if found else ""
    return {k: v for k, v in values.items() if v}


def _is_source(name: str, built: bool) -> bool:
    if not built:
        return name.endswith(".rst")
    return name.endswith(".rst.txt") or (name.endswith(".txt") and "." not in name[:-4])


def docname(path: Path, srcdir: Path) -> str:
    """Sphinx's name of a source file: its path under the source folder, without ``.rst``/``.rst.txt``/``.txt``."""
    name = path.relative_to(srcdir).as_posix()
    for suffix in (".rst.txt", ".txt", ".rst"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _source_files(srcdir: Path, built: bool) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(srcdir):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS]
        found.extend(Path(folder) / f for f in files if _is_source(f, built) and not f.startswith("."))
    return sorted(found, key=lambda p: p.as_posix())


def toctree_entries(text: str) -> list[tuple[str, bool]]:
    """The entries of every ``.. toctree::`` in a source text, as (target, is a glob pattern)."""
    lines, entries = text.splitlines(), []
    for i, line in enumerate(lines):
        found = _TOCTREE.match(line)
        if not found:
            continue
        indent, glob = len(found.group(1)), False
        for body in lines[i + 1:]:
            if not body.strip():
                continue
            if len(body) - len(body.lstrip()) <= indent:
                break
            entry = body.strip()
            if _OPTION.match(entry):
                glob = glob or entry.startswith(":glob:")
                continue
            explicit = _EXPLICIT.match(entry)
            target = explicit.group(2) if explicit else entry
            entries.append((target.strip(), glob and any(c in target for c in "*?[")))
    return entries


def _glob_regex(pattern: str) -> re.Pattern:
    """Sphinx's toctree glob: ``**`` any path, ``*`` and ``?`` within one folder."""
    parts = re.split(r"(\*\*|\*|\?)", pattern)
    magic = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(magic.get(p, re.escape(p)) for p in parts) + r"\Z")


def _toctree_targets(doc: str, text: str, names: dict[str, Path]) -> list[str]:
    folder, targets = posixpath.dirname(doc), []
    for target, glob in toctree_entries(text):
        if target == "self" or "://" in target or target.startswith("mailto:"):
            continue
        target = target[:-4] if target.endswith(".rst") else target
        full = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        if glob:
            pattern = _glob_regex(full)
            targets.extend(sorted(n for n in names if pattern.match(n) and n != doc))
        elif full in names:
            targets.append(full)
    return targets


def find_rst_pages(root: Path) -> list[Path]:
    """The reStructuredText pages under ``root`` in toctree order, then the rest sorted (see the module docstring)."""
    srcdir, built = sphinx_source_dir(Path(root))
    names = {docname(p, srcdir): p for p in _source_files(srcdir, built is not None)}
    conf = sphinx_conf(root)
    start = next((n for n in (conf.get("root_doc"), "index", "contents") if n in names), None)
    ordered: list[str] = []
    stack = [start] if start else []
    while stack:
        doc = stack.pop()
        if doc in ordered:
            continue
        ordered.append(doc)
        text = names[doc].read_text(encoding="utf-8", errors="replace")
        stack.extend(reversed(_toctree_targets(doc, text, names)))
    return [names[n] for n in ordered] + [p for n, p in names.items() if n not in set(ordered)]


def _existing(path: Path) -> Path | None:
    if path.suffix == ".*":
        return next((path.with_suffix(s) for s in IMAGE_PREFERENCE if path.with_suffix(s).is_file()), None)
    return path if path.is_file() else None


def resolve_image(uri: str, page_dir: Path, srcdir: Path, built: Path | None) -> Path | None:
    """The file an image URI names (see the module docstring); None for a URL."""
    url = urlparse(uri)
    if url.scheme or url.netloc or not url.path:
        return None
    rel = unquote(url.path)
    first = srcdir / rel.lstrip("/") if rel.startswith("/") else page_dir / rel
    candidates = [first] + ([built / "_images" / first.name] if built is not None else [])
    found = next((f for f in map(_existing, candidates) if f is not None), None)
    return found or (first.with_suffix(IMAGE_PREFERENCE[0]) if first.suffix == ".*" else first)


def read_text(path: Path) -> str:
    """A source file's text; a file that is not UTF-8 raises :class:`DatasetError` naming it."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DatasetError(f"not UTF-8 text ({e.reason} at byte {e.start})", path=path) from e


def rst_doctree(text: str, substitutions: dict[str, str] | None = None) -> nodes.document:
    """The doctree of a reStructuredText text, its Sphinx markup rewritten as plain docutils nodes."""
    document = publish_doctree(text, settings_overrides=SETTINGS)
    repair_doctree(document, lambda part: rst_doctree(part, substitutions).children, substitutions)
    return document


def _tidy(document: nodes.document, page_dir: Path, srcdir: Path, built: Path | None) -> None:
    """Drop file metadata, move legends out of figures, give images absolute file paths."""
    for info in list(document.findall(nodes.docinfo)):
        info.parent.remove(info)
    for legend in list(document.findall(nodes.legend)):
        figure = legend.parent
        figure.remove(legend)
        at = figure.parent.index(figure)
        for child in reversed(legend.children):
            figure.parent.insert(at + 1, child)
    for image in document.findall(nodes.image):
        uri = image.get("uri", "")
        path = resolve_image(uri, page_dir, srcdir, built)
        if path is not None:
            image.setdefault("alt", uri)
            image["uri"] = quote(str(path.resolve()), safe="/")


def _html(document: nodes.document, title: str, home: str, lang: str) -> str:
    parts = publish_parts(source=document, source_class=docutils_io.DocTreeInput,
                          reader=doctree_reader.Reader(parser="null"), writer=html5_polyglot.Writer(),
                          settings_overrides=SETTINGS)
    head = f"<title>{html.escape(title)}</title>"
    if home:
        head += f'<link rel="home" title="{html.escape(home)}"/>'
    return f'<html lang="{html.escape(lang)}"><head>{head}</head><body>{parts["html_body"]}</body></html>'


def parse_rst(path: Path, root: Path) -> Page:
    """Parse the reStructuredText page ``path`` of the Sphinx tree at ``root`` into a :class:`Page`."""
    path = Path(path)
    srcdir, built = sphinx_source_dir(Path(root))
    conf = sphinx_conf(root)
    document = rst_doctree(read_text(path), {k: conf[k] for k in ("version", "release") if k in conf})
    _tidy(document, path.parent, srcdir, built)
    section = next(iter(document.findall(nodes.section)), None)
    title = section[0].astext() if section is not None and isinstance(section[0], nodes.title) else path.stem
    return parse_page_html(_html(document, title, conf.get("project", ""), conf.get("language", "").lower()),
                           base=path.parent, path=path)
