"""Put a floated figure back beside the paragraph that cites it.

LaTeX, Texinfo and DocBook-to-PDF toolchains float figures to the top or bottom of a page (or the
next page), away from where the author wrote them; the author's place is the paragraph that cites
it ("see Figure 22.3"). A figure that stands first or last on its page and whose caption has a
label is moved to just after the first paragraph of its section that cites that label. Figures that
stand in the running text (no label, or not at a page's edge) stay where they are.

Hand-written: no PDF library knows about floats; this is the convention of the typesetters.

>>> from m2io.corpus.manual.page import FigureBlock, TextBlock
>>> from pathlib import Path
>>> fig = FigureBlock(Path("spy.png"), "The structure of a matrix", "caption_line")
>>> blocks = [fig, TextBlock("Sparse matrices save memory."), TextBlock("See Figure 22.3 for its structure.")]
>>> [type(b).__name__ for b in place_floats(blocks, {id(fig): "22.3"})]
['TextBlock', 'TextBlock', 'FigureBlock']
"""
from __future__ import annotations

import re

from m2io.corpus.manual.page import Block, FigureBlock, TextBlock

LABEL = re.compile(r"^\s*(?:figure|fig\.?)\s*([0-9A-Z]+(?:[.\-][0-9A-Z]+)*)", re.IGNORECASE)


def figure_label(caption: str) -> str:
    """'Figure 22.3: Structure' -> '22.3' ('' without a label)."""
    m = LABEL.match(caption)
    return m[1].rstrip(".") if m else ""


def _cites(text: str, label: str) -> bool:
    return re.search(rf"\b(?:figure|fig\.?)s?\s*{re.escape(label)}(?![.\-]?[0-9A-Za-z])", text, re.IGNORECASE) is not None


def place_floats(blocks: list[Block], floats: dict[int, str]) -> list[Block]:
    """``blocks`` of one section with each floated figure (``id`` -> label) after its first citing paragraph."""
    out = list(blocks)
    for fig in [b for b in blocks if isinstance(b, FigureBlock) and floats.get(id(b))]:
        label = floats[id(fig)]
        at = next((i for i, b in enumerate(out) if isinstance(b, TextBlock) and _cites(b.text, label)), None)
        if at is None:
            continue
        out.remove(fig)
        at = next(i for i, b in enumerate(out) if isinstance(b, TextBlock) and _cites(b.text, label))
        # After the citing paragraph and any figures already placed there (they keep their order).
        end = at + 1
        while end < len(out) and isinstance(out[end], FigureBlock) and id(out[end]) in floats:
            end += 1
        out.insert(end, fig)
    return out
