"""Parse one HTML manual page into sections of text blocks and figures.

The parser reads structure, not file names, so it works for DocBook (GIMP, Publican), Asciidoctor
(KiCad), Sphinx and plain HTML alike:

- a heading (``h1``..``h6``) starts a section, which runs to the next heading of any level;
- a figure is a figure container (``figure``, ``div.figure``, ``div.informalfigure``,
  ``div.imageblock``, ``div.mediaobject`` ...) or an image standing alone in its block;
  images inside running text are inline icons and are left out;
- navigation, tables of contents, banners and footers are skipped whole.

Whether an image is decorative by its file (tiny, an admonition icon) is decided later, in
:mod:`m2io.corpus.manual.decor`; here every figure is kept with its caption candidates.

>>> html = '''<html><head><title>Guide</title></head><body>
... <div class="navheader"><img src="prev.png" alt="Prev"/></div>
... <h2>1.2. Layers</h2><p>A layer holds pixels.</p>
... <div class="figure"><p class="title"><b>Figure 1.3. The Layers dialog</b></p>
... <div class="mediaobject"><img src="layers.png" alt="Layers"/></div></div>
... <p>Click the <img src="eye.png"/> icon to hide a layer.</p></body></html>'''
>>> page = parse_page_html(html, base=Path("/m"))
>>> s = page.sections[0]
>>> s.title, [type(b).__name__ for b in s.blocks]
('Layers', ['TextBlock', 'FigureBlock', 'TextBlock'])
>>> s.blocks[1].src, s.blocks[1].caption
(PosixPath('/m/layers.png'), 'The Layers dialog')
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import lxml.html
from lxml import etree

from m2io.corpus.manual.decor import icon_by_name
from m2io.corpus.manual.caption import Caption, centred_caption, find_caption, text_outside_captions

HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
BLOCK_TAGS = {
    "p", "div", "li", "dt", "dd", "pre", "blockquote", "table", "tr", "td", "th", "ul", "ol", "dl",
    "section", "article", "figure", "caption", "figcaption", "main", "header", "aside", "form",
    "address", "center", "hr", "br", "tbody", "thead", "body", "details", "summary",
}
SKIP_TAGS = {"script", "style", "head", "noscript", "template", "nav", "footer", "button", "select", "svg", "math"}
CHROME_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary"}
CHROME_TOKENS = {
    "docnav", "breadcrumb", "breadcrumbs", "sidebar", "sphinxsidebar", "sphinxsidebarwrapper", "related",
    "toc", "toctree-wrapper", "footer", "headerlink", "banner", "skip-link", "site-header", "site-footer",
    "navheader", "navfooter", "navigation", "navbar", "pager", "edit-this-page",
}
LINK_MARKS = {"[*]", "[+]", "[edit]", "[link]", "[source]"}
FIGURE_TOKENS = {
    "figure", "informalfigure", "imageblock", "mediaobject", "screenshot", "image-container", "wp-caption",
    "thumb", "thumbinner", "floatright", "floatleft", "floatnone",
}
CAPTION_TOKENS = {"title", "caption", "figcaption", "caption-text", "wp-caption-text", "thumbcaption"}

# A letter counts as numbering only with its dot ("A. Glossary", "B.2 Files"), never "A Guide" or "d.background".
_NUMBERING = re.compile(r"^\s*(?:(?i:chapter|appendix|part|section|lesson|step)\s+)?"
                        r"(?:[0-9]+|[A-Z](?=\.))(?:\.[0-9]+)*\.?(?:\s+|$)")
_CAPTION_PREFIX = re.compile(r"^\s*(?:figure|fig\.|image|illustration|screenshot|table|example)\s*"
                             r"[0-9A-Z]*(?:[.\-][0-9A-Z]+)*\s*[.:\-\u2013\u2014]\s*", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# LaTeX2HTML's alt text for a picture: "\includegraphics[width=3in]{slope_map.eps}" (group 1: the file).
_LATEX_INCLUDE = re.compile(r"\\(?:includegraphics|epsfig|psfig)\b(?:.*?\{(?:file=)?([^}]+)\})?")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")


@dataclass(frozen=True)
class TextBlock:
    text: str


@dataclass(frozen=True)
class FigureBlock:
    """A figure in the flow of a section.

    ``caption`` is the best caption found by structure (figure title, alt, title attribute,
    definition term, file name), ``caption_source`` says which of these it came from.
    """

    src: Path
    caption: str
    caption_source: str
    alt: str = ""


Block = TextBlock | FigureBlock


@dataclass
class Section:
    title: str
    level: int
    anchor: str
    parents: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)

    @property
    def figures(self) -> list[FigureBlock]:
        return [b for b in self.blocks if isinstance(b, FigureBlock)]


@dataclass
class Page:
    path: Path
    title: str
    book: str
    lang: str
    sections: list[Section]
    home: str = ""
    """The manual's name from the page's home link, if it has one."""


def clean(text: str | None) -> str:
    """Collapse whitespace and drop zero-width characters."""
    return _SPACE.sub(" ", _ZERO_WIDTH.sub("", text or "")).strip()


def strip_numbering(title: str) -> str:
    """'4.2. Align' -> 'Align'; 'Chapter 6. Maintenance' -> 'Maintenance'; 'Step 1 \u2013 Import' -> 'Import'."""
    out = _NUMBERING.sub("", title, count=1).strip()
    if out != title.strip():
        out = out.lstrip("\u2013\u2014-:. ").strip()
    return out or title.strip()


def strip_caption_prefix(caption: str) -> str:
    """'Figure 14.120. The Align tool' -> 'The Align tool'."""
    out = _CAPTION_PREFIX.sub("", caption, count=1).strip()
    return out or caption.strip()


def _tokens(el: etree._Element) -> set[str]:
    return set((el.get("class") or "").lower().split()) | {(el.get("id") or "").lower()} - {""}


def _is_chrome(el: etree._Element) -> bool:
    if el.tag in SKIP_TAGS or (el.get("role") or "").lower() in CHROME_ROLES:
        return True
    if el.tag == "a" and clean(el.text_content()).lower() in LINK_MARKS:
        return True  # wiki exports: <img><a href="File:...">[*]</a>
    return bool(_tokens(el) & CHROME_TOKENS)


def visible_text(el: etree._Element) -> str:
    """Text of ``el`` without chrome inside it (Sphinx's pilcrow links, hidden navigation)."""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and not _is_chrome(child):
            parts.append(visible_text(child))
        parts.append(child.tail or "")
    return clean("".join(parts))


def _is_figure_container(el: etree._Element) -> bool:
    return el.tag == "figure" or bool(_tokens(el) & FIGURE_TOKENS)


def _humanize_file(src: Path) -> str:
    stem = re.sub(r"[_\-.]+", " ", src.stem)
    stem = re.sub(r"\b\d+\b", " ", stem)
    return clean(stem)


def _looks_like_file_name(text: str) -> bool:
    """A file name, a LaTeX ``\\includegraphics{...}`` (LaTeX2HTML's alt) or a word that says only "image"."""
    text = text.strip()
    return bool(re.fullmatch(r"[\w\-./]+\.(png|jpe?g|gif|svg|webp|bmp|eps|pdf)", text, re.IGNORECASE)
                or _LATEX_INCLUDE.match(text)
                or re.fullmatch(r"\W*(?:image|img|figure|fig|picture|photo|screenshot|graphic)s?\W*", text, re.IGNORECASE))


class _Walker:
    """Walks the DOM in document order, emitting headings, text and figures."""

    def __init__(self, base: Path):
        self.base = base
        self.sections: list[Section] = []
        self.preamble = Section(title="", level=0, anchor="")
        self.stack: list[tuple[int, str]] = []
        self.words: list[str] = []
        self.consumed: set = set()  # caption elements, read as captions and not as text
        self.mute_tails: set = set()  # blocks whose loose text is a caption

    @property
    def current(self) -> Section:
        return self.sections[-1] if self.sections else self.preamble

    def flush(self) -> None:
        text = clean("".join(self.words))  # text nodes carry their own spaces
        self.words = []
        if text:
            self.current.blocks.append(TextBlock(text))

    def heading(self, el: etree._Element, level: int) -> None:
        self.flush()
        title = strip_numbering(visible_text(el))
        if not title:
            return
        anchor = el.get("id") or ""
        if not anchor:
            named = el.xpath(".//a[@id or @name]")
            anchor = (named[0].get("id") or named[0].get("name")) if named else ""
        if not anchor:
            anchor = next((a.get("id") for a in el.iterancestors() if a.get("id")), "")
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        parents = [t for _, t in self.stack]
        self.stack.append((level, title))
        self.sections.append(Section(title=title, level=level, anchor=anchor, parents=parents))

    def resolve(self, src: str) -> Path | None:
        url = urlparse(src)
        if url.scheme in ("http", "https", "data", "ftp") or not url.path:
            return None
        return (self.base / unquote(url.path)).resolve()

    def figure(self, img: etree._Element, container: etree._Element | None, found: Caption | None = None) -> None:
        path = self.resolve(img.get("src") or "")
        if path is None:
            return
        alt = clean(img.get("alt"))
        caption, source = "", ""
        self.flush()
        if found is not None:
            self.consumed.update(found.consumed)
            # A caption line above the image was already read as text: it is the caption, not text.
            blocks = self.current.blocks
            if blocks and isinstance(blocks[-1], TextBlock) and blocks[-1].text == clean(found.text):
                blocks.pop()
            caption, source = strip_caption_prefix(clean(found.text)), found.source
        if container is not None and not caption:
            for cap in container.iter():
                if cap is container or not isinstance(cap.tag, str):
                    continue
                if cap.tag in ("figcaption", "caption") or (_tokens(cap) & CAPTION_TOKENS and cap.tag != "img"):
                    caption = strip_caption_prefix(visible_text(cap))
                    if caption:
                        source = "title"
                        break
        if not caption and alt and not _looks_like_file_name(alt):
            caption, source = alt, "alt"
        if not caption and clean(img.get("title")):
            caption, source = clean(img.get("title")), "title_attr"
        if not caption:
            dd = next((a for a in img.iterancestors() if a.tag == "dd"), None)
            dt = dd.getprevious() if dd is not None else None
            if dt is not None and dt.tag == "dt" and visible_text(dt):
                caption, source = visible_text(dt), "term"
        if not caption:
            included = _LATEX_INCLUDE.match(alt)
            caption, source = _humanize_file(Path(included[1]) if included and included[1] else path), "file_name"
        self.current.blocks.append(FigureBlock(src=path, caption=caption, caption_source=source, alt=alt))

    def walk(self, el: etree._Element) -> None:
        if not isinstance(el.tag, str):  # comments, processing instructions
            return
        tag = el.tag.lower()
        if _is_chrome(el) or el in self.consumed:
            return
        if tag in HEADINGS:
            self.heading(el, HEADINGS[tag])
            return
        if _is_figure_container(el) and el.tag != "img":
            imgs = [i for i in el.iter("img")]
            if imgs:
                for img in imgs:
                    self.figure(img, el)
                return
        if tag == "img":
            # An icon's neighbour ("Note" beside [Note]) is text, not a caption to take away.
            icon = icon_by_name(clean(el.get("alt")), Path(urlparse(el.get("src") or "").path).stem)
            if _stands_alone(el):
                self.figure(el, None, None if icon else find_caption(el, BLOCK_TAGS))
            elif not icon and (found := centred_caption(el, BLOCK_TAGS, set(HEADINGS), _is_chrome)):
                self.mute_tails.add(found.block)
                self.figure(el, None, found)
            return  # inline icons carry no text of their own
        block = tag in BLOCK_TAGS
        if block:
            self.flush()
        if el.text:
            self.words.append(el.text)
        for child in el:
            self.walk(child)
            if child.tail and el not in self.mute_tails:
                self.words.append(child.tail)
        if block:
            self.flush()


def _stands_alone(img: etree._Element) -> bool:
    """True if no running text shares the image's line (a block image, not an inline icon).

    A caption line in the same block (``<div><img><br><i>The dialog</i></div>``) is not running text.
    """
    block = next((a for a in img.iterancestors() if a.tag in BLOCK_TAGS and a.tag != "br"), None)
    return block is not None and not text_outside_captions(block, BLOCK_TAGS, set(HEADINGS), _is_chrome)


def parse_page_html(html: str | bytes, base: Path, path: Path | None = None) -> Page:
    """Parse an HTML string; image sources resolve against folder ``base``."""
    if isinstance(html, bytes):
        try:  # most manuals are UTF-8; anything else is left to lxml's own charset detection
            html = html.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if isinstance(html, str):  # lxml refuses str input that carries an XML encoding declaration
        html = _XML_DECL.sub("", html, count=1)
    root = lxml.html.document_fromstring(html, parser=lxml.html.HTMLParser(remove_comments=True))
    title = clean(" ".join(root.xpath("//head/title//text()")))
    home = root.xpath("//head/link[@rel='home' or @rel='start']/@title")
    lang = (root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or "").lower()
    walker = _Walker(base)
    body = root.find("body")
    walker.walk(body if body is not None else root)
    walker.flush()
    sections = walker.sections
    if not sections and walker.preamble.blocks:  # a page with no headings at all
        walker.preamble.title = strip_numbering(title) or (path.stem if path else "")
        sections = [walker.preamble]
    h1 = next((s.title for s in sections if s.level == 1), "")
    book = clean(home[0]) if home else (h1 or strip_numbering(title))
    return Page(path=path or base, title=strip_numbering(title), book=book, lang=lang, sections=sections,
                home=clean(home[0]) if home else "")


def parse_page(path: Path) -> Page:
    """Parse an HTML file from disk."""
    path = Path(path)
    return parse_page_html(path.read_bytes(), base=path.parent, path=path)
