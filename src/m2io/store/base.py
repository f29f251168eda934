"""The one small interface every vector store implements.

Three tables: ``chunks`` (text + text vector), ``images`` (one row per image occurrence in a
chunk, with a visual vector and a text-space vector) and ``docs`` (one marker per indexed
document with the hash of what was indexed). A document's marker is written after its rows,
and rows of a document without a marker are deleted before it is written again: an interrupted
run resumes without duplicates or loss.

Similarities returned are cosine similarities (higher is closer).
"""
from __future__ import annotations

import contextlib

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np


SIDE_TEXTS = 5
"""How many side vectors an image row keeps (see :attr:`ImageRow.side`)."""


def chunk_number(chunk_id: str) -> int:
    """A chunk's place in its document: ``<doc>::<n>`` -> n.

    >>> chunk_number("gimp/align::3")
    3
    """
    return int(chunk_id.rsplit("::", 1)[1])


@dataclass
class ChunkRow:
    id: str
    doc_id: str
    dataset: str
    text: str
    image_ids: list[str]
    search_text: str = ""
    """What the encoders read: the text with captions where images stand, and the heading."""
    vector: np.ndarray | None = None
    known: np.ndarray | None = None
    """(n, text_dim) text vectors of what answers read of this chunk, made at index time: its sentences in order
    (a document's first chunk then adds its section's title and opening: :func:`m2io.sections.read.known_texts`),
    so that ranking a section and placing figures among its sentences encode nothing of it at answer time."""


@dataclass
class ImageRow:
    id: str
    """``<chunk id>#<k>``: one occurrence of an image in a chunk."""
    image_id: str
    doc_id: str
    chunk_id: str
    dataset: str
    caption: str
    context: str
    path: str
    has_visual: bool
    visual: np.ndarray | None = None
    semantic: np.ndarray | None = None
    above: str = ""
    """The two halves of ``context``: text above the image, and below it."""
    below: str = ""
    side: np.ndarray | None = None
    """(SIDE_TEXTS, text_dim) text vectors of what depends on the image alone (caption, context, the two halves'
    ends, the rule inserter's text: :func:`m2io.insert.side.side_texts`), made at index time so that placing an
    image encodes nothing of it at answer time; None where an older reader left it out."""


@dataclass
class DocRows:
    doc_id: str
    dataset: str
    hash: str
    chunks: list[ChunkRow] = field(default_factory=list)
    images: list[ImageRow] = field(default_factory=list)


@dataclass
class Hit:
    id: str
    score: float


class Store(ABC):
    """A vector store holding one m2io index."""

    text_dim: int
    visual_dim: int

    @abstractmethod
    def doc_hashes(self) -> dict[str, str]:
        """Hash of every completely indexed document."""

    @abstractmethod
    def write(self, docs: list[DocRows]) -> None:
        """Replace everything stored for these documents; their markers are written last."""

    @abstractmethod
    def delete_docs(self, doc_ids: list[str]) -> None:
        """Remove the markers, then the rows, of these documents."""

    @abstractmethod
    def purge_unmarked(self) -> int:
        """Delete rows of documents that have no marker (left by an interrupted run); return how many docs."""

    @abstractmethod
    def search_chunks(self, vector: np.ndarray, k: int) -> list[Hit]:
        """Chunk ids by cosine similarity to ``vector``."""

    @abstractmethod
    def search_images(self, vector: np.ndarray, k: int, column: str) -> list[Hit]:
        """Image-row ids by cosine similarity; ``column`` is ``visual`` or ``semantic``."""

    @abstractmethod
    def chunks(self, ids: list[str]) -> dict[str, ChunkRow]:
        """Chunks by id, without vectors."""

    @abstractmethod
    def images(self, ids: list[str]) -> dict[str, ImageRow]:
        """Image rows by id, without vectors."""

    @abstractmethod
    def images_of_chunks(self, chunk_ids: list[str], side: bool = False) -> list[ImageRow]:
        """Image rows of these chunks in order of appearance, without vectors (``side``: with their side vectors)."""

    @abstractmethod
    def doc_chunks(self, doc_ids: list[str], known: bool = False) -> dict[str, list[ChunkRow]]:
        """Every chunk of these documents, in document order (a section read whole), without vectors (``known``:
        with their known-text vectors)."""

    @abstractmethod
    def iter_chunk_texts(self) -> Iterator[tuple[str, str]]:
        """(chunk id, search text) of every chunk, for the BM25 index."""

    @abstractmethod
    def iter_image_files(self) -> Iterator[tuple[str, str, str]]:
        """(dataset, image id, file path) of every image occurrence (an image may occur several times)."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Rows per table."""

    @abstractmethod
    def reset(self) -> None:
        """Drop every table and make them anew, empty, in this version's schema (an index format upgrade)."""

    def versions(self) -> dict[str, int]:
        """The version of each table now, for a reader to pin (:meth:`pin`); {} where tables have none."""
        return {}

    def pin(self, versions: dict[str, int]) -> None:
        """Read these table versions from now on, whatever is written later (a store without versions: no-op)."""

    def build_transaction(self):
        """A context in which one indexing run's writes become visible to readers all at once, or not at all."""
        return contextlib.nullcontext()

    def read_view(self):
        """A context in which every read sees one state of the store, whatever commits meanwhile."""
        return contextlib.nullcontext()

    def close(self) -> None:
        """Release connections."""
