"""Read one Markdown page of an MkDocs or Docusaurus docs tree (or a plain folder) into a :class:`Page`.

The page is rendered to HTML by markdown-it-py (CommonMark, tables, strikethrough, raw HTML kept,
so ``<figure><img><figcaption>`` written by hand reaches the page parser) and mdit-py-plugins
(front matter, definition lists, ``{width=300}`` attributes, heading anchors, MkDocs
``!!!``/``???`` admonitions, Docusaurus ``:::note`` containers), then read by
:func:`m2io.corpus.manual.page.parse_page_html`, so figures and captions follow the same rules
as HTML manuals. What is hand-written here is what no library does:

- **front matter**: ``title`` becomes the page title (else the first heading, else the file
  stem) and ``lang`` its language (else the site's);
- **the page's first section**: text before the first heading, or a front matter ``title`` on a
  page without a level-1 heading, gets a level-1 heading of that title (else the file stem), as
  MkDocs and Docusaurus show it;
- **images**: relative paths resolve against the page's folder; absolute ones (``/img/x.png``)
  against the docs folder, and for Docusaurus first against ``static/``; ``@site/x`` against the
  site folder. A missing file is kept (as the first candidate) for the dataset builder to count;
- **MkDocs-isms**: ``=== "Tab"`` content tabs read as admonitions (so their indented body is
  not a code block), ``{: .class}`` attribute lists as attributes, ``## Title {#id}`` as an
  anchor, and Markdown images inside raw HTML blocks (``<figure markdown>``) are rendered;
- **MDX** (``.mdx`` files and any Docusaurus page): ``import``/``export`` blocks and ``{/* */}``
  comments are dropped, ``src={require('./x.png').default}`` and ``src={useBaseUrl('/x.png')}``
  become plain ``src``; other JSX tags pass through as unknown HTML tags.

The site's name (``site_name`` in ``mkdocs.yml``, ``title`` in ``docusaurus.config.js``) is the
page's ``home`` and ``book``. A file that is not UTF-8 raises :class:`m2io.errors.DatasetError`.

>>> import tempfile, pathlib
>>> from PIL import Image
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> (d / "docs" / "img").mkdir(parents=True)
>>> Image.new("RGB", (200, 120)).save(d / "docs" / "img" / "layers.png")
>>> _ = (d / "mkdocs.yml").write_text("site_name: Paint Manual\\n")
>>> _ = (d / "docs" / "layers.md").write_text('''---
... title: Layers
... ---
... A layer is a sheet of pixels.
...
... ## The dialog
...
... ![Layers](/img/layers.png "The Layers dialog")
... ''')
>>> page = parse_markdown(d / "docs" / "layers.md", d)
>>> page.home, [(s.title, s.level, s.parents) for s in page.sections]
('Paint Manual', [('Layers', 1, []), ('The dialog', 2, ['Layers'])])
>>> fig = page.sections[1].figures[0]
>>> fig.src.relative_to(d.resolve()).as_posix(), fig.caption, fig.caption_source
('docs/img/layers.png', 'Layers', 'alt')
"""
from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

import lxml.html
from lxml import etree
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.admon import admon_plugin
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.attrs import attrs_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from m2io.corpus.manual.markdown_nav import MarkdownSite, load_yaml, markdown_site
from m2io.corpus.manual.page import HEADINGS, Page, clean, parse_page_html
from m2io.errors import DatasetError

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_TAB = re.compile(r'^(\s*)===\+?\s+(".*")\s*$')
_ESM = re.compile(r"^(?:import\s+(?:['\"{*]|[\w$]+\s*(?:,|from\b))"  # an ESM statement, not prose
                  r"|export\s+(?:const|let|var|function|default|class|async|[{*]))")
_JSX_COMMENT = re.compile(r"\{/\*.*?\*/\}", re.DOTALL)
_JSX_SRC = re.compile(r"""src=\{\s*(?:require|useBaseUrl)\(\s*(['"`])([^'"`]+)\1\s*\)(?:\.default)?\s*\}""")
_ATTR_LIST = re.compile(r"(?<=[)\]])\{:\s*")
_HEADING_ID = re.compile(r"\s*\{:?\s*#([\w\-:.]+)[^}]*\}\s*$")
_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)(?:\{[^}\n]*\})?")
_CONTAINER = re.compile(r"^\s*([A-Za-z][\w-]*)(?:\[(.*)\])?\s*(.*)$")


def _preprocess(text: str, jsx: bool) -> str:
    """Rewrite the MkDocs and MDX syntax markdown-it does not know, leaving code fences alone."""
    if jsx:
        text = _JSX_COMMENT.sub("", _JSX_SRC.sub(lambda m: f'src="{m.group(2)}"', text))
    out: list[str] = []
    fence, in_esm = "", False
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if fence:
            closes = opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence)
            fence = "" if closes and line.strip() == opened.group(1) else fence
        elif opened:
            fence = opened.group(1)
        elif in_esm or (jsx and _ESM.match(line)):
            in_esm = bool(line.strip())
            continue
        else:
            line = _ATTR_LIST.sub("{", _TAB.sub(r"\1!!! tab \2", line))
        out.append(line)
    return "\n".join(out)


def _heading_ids(state) -> None:
    """``## Title {#id}`` (and ``{: #id}``): the id is the heading's anchor, not text."""
    for i, token in enumerate(state.tokens):
        if token.type == "heading_open" and i + 1 < len(state.tokens):
            inline = state.tokens[i + 1]
            found = _HEADING_ID.search(inline.content)
            if found:
                token.attrSet("id", found.group(1))
                inline.content = inline.content[:found.start()]


def _render_container(self, tokens: list[Token], idx: int, options, env) -> str:
    """A Docusaurus admonition (``:::tip[Title]`` or ``:::tip Title``) as an admonition block."""
    if tokens[idx].nesting != 1:
        return "</div>\n"
    found = _CONTAINER.match(tokens[idx].info)
    kind = found.group(1).lower() if found else "note"
    title = (found.group(2) or found.group(3)) if found else ""
    title = title or kind.title()
    return (f'<div class="admonition {html.escape(kind)}">\n'
            f'<p class="admonition-title">{html.escape(title)}</p>\n')


def _render_html_block(md: MarkdownIt):
    """Raw HTML blocks pass through, with Markdown images in them (MkDocs' ``<figure markdown>``) rendered."""

    def render(self, tokens: list[Token], idx: int, options, env) -> str:
        return _MD_IMAGE.sub(lambda m: md.renderInline(m.group(0)), tokens[idx].content)

    return render


def markdown_parser() -> MarkdownIt:
    """The markdown-it parser with the plugins manuals need (see the module docstring)."""
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.use(front_matter_plugin).use(deflist_plugin).use(admon_plugin).use(attrs_plugin)
    md.use(container_plugin, name="admonition", marker=":",
           validate=lambda params, *args: bool(re.match(r"\s*[A-Za-z][\w-]*(\[|\s|$)", params)),
           render=_render_container)
    md.core.ruler.before("inline", "heading_ids", _heading_ids)
    md.use(anchors_plugin, min_level=1, max_level=6)
    md.add_render_rule("html_block", _render_html_block(md))
    return md


def _image_path(src: str, page_dir: Path, site: MarkdownSite) -> Path | None:
    """The file an image source names (the first candidate when none exists); None for a URL."""
    url = urlparse(src)
    if url.scheme or url.netloc or not url.path:
        return None
    rel = unquote(url.path)
    if rel.startswith("@site/"):
        return site.root / rel[len("@site/"):]
    if not rel.startswith("/"):
        return page_dir / rel
    candidates = [site.docs / rel.lstrip("/")]
    if site.kind == "docusaurus":
        candidates.insert(0, site.root / "static" / rel.lstrip("/"))
    return next((c for c in candidates if c.is_file()), candidates[0])


def _has_preamble(body: etree._Element) -> bool:
    """True if text or an image comes before the first heading."""
    if clean(body.text):
        return True
    for el in body.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag in HEADINGS:
            return False
        if el.tag == "img" or (el is not body and clean(el.text)) or clean(el.tail):
            return True
    return False


def _to_html(body_html: str, fm_title: str, path: Path, site: MarkdownSite, lang: str) -> str:
    """A whole HTML page: head with title, home link and language; local images as absolute file paths."""
    root = lxml.html.document_fromstring(f"<html><head></head><body>{body_html}</body></html>")
    body, head = root.find("body"), root.find("head")
    first = next((el for el in body.iter(*HEADINGS)), None)
    title = fm_title or (clean(first.text_content()) if first is not None else "") or path.stem
    page_dir = path.parent
    for img in body.iter("img"):
        file = _image_path(img.get("src") or "", page_dir, site)
        if file is not None:
            img.set("src", quote(str(file.resolve()), safe="/"))
    has_h1 = any(True for _ in body.iter("h1"))
    if (fm_title and not has_h1) or _has_preamble(body):
        heading = lxml.html.Element("h1")
        heading.text = fm_title or path.stem
        body.insert(0, heading)
        heading.tail, body.text = body.text, None
    etree.SubElement(head, "title").text = title
    if site.name:
        etree.SubElement(head, "link", rel="home", title=site.name)
    if lang:
        root.set("lang", lang)
    return lxml.html.tostring(root, encoding="unicode")


def read_text(path: Path) -> str:
    """A page's text; a file that is not UTF-8 raises :class:`DatasetError` naming it."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DatasetError(f"not UTF-8 text ({e.reason} at byte {e.start})", path=path) from e


def parse_markdown(path: Path, root: Path, site: MarkdownSite | None = None) -> Page:
    """Parse the Markdown page ``path`` of the docs tree at ``root`` into a :class:`Page`.

    ``site``: :func:`~m2io.corpus.manual.markdown_nav.markdown_site` of ``root``, read once by a
    caller parsing many pages (else read here).
    """
    path, site = Path(path), site or markdown_site(Path(root))
    text = _preprocess(read_text(path), jsx=path.suffix.lower() == ".mdx" or site.kind == "docusaurus")
    md = markdown_parser()
    tokens = md.parse(text)
    meta = load_yaml(tokens[0].content) if tokens and tokens[0].type == "front_matter" else None
    meta = meta if isinstance(meta, dict) else {}
    body_html = md.renderer.render(tokens, md.options, {})
    lang = str(meta.get("lang") or site.lang or "").lower()
    page_html = _to_html(body_html, clean(str(meta.get("title") or "")), path, site, lang)
    return parse_page_html(page_html, base=path.parent, path=path)
