"""Find the caption of an image that stands alone, in the conventions manuals use besides figure containers.

Hand-written because no HTML library knows what a figure caption looks like; the conventions come
from real manuals (GRASS, Sphinx exports, hand-written HTML):

- a caption line in the image's own block: ``<div align=center><img><br><i>The viewshed</i></div>``;
- a caption line right after (or, starting "Figure", right before) the image's block:
  ``<p><img></p><p><em>The viewshed</em></p>``, ``<center><img><p>Figure: Wake County</p></center>``;
- a table's ``<caption>`` when the table holds this one image (LaTeX2HTML:
  ``<table><caption>Figure 3: The viewshed</caption><tr><td><img></td></tr></table>``), above or below;
- a caption cell: the same row's text cell (``<td><img></td><td>The viewshed</td>``) or the cell in
  the same column of the next row (a row of images over a row of captions).

A caption line is short text that is either all in one caption-like inline element (``i``, ``em``,
``small``, ``cite``, or a ``caption`` class) or starts with "Figure"/"Fig.".

>>> import lxml.html
>>> root = lxml.html.fromstring('<div><div align="center"><a href="v.png"><img src="v.png"></a><br>'
...                             '<i>Viewshed on shaded terrain</i></div></div>')
>>> img = root.find('.//img')
>>> found = find_caption(img, {"div", "p", "br"})
>>> found.text, found.source
('Viewshed on shaded terrain', 'caption_line')
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

CAPTION_INLINE_TAGS = {"i", "em", "small", "cite"}
CAPTION_CLASS_TOKENS = {"caption", "figcaption", "caption-text", "wp-caption-text", "thumbcaption", "imagecaption",
                        "image-caption", "img-caption", "figure-caption"}
MAX_CAPTION_WORDS = 40
MAX_CELL_CAPTION_WORDS = 25
_FIGURE_START = re.compile(r"^\s*(?:figure|fig\.?)\s*(?:[0-9A-Z]+(?:[.\-][0-9A-Z]+)*\s*)?[.:\-\u2013\u2014]?\s+\S",
                           re.IGNORECASE)
_SPACE = re.compile(r"\s+")


@dataclass
class Caption:
    text: str
    source: str
    """``caption_line`` (a caption line in or next to the image's block) or ``table_cell``."""
    consumed: list = field(default_factory=list)
    """Elements whose text is this caption, so the page's text leaves them out."""
    block: etree._Element | None = None
    """A block whose loose text (outside elements) is the caption (a centred image and its line)."""


def _clean(text: str | None) -> str:
    return _SPACE.sub(" ", text or "").strip()


def _classes(el: etree._Element) -> set[str]:
    return set((el.get("class") or "").lower().split())


def is_caption_inline(el: etree._Element) -> bool:
    """An inline element whose whole text may be a figure's caption."""
    return isinstance(el.tag, str) and (el.tag.lower() in CAPTION_INLINE_TAGS or bool(_classes(el) & CAPTION_CLASS_TOKENS))


def _text(el: etree._Element) -> str:
    return _clean("".join(el.itertext()))


def _has_image(el: etree._Element) -> bool:
    return el.tag == "img" or next(el.iter("img"), None) is not None


def is_caption_line(el: etree._Element, block_tags: set[str]) -> bool:
    """Short text in a caption element, all of it in one caption-like inline child, or starting "Figure"."""
    if not isinstance(el.tag, str) or _has_image(el):
        return False
    text = _text(el)
    if not text or len(text.split()) > MAX_CAPTION_WORDS:
        return False
    if is_caption_inline(el) or el.tag in ("figcaption", "caption") or _FIGURE_START.match(text):
        return True
    children = [c for c in el if isinstance(c.tag, str) and c.tag != "br"]
    outside = _clean((el.text or "") + "".join(c.tail or "" for c in el))
    return len(children) == 1 and not outside and is_caption_inline(children[0]) and children[0].tag not in block_tags


def _next_element(el: etree._Element) -> etree._Element | None:
    """The next sibling element, if only whitespace lies between."""
    if _clean(el.tail):
        return None
    nxt = el.getnext()
    while nxt is not None and not isinstance(nxt.tag, str):  # comments
        if _clean(nxt.tail):
            return None
        nxt = nxt.getnext()
    return nxt


def _previous_element(el: etree._Element) -> etree._Element | None:
    prev = el.getprevious()
    while prev is not None and not isinstance(prev.tag, str):
        prev = prev.getprevious()
    if prev is None or _clean(prev.tail):
        return None
    return prev


def _in_block(img: etree._Element, block: etree._Element, block_tags: set[str]) -> Caption | None:
    """A caption inside the image's own block: caption-like inline elements, or the block next to the image."""
    found: list = []

    def visit(el: etree._Element) -> None:
        for child in el:
            if not isinstance(child.tag, str) or child is img or child.tag in block_tags or _has_image(child):
                if child is not img and _has_image(child) and img in child.iterdescendants():
                    visit(child)  # an inline wrapper such as <a href><img></a>
                continue
            if is_caption_inline(child):
                if _text(child):
                    found.append(child)
            else:
                visit(child)

    visit(block)
    if not found:  # <center><img><p>Figure: Wake County</p></center>
        branch = next(a for a in [img, *img.iterancestors()] if a.getparent() is block)
        nxt = _next_element(branch)
        while nxt is not None and nxt.tag == "br":
            nxt = _next_element(nxt)
        if nxt is not None and nxt.tag in block_tags and is_caption_line(nxt, block_tags):
            found.append(nxt)
    text = " ".join(_text(el) for el in found)
    if not text or len(text.split()) > MAX_CAPTION_WORDS:
        return None
    return Caption(text, "caption_line", found)


def _table_cell(img: etree._Element, cell: etree._Element) -> Caption | None:
    row = cell.getparent()
    if row is None or row.tag != "tr":
        return None
    cells = [c for c in row if c.tag in ("td", "th")]
    others = [c for c in cells if c is not cell and not _has_image(c) and _text(c)]
    if len(others) == 1 and sum(_has_image(c) for c in cells) == 1 \
            and len(_text(others[0]).split()) <= MAX_CELL_CAPTION_WORDS:
        return Caption(_text(others[0]), "table_cell", [others[0]])
    nxt = row.getnext()
    while nxt is not None and nxt.tag != "tr":
        nxt = nxt.getnext()
    if nxt is None:
        return None
    below = [c for c in nxt if c.tag in ("td", "th")]
    col = cells.index(cell)
    if len(below) == len(cells) and not any(_has_image(c) for c in below):
        text = _text(below[col])
        if text and len(text.split()) <= MAX_CELL_CAPTION_WORDS:
            return Caption(text, "table_cell", [below[col]])
    return None


def _table_caption(img: etree._Element, cell: etree._Element) -> Caption | None:
    table = next((a for a in cell.iterancestors() if a.tag == "table"), None)
    if table is None or sum(1 for _ in table.iter("img")) != 1:
        return None
    caption = next((c for c in table if isinstance(c.tag, str) and c.tag == "caption"), None)
    text = _text(caption) if caption is not None else ""
    if not text or len(text.split()) > MAX_CAPTION_WORDS:
        return None
    return Caption(text, "caption_line", [caption])


def find_caption(img: etree._Element, block_tags: set[str]) -> Caption | None:
    """The caption of a stand-alone ``img`` by the conventions above (``block_tags``: the page's block tags)."""
    block = next((a for a in img.iterancestors() if a.tag in block_tags and a.tag != "br"), None)
    if block is None:
        return None
    found = _in_block(img, block, block_tags)
    if found:
        return found
    if block.tag in ("td", "th"):
        return _table_caption(img, block) or _table_cell(img, block)
    nxt = _next_element(block)
    if nxt is not None and is_caption_line(nxt, block_tags):
        return Caption(_text(nxt), "caption_line", [nxt])
    prev = _previous_element(block)
    if prev is not None and is_caption_line(prev, block_tags) and _FIGURE_START.match(_text(prev)):
        return Caption(_text(prev), "caption_line", [prev])
    return None


def _is_centred(el: etree._Element) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    return el.tag == "center" or (el.get("align") or "").lower() == "center" or "text-align:center" in style


def centred_caption(img: etree._Element, block_tags: set[str], headings: set[str], is_chrome) -> Caption | None:
    """``<center><img><br>Pre and post disaster images ...</center>``: the image's line below it is its caption.

    Also in a block that is not centred when a line break follows the image (``<p><img><br>A line.</p>``).
    """
    block = next((a for a in img.iterancestors() if a.tag in block_tags and a.tag != "br"), None)
    if block is None or sum(1 for _ in block.iter("img")) != 1 or _clean(block.text):
        return None
    branch = next(a for a in [img, *img.iterancestors()] if a.getparent() is block)
    nxt = _next_element(branch)
    if not _is_centred(block) and (nxt is None or nxt.tag != "br"):
        return None
    before = list(block)[: list(block).index(branch)]
    if any(_clean(e.tail) or (isinstance(e.tag, str) and e.tag != "br" and _text(e)) for e in before):
        return None
    text = text_outside_captions(block, block_tags, headings, is_chrome)
    if not text or len(text.split()) > MAX_CAPTION_WORDS:
        return None
    after = list(block)[list(block).index(branch) + 1:]
    return Caption(_clean(" ".join([_clean(branch.tail), *(_text(e) + " " + _clean(e.tail) for e in after
                                                            if isinstance(e.tag, str))])),
                   "caption_line", [e for e in after if isinstance(e.tag, str)], block)


def text_outside_captions(block: etree._Element, block_tags: set[str], headings: set[str], is_chrome) -> str:
    """Inline text of ``block`` leaving out nested blocks, chrome and caption-like inline elements."""
    parts = [block.text or ""]
    for child in block:
        if isinstance(child.tag, str) and child.tag not in block_tags and child.tag not in headings \
                and not is_chrome(child) and not is_caption_inline(child):
            parts.append(text_outside_captions(child, block_tags, headings, is_chrome))
        parts.append(child.tail or "")
    return _clean("".join(parts))
