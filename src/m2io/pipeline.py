"""The M2IO pipeline: retrieve, write a text answer, place the retrieved images in it.

Candidates are the distinct images of the top-``k`` retrieved chunks, in rank order, each with
its caption and the text around it. The ``onepass`` inserter writes the answer and places the
images in one call (the MRAMG LLM strategy), so it replaces the answer stage; every other
inserter places images in the answer the answerer wrote, which it never changes.

>>> candidates_from([])
[]
>>> pipeline = Pipeline(Retriever.open("index/gimp"), answerer, inserter)     # doctest: +SKIP
>>> pipeline.ask("How do I align layers?").answer.placements                  # doctest: +SKIP
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from m2io.answer.extractive import Answer
from m2io.index.sources import source_label
from m2io.insert.base import InsertResult, Inserter
from m2io.insert.onepass import OnePassInserter, context_with_placeholders
from m2io.insert.plan import segment_answer
from m2io.types import Candidate, Image, InterleavedAnswer


@dataclass(frozen=True)
class PipelineConfig:
    k: int = 5
    """How many chunks to retrieve."""
    max_candidates: int = 6
    """At most this many retrieved images are offered to the inserter."""


@dataclass
class AskResult:
    question: str
    image: str | None
    answer: InterleavedAnswer
    candidates: list[Candidate]
    results: list
    """The retrieval results behind the answer (:class:`m2io.retrieve.Result`)."""
    text_answer: Answer
    insert: InsertResult
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per stage: retrieve, answer, insert, total."""

    @property
    def model_calls(self) -> int:
        return self.text_answer.model_calls + self.insert.model_calls

    @property
    def tokens_generated(self) -> int:
        return self.text_answer.tokens_generated + self.insert.tokens_generated


def candidates_from(results, limit: int = 6) -> list[Candidate]:
    """The distinct images of ``results`` in rank order, numbered from 1."""
    seen: dict[str, Candidate] = {}
    for r in results:
        for im in r.images:
            if im.image_id not in seen and len(seen) < limit:
                seen[im.image_id] = Candidate(len(seen) + 1, Image(im.image_id, Path(im.path) if im.path else None,
                                                                   im.caption), im.context, im.above, im.below)
    return list(seen.values())


@dataclass
class Draft:
    """The answer's text before the images are placed (what a streaming client sees first)."""

    question: str
    image: str | None
    results: list
    candidates: list[Candidate]
    text_answer: Answer
    segments: list[str]
    inserted: InsertResult | None
    """Set when the answer was written with its images in place (``onepass``)."""
    timings: dict[str, float]


class Pipeline:
    def __init__(self, retriever, answerer, inserter: Inserter, config: PipelineConfig = PipelineConfig()):
        self.retriever, self.answerer, self.inserter, self.config = retriever, answerer, inserter, config

    def draft(self, question: str, image: str | Path | None = None) -> Draft:
        """Retrieve and write the text answer (``onepass`` also places its images here)."""
        t0 = time.perf_counter()
        results = self.retriever.search(text=question or None, image=image, k=self.config.k)
        t1 = time.perf_counter()
        candidates = candidates_from(results, self.config.max_candidates)
        inserted = None
        if isinstance(self.inserter, OnePassInserter):
            context = [context_with_placeholders(r.text, r.pic_ids, candidates) for r in results]
            out = self.inserter.generate(question, context, candidates)
            segments, inserted = out.segments, out.result
            text_answer = Answer(inserted.text or "", [r.chunk_id for r in results])
            timings = {"retrieve": t1 - t0, "answer": 0.0, "insert": time.perf_counter() - t1}
        else:
            text_answer = self.answerer.answer(question, results)
            segments = segment_answer(text_answer.text)
            timings = {"retrieve": t1 - t0, "answer": time.perf_counter() - t1}
        return Draft(question, str(image) if image else None, results, candidates, text_answer, segments, inserted,
                     timings)

    def place(self, draft: Draft) -> AskResult:
        """Place the draft's candidates in its text (a no-op for a draft written with its images)."""
        timings = dict(draft.timings)
        inserted = draft.inserted
        if inserted is None:
            t = time.perf_counter()
            inserted = self.inserter.insert(draft.question, draft.segments, draft.candidates)
            timings["insert"] = time.perf_counter() - t
        timings["total"] = sum(timings.values())
        sources = list(dict.fromkeys(r.doc_id for r in draft.results))
        labels = [source_label(getattr(self.retriever, "sources", {}), s) for s in sources]
        return AskResult(draft.question, draft.image, InterleavedAnswer(draft.segments, inserted.placements, sources,
                                                                        labels),
                         draft.candidates, draft.results, draft.text_answer, inserted, timings)

    def ask(self, question: str, image: str | Path | None = None) -> AskResult:
        return self.place(self.draft(question, image))
