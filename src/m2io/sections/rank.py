"""Rank the sections behind a question's retrieved chunks: chunks are for recall, sections are what answers.

The sections are the distinct documents of the retrieved chunks, in the order of their best chunk
(the retrieval's own order, parent-document boosting included). A reranker (a cross-encoder
fine-tuned on the training manuals' own question/section pairs: :mod:`m2io.sections.reranker`)
reads the question with each of the first ``RankConfig.sections`` sections and gives a logit; a
section's score is that logit plus ``prior / retrieval rank``, so retrieval still breaks near-ties.
Without a reranker (or for a query with no text), the retrieval order stands.

>>> ranked = rank_by_scores(["a", "b", "c"], [0.1, 2.0, 1.9], prior=1.0)
>>> [(r.key, r.retrieval_rank, round(r.score, 2)) for r in ranked]
[('b', 2, 2.5), ('c', 3, 2.23), ('a', 1, 1.1)]
"""
from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RankConfig:
    sections: int = 5
    """How many sections (in retrieval order) the reranker reads."""
    prior: float = 1.0
    """Weight of ``1 / retrieval rank`` added to the reranker's logit."""


@dataclass
class RankedSection:
    key: str
    retrieval_rank: int
    """1-based place of the section's best chunk among the sections of the retrieved chunks."""
    score: float
    rerank: float | None = None
    """The reranker's logit (None where no reranker read it)."""


def sections_of(results) -> list[str]:
    """The distinct documents of retrieval results, in the order of their best chunk."""
    return list(dict.fromkeys(r.doc_id for r in results))


def rank_by_scores(keys: list[str], logits: list[float] | None, prior: float) -> list[RankedSection]:
    """Sections ordered by ``logit + prior / rank`` (retrieval order when there are no logits)."""
    ranked = [RankedSection(k, n, (logits[n - 1] if logits else 0.0) + prior / n,
                            logits[n - 1] if logits else None) for n, k in enumerate(keys, 1)]
    return sorted(ranked, key=lambda r: (-r.score, r.retrieval_rank))


class SectionRanker:
    """``rank(question, results)``: the retrieved sections, best first (``last_seconds``: the reranker's time)."""

    def __init__(self, reader, reranker=None, config: RankConfig = RankConfig(), memo: int = 256):
        self.reader, self.reranker, self.config = reader, reranker, config
        self.last_seconds = 0.0
        self._memo: dict[tuple, list[float] | None] = {}
        self._memo_size = memo

    def rank(self, question: str, results) -> list[RankedSection]:
        keys = sections_of(results)
        head, tail = keys[: self.config.sections], keys[self.config.sections:]
        logits = None
        start = time.perf_counter()
        if self.reranker is not None and question and question.strip() and len(head) > 1:
            sections = self.reader.read(head)
            head = [k for k in head if k in sections]
            memo_key = (question, tuple(head))
            if memo_key not in self._memo:  # several answerers of one question read one ranking
                if len(self._memo) >= self._memo_size:
                    self._memo.pop(next(iter(self._memo)))
                self._memo[memo_key] = self.reranker.score(question, [sections[k] for k in head], results)
            logits = self._memo[memo_key]
        self.last_seconds = time.perf_counter() - start
        ranked = rank_by_scores(head, logits, self.config.prior)
        return ranked + [RankedSection(k, len(head) + n, float("-inf")) for n, k in enumerate(tail, 1)]
