"""Read DocBook XML manuals (as GNOME help packages ship them in ``/usr/share/help/C/<name>/``).

A DocBook book is a tree of ``chapter``/``sect1``/``section`` elements with ``title``s, ``para``s
and ``figure``/``screenshot``/``mediaobject`` images. It is mapped element by element onto the
HTML the page parser already reads (sections to headings, figures to figure containers, tables
to tables), so figures, captions and chrome follow one set of rules for both sources. Entities
and XIncludes are resolved from local files only (never the network).

Hand-written because the DocBook XSL stylesheets are not a Python package and need a separate
XSLT toolchain; this mapping is the part of them the parser needs.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "guide.xml").write_text('''<?xml version="1.0"?><!DOCTYPE book [<!ENTITY app "Gnumeric">]>
... <book><bookinfo><title>The &app; Manual</title></bookinfo>
... <chapter id="start"><title>Getting started</title><para>Open &app; from the menu.</para>
... <figure><title>The main window</title><screenshot><mediaobject><imageobject>
... <imagedata fileref="figures/main.png" format="PNG"/></imageobject></mediaobject></screenshot></figure>
... </chapter></book>''')
>>> page = parse_docbook(d / "guide.xml")
>>> page.home, [(s.title, s.level) for s in page.sections]
('The Gnumeric Manual', [('The Gnumeric Manual', 1), ('Getting started', 2)])
>>> fig = page.sections[1].figures[0]
>>> fig.src.name, fig.caption, fig.caption_source
('main.png', 'The main window', 'title')
"""
from __future__ import annotations

from pathlib import Path

import lxml.html
from lxml import etree

from m2io.corpus.manual.page import Page, _Walker, clean, strip_numbering

SECTION_TAGS = {
    "set", "book", "part", "reference", "article", "chapter", "appendix", "preface", "sect1", "sect2", "sect3",
    "sect4", "sect5", "section", "simplesect", "refentry", "refsect1", "refsect2", "refsect3", "refsection",
    "glossary", "bibliography", "colophon", "topic",
}
INFO_TAGS = {"info", "bookinfo", "articleinfo", "chapterinfo", "sectioninfo", "sect1info", "sect2info", "sect3info",
             "prefaceinfo", "appendixinfo", "partinfo", "refentryinfo", "refmeta", "docinfo"}
DROP_TAGS = {"indexterm", "remark", "comment", "toc", "lot", "index", "legalnotice", "revhistory", "titleabbrev",
             "subtitle", "refnamediv", "refsynopsisdiv", "alt", "co"}
TAG_MAP = {
    "para": "p", "simpara": "p", "formalpara": "div", "itemizedlist": "ul", "orderedlist": "ol", "listitem": "li",
    "procedure": "ol", "substeps": "ol", "step": "li", "variablelist": "dl", "varlistentry": "div", "term": "dt",
    "glosslist": "dl", "glossentry": "div", "glossterm": "dt", "glossdef": "dd", "table": "table",
    "informaltable": "table", "tgroup": "tbody", "thead": "thead", "tbody": "tbody", "row": "tr", "entry": "td",
    "programlisting": "pre", "screen": "pre", "literallayout": "pre", "synopsis": "pre", "blockquote": "blockquote",
    "note": "div", "tip": "div", "warning": "div", "caution": "div", "important": "div", "sidebar": "div",
    "example": "div", "informalexample": "div", "calloutlist": "ul", "callout": "li", "qandaset": "div",
    "qandaentry": "div", "question": "p", "answer": "div", "abstract": "div", "footnote": "span",
    "equation": "div", "informalequation": "div",
}
FIGURE_TAGS = {"figure": "figure", "informalfigure": "informalfigure", "screenshot": "screenshot",
               "mediaobject": "mediaobject"}
RASTER = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")
DOCBOOK_SUFFIXES = (".xml", ".docbook", ".dbk")
ROOT_TAGS = {"book", "article", "set"}


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _title_of(el: etree._Element) -> str:
    for child in el:
        name = _local(child.tag)
        if name == "title":
            return clean("".join(child.itertext()))
        if name in INFO_TAGS:
            found = next((t for t in child if _local(t.tag) == "title"), None)
            if found is not None:
                return clean("".join(found.itertext()))
    return ""


def _image_src(media: etree._Element) -> tuple[str, str]:
    """The file of a mediaobject (a raster one where there is a choice) and its text alternative."""
    refs = [d.get("fileref") or d.get("entityref") or "" for d in media.iter() if _local(d.tag) in ("imagedata", "graphic")]
    refs = [r for r in refs if r]
    src = next((r for r in refs if r.lower().endswith(RASTER)), refs[0] if refs else "")
    alt = " ".join(clean("".join(t.itertext())) for t in media.iter() if _local(t.tag) in ("textobject", "alt"))
    return src, clean(alt)


class _ToHtml:
    """Builds the HTML tree: one recursive pass, section depth becomes heading level."""

    def convert(self, el: etree._Element, depth: int) -> list:
        name = _local(el.tag)
        if not name or name in DROP_TAGS or name in INFO_TAGS:
            return []
        if name in SECTION_TAGS:
            div = lxml.html.Element("div", {"class": name})
            title = _title_of(el)
            if title:
                h = etree.SubElement(div, f"h{min(depth, 6)}")
                h.text = title
                anchor = el.get("id") or el.get("{http://www.w3.org/XML/1998/namespace}id")
                if anchor:
                    h.set("id", anchor)
            self._children(el, div, depth + 1, skip_title=True)
            return [div]
        if name in ("imagedata", "graphic", "inlinegraphic"):
            img = lxml.html.Element("img", {"src": el.get("fileref") or el.get("entityref") or ""})
            return [img]
        if name in ("mediaobject", "inlinemediaobject"):
            src, alt = _image_src(el)
            if not src:
                return []
            img = lxml.html.Element("img", {"src": src, "alt": alt})
            if name == "inlinemediaobject":
                return [img]
            div = lxml.html.Element("div", {"class": "mediaobject"})
            div.append(img)
            for cap in (c for c in el if _local(c.tag) == "caption"):
                div.extend(self.convert(cap, depth))
            return [div]
        if name == "title":
            p = lxml.html.Element("p", {"class": "title"})
            p.text = clean("".join(el.itertext()))
            return [p]
        if name in FIGURE_TAGS:
            out = lxml.html.Element("div", {"class": FIGURE_TAGS[name]})
        elif name == "caption":
            out = lxml.html.Element("div", {"class": "caption"})
        else:
            out = lxml.html.Element(TAG_MAP.get(name, "span"))
        self._children(el, out, depth, skip_title=False)
        return [out]

    def _children(self, el: etree._Element, out, depth: int, skip_title: bool) -> None:
        self._append_text(out, el.text)
        for child in el:
            if not (skip_title and _local(child.tag) == "title"):
                for made in self.convert(child, depth):
                    out.append(made)
            self._append_text(out, child.tail)

    @staticmethod
    def _append_text(out, text: str | None) -> None:
        if not text:
            return
        if len(out):
            out[-1].tail = (out[-1].tail or "") + text
        else:
            out.text = (out.text or "") + text


def is_docbook_root(path: Path) -> bool:
    """True if ``path`` looks like the top file of a DocBook book or article (by its first bytes)."""
    if path.suffix.lower() not in DOCBOOK_SUFFIXES:
        return False
    try:
        head = path.read_bytes()[:8192].decode("utf-8", "replace")
    except OSError:
        return False
    return any(f"<!DOCTYPE {t}" in head or f"<{t} " in head or f"<{t}>" in head for t in ROOT_TAGS)


def parse_docbook(path: Path) -> Page:
    """Parse a DocBook file (its entities and XIncludes resolved locally) into a :class:`Page`."""
    path = Path(path)
    parser = etree.XMLParser(load_dtd=True, resolve_entities=True, no_network=True, recover=True, huge_tree=True)
    try:
        tree = etree.parse(str(path), parser)
    except etree.XMLSyntaxError as e:
        raise ValueError(f"not well-formed XML: {e}") from e
    root = tree.getroot()
    if root is None:
        raise ValueError("not XML: nothing parsed")
    try:
        tree.xinclude()
    except etree.XIncludeError:
        pass  # an include that cannot be read locally: keep what is there
    html = lxml.html.Element("html")
    body = etree.SubElement(html, "body")
    for made in _ToHtml().convert(root, 1):
        body.append(made)
    walker = _Walker(path.parent)
    walker.walk(body)
    walker.flush()
    title = strip_numbering(_title_of(root)) or path.stem
    lang = (root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or "").lower()
    return Page(path=path, title=title, book=title, lang=lang, sections=walker.sections, home=title)
