"""A section of the manual, read whole from the index: its segments, where each came from, its figures.

An index keeps a section (a document) as chunks; :func:`read_section` puts them back together
into what an answer is made of: the section's segments (sentences, split exactly as answers are:
:func:`m2io.insert.plan.segment_answer`), the chunk and source line of each, and each figure with
its slot there (how many segments stand before it), the image row it came from and the runs of
figures that stand together. A manual's document opens with its heading path, which is not answer
text: it is left out when the index's sources name that heading (the whole path or its last levels).

>>> from m2io.store.base import ChunkRow, ImageRow
>>> chunks = [ChunkRow("m/d::0", "m/d", "m", "Tools > Align\\nPick the tool. <PIC>\\nDrag a box.", ["a"]),
...           ChunkRow("m/d::1", "m/d", "m", "Then click. <PIC> <PIC>", ["b", "c"])]
>>> rows = [ImageRow(f"m/d::{n}#{k}", i, "m/d", f"m/d::{n}", "m", "", "", "", False)
...         for n, k, i in [(0, 0, "a"), (1, 0, "b"), (1, 1, "c")]]
>>> s = read_section("m/d", chunks, rows, heading_path=["Tools", "Align"])
>>> s.segments, [(f.image_id, f.slot) for f in s.figures], s.chunk_of
(['Pick the tool.', 'Drag a box.', 'Then click.'], [('a', 1), ('b', 3), ('c', 3)], ['m/d::0', 'm/d::0', 'm/d::1'])
>>> s.text(0, 3)
'Pick the tool.\\nDrag a box.\\nThen click.'
>>> s.longest_run
2
"""
from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from m2io.corpus.chunk import split_sentences
from m2io.corpus.questions import is_heading_line
from m2io.insert.plan import gold_from_marks
from m2io.store.base import ChunkRow, ImageRow
from m2io.types import PIC, Origin
from m2io.words import first_words, word_count


OPENING_WORDS = 80


@dataclass
class Figure:
    image_id: str
    slot: int
    """How many of the section's segments stand before it."""
    row: ImageRow
    """Its first image row in the section (caption, context, file, side vectors)."""


@dataclass
class Section:
    key: str
    """``<dataset>/<doc id>``."""
    heading: str
    segments: list[str]
    chunk_of: list[str]
    """The chunk each segment comes from."""
    line_of: list[int]
    """The source line (paragraph) of each segment: segments of one line are one paragraph."""
    figures: list[Figure] = field(default_factory=list)

    @property
    def words(self) -> int:
        return sum(word_count(s) for s in self.segments)

    @property
    def title(self) -> str:
        """The last level of its heading path ("" without one)."""
        return self.heading.split(" > ")[-1] if self.heading else ""

    def opening(self, words: int = OPENING_WORDS) -> str:
        """The heading, then the section's first ``words`` words (what the section ranker compares with a question)."""
        body = first_words(" ".join(self.segments), words)
        return f"{self.heading}: {body}" if self.heading else body

    @property
    def longest_run(self) -> int:
        """The most figures that stand together (at one slot) in the section; 0 without figures."""
        return max(Counter(f.slot for f in self.figures).values(), default=0)

    def origin(self, position: int) -> Origin:
        """The provenance of segment ``position`` (verbatim: score 1)."""
        return Origin(self.key, self.chunk_of[position], position, 1.0)

    def text(self, start: int = 0, end: int | None = None) -> str:
        """Segments ``start..end`` as text, one paragraph a source line."""
        end = len(self.segments) if end is None else end
        lines: list[list[str]] = []
        last = None
        for i in range(start, end):
            if self.line_of[i] != last:
                lines.append([])
                last = self.line_of[i]
            lines[-1].append(self.segments[i])
        return "\n".join(" ".join(line) for line in lines)


def _segments_and_lines(text: str) -> tuple[list[str], list[int]]:
    """The segments of ``text`` as :func:`segment_answer` splits it, and the line of each."""
    segments, lines = [], []
    for n, line in enumerate(text.replace(PIC, " ").split("\n")):
        for s in split_sentences(line):
            segments.append(" ".join(s.split()))
            lines.append(n)
    return segments, lines


def read_section(key: str, chunks: list[ChunkRow], image_rows: list[ImageRow],
                 heading_path: list[str] | None = None) -> Section:
    """The section ``key`` from its chunks (in order) and its image rows; a first line that is ``heading_path``
    (joined with " > ", whole or its last levels) is left out."""
    path = list(heading_path or [])
    segments: list[str] = []
    chunk_of: list[str] = []
    line_of: list[int] = []
    slots: dict[str, int] = {}
    line_base = 0
    for n, chunk in enumerate(chunks):
        text = chunk.text
        if n == 0 and is_heading_line(text.split("\n", 1)[0], path):
            text = text.split("\n", 1)[1] if "\n" in text else ""
        segs, lines = _segments_and_lines(text)
        if chunk.image_ids and text.count(PIC) == len(chunk.image_ids):
            for image_id, slot in gold_from_marks(text, list(chunk.image_ids)).slots.items():
                slots.setdefault(image_id, len(segments) + slot)
        segments += segs
        chunk_of += [chunk.id] * len(segs)
        line_of += [line_base + n_line for n_line in lines]
        line_base += text.count("\n") + 1
    first_row: dict[str, ImageRow] = {}
    for row in image_rows:
        first_row.setdefault(row.image_id, row)
    figures = [Figure(i, s, first_row[i]) for i, s in slots.items() if i in first_row]
    figures.sort(key=lambda f: f.slot)
    return Section(key, " > ".join(path), segments, chunk_of, line_of, figures)


def known_texts(section: Section, n_chunks: int) -> list[list[str]]:
    """Per chunk, the texts whose vectors the index keeps with it (``ChunkRow.known``): the chunk's segments in order,
    and for the first chunk its section's title and opening after them.

    >>> s = Section("m/d", "Tools > Crop", ["Drag.", "Press Enter."], ["m/d::0", "m/d::1"], [0, 1])
    >>> known_texts(s, 2)
    [['Drag.', 'Crop', 'Tools > Crop: Drag. Press Enter.'], ['Press Enter.']]
    """
    chunk_ids = list(dict.fromkeys(section.chunk_of))
    out: list[list[str]] = [[] for _ in range(n_chunks)]
    for seg, chunk in zip(section.segments, section.chunk_of):
        n = chunk_ids.index(chunk)
        if n < n_chunks:
            out[n].append(seg)
    if n_chunks:
        out[0] += [section.title, section.opening()]
    return out


class SectionReader:
    """Sections of one index, read on demand and kept (most recently used first) for ``cache`` sections.

    >>> reader = SectionReader(retriever.store, retriever.sources)          # doctest: +SKIP
    >>> reader.read(["gimp/gimp-tool-align#gimp-tool-align"])               # doctest: +SKIP
    """

    def __init__(self, store, sources: dict | None = None, cache: int = 512, encoder=None):
        """``encoder``: a text encoder whose cache the index's known-text vectors of each section read are put in."""
        self.store, self.sources, self.cache_size, self.encoder = store, sources or {}, cache, encoder
        self._cache: OrderedDict[str, Section] = OrderedDict()
        self.lookups = {"hit": 0, "miss": 0}
        """Sections found in the cache, and read from the store (for ``/metrics``)."""

    def _prime(self, section: Section, chunks: list[ChunkRow]) -> None:
        """Put the index's vectors of the section's known texts in the encoder's cache (where they line up)."""
        if self.encoder is None or not hasattr(self.encoder, "prime"):
            return
        for texts, chunk in zip(known_texts(section, len(chunks)), chunks):
            if chunk.known is not None and len(chunk.known) == len(texts):
                self.encoder.prime([t for t in texts if t.strip()],
                                   [v for t, v in zip(texts, chunk.known) if t.strip()])

    def heading_path(self, key: str) -> list[str]:
        source = self.sources.get(key)
        return list(source.heading_path) if source is not None and source.heading_path else []

    def read(self, keys: list[str]) -> dict[str, Section]:
        wanted = list(dict.fromkeys(keys))
        missing = [k for k in wanted if k not in self._cache]
        self.lookups["hit"] += len(wanted) - len(missing)
        self.lookups["miss"] += len(missing)
        if missing:
            chunks = self.store.doc_chunks(missing, known=self.encoder is not None)
            rows = self.store.images_of_chunks([c.id for k in missing for c in chunks.get(k, [])], side=True)
            by_doc: dict[str, list[ImageRow]] = {}
            for row in rows:
                by_doc.setdefault(row.doc_id, []).append(row)
            for k in missing:
                if chunks.get(k):
                    self._cache[k] = read_section(k, chunks[k], by_doc.get(k, []), self.heading_path(k))
                    self._prime(self._cache[k], chunks[k])
        out = {}
        for k in keys:
            if k in self._cache:
                self._cache.move_to_end(k)
                out[k] = self._cache[k]
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return out
