"""Extractive answers: the retrieved sentences most relevant to the question, in reading order.

Sentences of the top retrieved chunks are scored by cosine similarity to the question and
picked greedily with maximal marginal relevance (``lambda * relevance - (1 - lambda) *
redundancy``), up to a word budget; the picked sentences keep their order in the sources, so
the answer reads like the manual. No language model is called; every sentence is grounded.

>>> gen = ExtractiveAnswerer(TextEncoder())                     # doctest: +SKIP
>>> gen.answer("How do I crop?", retriever.search("How do I crop?", k=5)).text   # doctest: +SKIP
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from m2io.answer.base import Answer
from m2io.corpus.chunk import split_sentences
from m2io.types import PIC
from m2io.words import word_count

__all__ = ["Answer", "ExtractiveAnswerer", "ExtractiveConfig"]


@dataclass(frozen=True)
class ExtractiveConfig:
    max_words: int = 120
    """Stop adding sentences past this many words."""
    mmr_lambda: float = 0.7
    min_words: int = 4
    """Sentences shorter than this (headings, fragments) are not picked."""
    chunks: int = 5
    """How many of the top retrieved chunks to read."""


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, text_encoder, config: ExtractiveConfig = ExtractiveConfig()):
        self.encoder, self.config = text_encoder, config

    def answer(self, question: str, results) -> Answer:
        """``results``: retrieval results (anything with ``chunk_id`` and ``text``), best first."""
        start = time.perf_counter()
        cfg = self.config
        sentences: list[tuple[int, int, str, str]] = []  # (chunk rank, position, chunk id, sentence)
        for rank, r in enumerate(results[: cfg.chunks]):
            lines = r.text.replace(PIC, "\n").split("\n")
            for line in (lines[1:] if rank == 0 and len(lines) > 1 and _is_heading(lines[0]) else lines):
                for s in split_sentences(line):
                    if word_count(s) >= cfg.min_words:
                        sentences.append((rank, len(sentences), r.chunk_id, s))
        if not sentences:
            return Answer("", seconds=time.perf_counter() - start)
        vecs = self.encoder.encode([question] + [s for *_, s in sentences])
        q, sv = vecs[0], vecs[1:]
        relevance = sv @ q
        chosen: list[int] = []
        words = 0
        while words < cfg.max_words and len(chosen) < len(sentences):
            redundancy = (sv @ sv[chosen].T).max(axis=1) if chosen else np.zeros(len(sentences))
            mmr = cfg.mmr_lambda * relevance - (1 - cfg.mmr_lambda) * redundancy
            mmr[chosen] = -np.inf
            best = int(np.argmax(mmr))
            chosen.append(best)
            words += word_count(sentences[best][3])
        picked = sorted(chosen, key=lambda i: (sentences[i][0], sentences[i][1]))
        sources = list(dict.fromkeys(sentences[i][2] for i in picked))
        return Answer(" ".join(sentences[i][3] for i in picked), sources, seconds=time.perf_counter() - start)


def _is_heading(line: str) -> bool:
    """A manual document's first line is its heading path ('Align > Options'): not answer text."""
    return " > " in line or (len(line.split()) <= 6 and not line.rstrip().endswith((".", "!", "?")))
