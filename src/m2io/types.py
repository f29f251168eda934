"""Core data types shared by every m2io module.

Ids are always ``str`` inside m2io. The MRAMG-Bench files may hold int ids; the reader
converts them and :class:`m2io.corpus.mramg.Dataset` remembers the style so that writing
reproduces the file.

>>> doc = Document(id="d1", content="Open the dialog. <PIC> Then click OK.", image_ids=["i1"])
>>> doc.pic_count
1
>>> qa = QAItem(id="q1", question="How?", provenance=["d1"], ground_truth="Open it. <PIC>", image_ids=["i1"])
>>> qa.is_multi_image
False
>>> Placement(image_id="i1", slot=2)
Placement(image_id='i1', slot=2)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PIC = "<PIC>"
"""The corpus-side mark for an image inside document text and gold answers."""


@dataclass(frozen=True)
class Image:
    """One image of a corpus: its id, its file (None if not on disk) and caption."""

    id: str
    path: Path | None
    caption: str = ""


@dataclass(frozen=True)
class Document:
    """A corpus document: text with a ``<PIC>`` mark wherever an image stands.

    ``image_ids[k]`` is the image of the k-th ``<PIC>`` mark.
    """

    id: str
    content: str
    image_ids: list[str] = field(default_factory=list)

    @property
    def pic_count(self) -> int:
        return self.content.count(PIC)


@dataclass(frozen=True)
class DocSource:
    """Where a document comes from, in words people read: the manual, its page and its heading path.

    >>> DocSource("GRASS GIS manual", "d.background", ["d.background: Examples"]).label
    'GRASS GIS manual › d.background: Examples'
    """

    manual: str = ""
    page: str = ""
    heading_path: list[str] = field(default_factory=list)
    file: str = ""
    """The page's file, relative to the manual's folder."""

    @property
    def label(self) -> str:
        return " › ".join(p for p in [self.manual, *self.heading_path] if p)


@dataclass(frozen=True)
class QAItem:
    """A question with its gold answer.

    ``provenance`` holds the ids of the documents that answer it; ``image_ids`` the gold
    images in answer order; ``ground_truth`` may hold ``<PIC>`` marks at the gold positions.
    """

    id: str
    question: str
    provenance: list[str]
    ground_truth: str
    image_ids: list[str] = field(default_factory=list)

    @property
    def is_multi_image(self) -> bool:
        return len(set(self.image_ids)) > 1


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of a document, keeping its ``<PIC>`` marks and their images."""

    id: str
    doc_id: str
    text: str
    image_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Origin:
    """Where a piece of an answer comes from: a section (document) of the index, a chunk, a place there.

    For an answer segment, ``position`` is the index of the section's segment it is (0-based) and
    ``score`` how sure that is (1.0: verbatim; else the alignment's similarity). For a figure,
    ``position`` is its slot in the section: how many of the section's segments stand before it.

    >>> Origin("kicad/pcbnew#layers", "kicad/pcbnew#layers::1", 4).score
    1.0
    """

    section: str
    """The document key, ``<dataset>/<doc id>``."""
    chunk: str = ""
    position: int = -1
    score: float = 1.0
    run: int = 1
    """For a figure: how many figures stand together at its slot in the section (itself included)."""


@dataclass(frozen=True)
class Candidate:
    """The k-th candidate image of one query (``<imgk>`` in prompts, 1-based)."""

    k: int
    image: Image
    context: str = ""
    """The text around the image where the corpus shows it (``above`` and ``below`` joined)."""
    above: str = ""
    """The text just above the image (its last words), apart from the text below it."""
    below: str = ""
    origin: Origin | None = None
    """The section the image stands in and its slot there (None where unknown)."""
    side: np.ndarray | None = field(default=None, compare=False, repr=False)
    """The index's side vectors of this image (:mod:`m2io.insert.side`), so that placing it encodes nothing."""

    @property
    def placeholder(self) -> str:
        return f"<img{self.k}>"


@dataclass(frozen=True)
class Placement:
    """One inserter decision: put ``image_id`` after answer segment ``slot`` (0 = before the first)."""

    image_id: str
    slot: int


@dataclass(frozen=True)
class InterleavedAnswer:
    """An answer split into segments, plus the images placed between them."""

    segments: list[str]
    placements: list[Placement] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    source_labels: list[str] = field(default_factory=list)
    """``sources[k]`` in words: the manual and heading path (the id where the index has none)."""
    provenance: list[Origin | None] = field(default_factory=list)
    """Per segment, where it came from (empty where the answerer gave none)."""
