"""Answers composed from sections: the best section of the manual, in its own reading order.

Chunks are for recall; the ranked sections (:mod:`m2io.sections.rank`) are what answers. Two answerers:

- ``section`` (a baseline): the best section verbatim, whole.
- ``focused`` (the default): the best section in reading order; a section longer than
  ``max_words`` is cut to its most relevant passage (a run of whole paragraphs, chosen by the
  question's cosine with its sentences); a best section shorter than ``short_words`` takes the start
  of the next section when the reranker scores that one nearly as high (``second_margin``), so a
  stub does not answer alone. Nothing else of other sections is added.

Every segment carries its provenance (section, chunk, position there), so the inserter knows where
each of the section's figures stood relative to the answer's sentences.

>>> window([0.1, 0.9, 0.8, 0.1], [5, 5, 5, 5], [0, 1, 1, 2], max_words=10)
(1, 3)
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from m2io.answer.base import Answer
from m2io.types import Origin
from m2io.words import word_count


@dataclass(frozen=True)
class ComposeConfig:
    max_words: int = 600
    """A best section longer than this is cut to its most relevant run of paragraphs of about this length (chosen on
    the validation manuals: at 400, 2 of 38 Debian Handbook answers lost figures and text the gold has)."""
    short_words: int = 40
    """A best section shorter than this may be followed by the start of the next section."""
    second_margin: float = 1.0
    """... when that section's ranking score is within this of the best one's."""
    second_words: int = 120
    """Words taken from the second section (whole paragraphs, at least one)."""


def window(relevance: list[float], words: list[int], lines: list[int], max_words: int) -> tuple[int, int]:
    """The run of whole paragraphs (``lines``: each segment's paragraph) of at most ``max_words`` words (at least
    one paragraph) whose best three sentences are most relevant; ``(start, end)`` segment indices, end exclusive."""
    paragraphs: list[list[int]] = []
    for i, line in enumerate(lines):
        if not paragraphs or line != lines[i - 1]:
            paragraphs.append([])
        paragraphs[-1].append(i)
    best, best_score = (0, 0), -np.inf
    for p in range(len(paragraphs)):
        q, total = p, 0
        while q < len(paragraphs) and (q == p or total + sum(words[i] for i in paragraphs[q]) <= max_words):
            total += sum(words[i] for i in paragraphs[q])
            q += 1
        s, e = paragraphs[p][0], paragraphs[q - 1][-1] + 1
        score = float(np.mean(sorted(relevance[s:e], reverse=True)[:3]))
        if score > best_score + 1e-9:
            best, best_score = (s, e), score
    return best


class SectionAnswerer:
    """``section``: the best section verbatim (``ranker``: a :class:`m2io.sections.rank.SectionRanker`)."""

    name = "section"

    def __init__(self, ranker, encoder=None, config: ComposeConfig = ComposeConfig()):
        self.ranker, self.encoder, self.config = ranker, encoder, config

    def _spans(self, question: str, ranking, sections) -> list[tuple[str, int, int]]:
        best = sections[ranking[0].key]
        return [(best.key, 0, len(best.segments))]

    def answer(self, question: str, results) -> Answer:
        start = time.perf_counter()
        answer = self.compose(question, self.ranker.rank(question, results) if results else [])
        answer.seconds = time.perf_counter() - start
        return answer

    def compose(self, question: str, ranking) -> Answer:
        """The answer from a ranking of sections (``answer`` ranks them first; a caller may reorder them)."""
        start = time.perf_counter()
        keys = [r.key for r in ranking[:2]]
        sections = self.ranker.reader.read(keys) if keys else {}
        if not ranking or ranking[0].key not in sections:
            return Answer("", ranking=ranking, seconds=time.perf_counter() - start, segments=[], provenance=[])
        spans = self._spans(question, ranking, sections)
        segments: list[str] = []
        provenance: list[Origin | None] = []
        texts, chunks = [], []
        for key, a, b in spans:
            s = sections[key]
            segments += s.segments[a:b]
            provenance += [s.origin(i) for i in range(a, b)]
            texts.append(s.text(a, b))
            chunks += s.chunk_of[a:b]
        return Answer("\n".join(texts), list(dict.fromkeys(chunks)), seconds=time.perf_counter() - start,
                      segments=segments, provenance=provenance, sections=[k for k, _, _ in spans], ranking=ranking)


class FocusedAnswerer(SectionAnswerer):
    """``focused``: the best section, cut to its most relevant passage when long, helped by the next when a stub."""

    name = "focused"

    def _spans(self, question: str, ranking, sections) -> list[tuple[str, int, int]]:
        cfg = self.config
        best = sections[ranking[0].key]
        n = len(best.segments)
        spans = [(best.key, 0, n)]
        if best.words > cfg.max_words and self.encoder is not None and n > 1:
            vecs = self.encoder.encode([question, *best.segments])
            relevance = (vecs[1:] @ vecs[0]).tolist()
            a, b = window(relevance, [word_count(s) for s in best.segments], best.line_of, cfg.max_words)
            spans = [(best.key, a, b)]
        elif (best.words < cfg.short_words and len(ranking) > 1 and ranking[1].key in sections
              and ranking[1].score >= ranking[0].score - cfg.second_margin):
            second = sections[ranking[1].key]
            end, total = 0, 0
            while end < len(second.segments) and (end == 0 or total + word_count(second.segments[end]) <= cfg.second_words
                                                  or second.line_of[end] == second.line_of[end - 1]):
                total += word_count(second.segments[end])
                end += 1
            if end:
                spans.append((second.key, 0, end))
        return spans
