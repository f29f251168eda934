"""Split documents into sentence-aware chunks that keep their ``<PIC>`` marks.

A chunk holds whole sentences (a sentence longer than the budget is cut at word boundaries),
about ``max_tokens`` long. Each ``<PIC>`` stays where it was; the chunk knows its images, and
each image knows the text around it in the document (its context).

>>> from m2io.types import Document
>>> doc = Document("d1", "Title line\\nFirst sentence here. Second one.\\n<PIC>\\nAfter the image.", ["i1"])
>>> chunks = chunk_document(doc, ChunkConfig(max_tokens=8))
>>> [c.text for c in chunks]
['Title line\\nFirst sentence here.', 'Second one.\\n<PIC>\\nAfter the image.']
>>> chunks[1].image_ids, image_contexts(doc, ChunkConfig(context_words=4))["i1"]
(['i1'], 'sentence here. Second one. After the image.')
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from m2io.types import PIC, Chunk, Document
from m2io.words import is_wide, word_count, word_spans

# after . ! ? and a space, before a capital, digit or mark; after a CJK full stop (space or not), before
# anything but a closing bracket or another stop
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'“(\[]?[A-Z0-9<])|(?<=[。！？])\s*(?=[^\s」』）)】〕。！？])")


def split_sentences(text: str) -> list[str]:
    """Sentences of one line of text (a period, ! or ? followed by a capital, digit or mark; a CJK full stop).

    >>> split_sentences("Open it. Then click OK! <PIC> is next. e.g. this stays")
    ['Open it.', 'Then click OK!', '<PIC> is next. e.g. this stays']
    >>> split_sentences("「開く。」を押します。次に保存！ Tux Paint")
    ['「開く。」を押します。', '次に保存！', 'Tux Paint']
    """
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def approx_tokens(text: str) -> int:
    """Word-piece count estimate: 4 tokens per 3 words (:func:`m2io.words.word_count`'s; close for English with
    MiniLM's vocabulary, and each CJK character a word, so a Japanese line is not one "word")."""
    return (word_count(text) * 4 + 2) // 3


@dataclass(frozen=True)
class ChunkConfig:
    max_tokens: int = 200
    """Token budget of a chunk's text (the encoder reads 256; the heading and captions need room)."""
    context_words: int = 40
    """Words of text taken on each side of an image as its context."""


@dataclass(frozen=True)
class _Unit:
    text: str
    newline_before: bool


def _units(content: str, cfg: ChunkConfig, count: Callable[[str], int]) -> list[_Unit]:
    """Sentences and ``<PIC>`` marks, in order, each no longer than the budget."""
    units = []
    for line in content.split("\n"):
        pieces = re.split(f"({re.escape(PIC)})", line)
        first = True
        for piece in pieces:
            piece = piece.strip()
            if not piece:
                continue
            sentences = [piece] if piece == PIC else split_sentences(piece)
            for sentence in sentences:
                for part in _cut(sentence, cfg.max_tokens, count):
                    units.append(_Unit(part, first))
                    first = False
    return units


def _cut(sentence: str, max_tokens: int, count: Callable[[str], int]) -> list[str]:
    """``sentence`` in parts of at most ``max_tokens`` (a single word over it stands alone), cut between words
    (:func:`m2io.words.word_spans`: a Japanese sentence is cut between characters, not kept whole)."""
    if count(sentence) <= max_tokens:
        return [sentence]
    parts, start, end = [], None, 0
    for a, b in word_spans(sentence):
        if start is not None and count(sentence[start:b]) > max_tokens:
            parts.append(" ".join(sentence[start:end].split()))
            start = None
        start = a if start is None else start
        end = b
    return parts + ([" ".join(sentence[start:end].split())] if start is not None else [])


def _join(units: list[_Unit]) -> str:
    out = ""
    for i, u in enumerate(units):
        wide = i > 0 and out and u.text and is_wide(out[-1]) and is_wide(u.text[0])  # CJK sentences: no space
        out += ("" if i == 0 or wide else "\n" if u.newline_before else " ") + u.text
    return out


def chunk_document(doc: Document, cfg: ChunkConfig = ChunkConfig(),
                   count: Callable[[str], int] = approx_tokens) -> list[Chunk]:
    """Chunks of ``doc`` in order; ids are ``<doc id>::<n>``."""
    groups: list[list[_Unit]] = [[]]
    used = 0
    for unit in _units(doc.content, cfg, count):
        cost = 0 if unit.text == PIC else count(unit.text)
        if groups[-1] and used + cost > cfg.max_tokens and any(u.text != PIC for u in groups[-1]):
            groups.append([])
            used = 0
        groups[-1].append(unit)
        used += cost
    chunks, image_iter = [], iter(doc.image_ids)
    for n, group in enumerate(g for g in groups if g):
        ids = [next(image_iter) for u in group if u.text == PIC]
        chunks.append(Chunk(f"{doc.id}::{n}", doc.id, _join(group), ids))
    return chunks


def image_context_halves(doc: Document, cfg: ChunkConfig = ChunkConfig()) -> dict[str, tuple[str, str]]:
    """For each image of ``doc``, up to ``context_words`` words of text above it and below it, apart.

    An image shown twice keeps the context of its first place. Other ``<PIC>`` marks are not text.

    >>> from m2io.types import Document
    >>> image_context_halves(Document("d", "Open it. <PIC> Click OK. <PIC> Done.", ["a", "b"]), ChunkConfig(context_words=2))
    {'a': ('Open it.', 'Click OK.'), 'b': ('Click OK.', 'Done.')}
    """
    parts = re.split(re.escape(PIC), doc.content)
    halves: dict[str, tuple[str, str]] = {}
    for k, image_id in enumerate(doc.image_ids):
        if k + 1 >= len(parts) or image_id in halves:
            continue
        above = " ".join(" ".join(parts[: k + 1]).split()[-cfg.context_words:])
        below = " ".join(" ".join(parts[k + 1:]).split()[: cfg.context_words])
        halves[image_id] = (above, below)
    return halves


def image_contexts(doc: Document, cfg: ChunkConfig = ChunkConfig()) -> dict[str, str]:
    """For each image of ``doc``, up to ``context_words`` words of text before and after it, joined."""
    return {i: f"{above} {below}".strip() for i, (above, below) in image_context_halves(doc, cfg).items()}
