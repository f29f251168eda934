"""The M2IO pipeline: retrieve, write a text answer, place the retrieved images in it.

Every answer segment carries its provenance (section, chunk, position there): the section
answerers know it, any other text (extractive sentences, an LLM's, ``onepass``'s) is aligned with
the retrieved sections (:mod:`m2io.answer.provenance`). Candidates (``PipelineConfig.candidates``):

- ``answer`` (default): the figures of the sections the answer draws on, in their order, then the
  other images of the top-``k`` retrieved chunks, each with its section, its slot there and the
  index's side vectors (so placing it encodes nothing of it);
- ``retrieved``: the distinct images of the top-``k`` retrieved chunks in rank order (the pipeline
  before sections; kept to measure against).

The ``onepass`` inserter writes the answer and places the images in one call (the MRAMG LLM
strategy), so it replaces the answer stage; every other inserter places images in the answer the
answerer wrote, which it never changes.

>>> candidates_from([])
[]
>>> pipeline = Pipeline(Retriever.open("index/gimp"), answerer, inserter)     # doctest: +SKIP
>>> pipeline.ask("How do I align layers?").answer.placements                  # doctest: +SKIP
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from m2io.answer.base import Answer
from m2io.index.sources import source_label
from m2io.insert.base import InsertResult, Inserter
from m2io.insert.onepass import OnePassInserter, context_with_placeholders
from m2io.types import Candidate, Image, InterleavedAnswer, Origin, Placement


@dataclass(frozen=True)
class PipelineConfig:
    k: int = 10
    """How many chunks to retrieve (their sections are what the section ranker chooses from; it was trained at 10)."""
    max_candidates: int = 6
    """Candidates offered to the inserter: at least this many where there are, the answer's figures first."""
    candidates: str = "answer"
    """``answer``: the answer's sections' figures first, then the retrieved others; ``retrieved``: the images of
    the retrieved chunks in rank order, as before sections."""
    section_figures: int = 12
    """At most this many figures of the answer's sections."""
    distractors: int = 2
    """At least this many retrieved images of other sections join the answer's figures (where there are)."""
    sources: int = 5
    """Sources listed with an answer: the sections it draws on and its figures come from, then the other retrieved
    ones up to this many."""
    lead_text: bool = True
    """An answer opens with text: a figure placed before the first sentence moves right after it (manuals often
    put a figure under the heading; under a question, the page should open with the answer)."""


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


def section_candidates(reader, results, used: list[str], config: PipelineConfig = PipelineConfig()) -> list[Candidate]:
    """The figures of the sections ``used`` (in order), then the other retrieved images, each with its origin."""
    from m2io.sections.rank import sections_of

    keys = list(dict.fromkeys([*used, *sections_of(results)]))
    sections = reader.read(keys)
    picked: list[tuple[str, object]] = []
    for key in used:
        if key in sections:
            picked += [(key, f) for f in sections[key].figures][: config.section_figures - len(picked)]
    total = max(config.max_candidates, len(picked) + config.distractors)
    seen = {(key.split("/", 1)[0], f.image_id) for key, f in picked}
    for r in results:
        section = sections.get(r.doc_id)
        figures = {f.image_id: f for f in section.figures} if section else {}
        for im in r.images:
            if len(picked) >= total:
                break
            if (r.dataset, im.image_id) not in seen and im.image_id in figures:
                seen.add((r.dataset, im.image_id))
                picked.append((r.doc_id, figures[im.image_id]))
    out = []
    for k, (key, f) in enumerate(picked, 1):
        row = f.row
        run = sum(1 for g in sections[key].figures if g.slot == f.slot)
        out.append(Candidate(k, Image(f.image_id, Path(row.path) if row.path else None, row.caption), row.context,
                             row.above, row.below, Origin(key, row.chunk_id, f.slot, 1.0, run), row.side))
    return out


def lead_with_text(placements: list[Placement], n_segments: int) -> list[Placement]:
    """Figures placed before the first segment move right after it, ahead of the figures already there.

    >>> lead_with_text([Placement("a", 0), Placement("b", 1), Placement("c", 2)], 3)
    [Placement(image_id='a', slot=1), Placement(image_id='b', slot=1), Placement(image_id='c', slot=2)]
    """
    if n_segments == 0 or all(p.slot for p in placements):
        return placements
    moved = [Placement(p.image_id, 1) for p in placements if p.slot == 0]
    return moved + [p for p in placements if p.slot != 0]


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
    provenance: list = field(default_factory=list)
    """Per segment, its :class:`m2io.types.Origin` (or None)."""


class Pipeline:
    def __init__(self, retriever, answerer, inserter: Inserter, config: PipelineConfig = PipelineConfig()):
        self.retriever, self.answerer, self.inserter, self.config = retriever, answerer, inserter, config

    def _provenance(self, answer: Answer, segments: list[str], results) -> list:
        if answer.provenance is not None and len(answer.provenance) == len(segments):
            return list(answer.provenance)
        reader = getattr(self.retriever, "sections", None)
        if reader is None or not results:
            return [None] * len(segments)
        from m2io.answer.provenance import align
        from m2io.sections.rank import sections_of

        keys = list(dict.fromkeys([*answer.sections, *sections_of(results)]))[:6]
        return align(segments, reader.read(keys), self.retriever.models.text)

    def _candidates(self, results, provenance: list) -> list[Candidate]:
        reader = getattr(self.retriever, "sections", None)
        if self.config.candidates == "retrieved" or reader is None:
            return candidates_from(results, self.config.max_candidates)
        from m2io.answer.provenance import sections_used

        return section_candidates(reader, results, sections_used(provenance), self.config)

    def draft(self, question: str, image: str | Path | None = None) -> Draft:
        """Retrieve and write the text answer (``onepass`` also places its images here)."""
        t0 = time.perf_counter()
        results = self.retriever.search(text=question or None, image=image, k=self.config.k)
        t1 = time.perf_counter()
        inserted = None
        if isinstance(self.inserter, OnePassInserter):
            candidates = candidates_from(results, self.config.max_candidates)
            context = [context_with_placeholders(r.text, r.pic_ids, candidates) for r in results]
            out = self.inserter.generate(question, context, candidates)
            segments, inserted = out.segments, out.result
            text_answer = Answer(inserted.text or "", [r.chunk_id for r in results])
            provenance = self._provenance(text_answer, segments, results)
            timings = {"retrieve": t1 - t0, "answer": 0.0, "insert": time.perf_counter() - t1}
        else:
            text_answer = self.answerer.answer(question, results)
            segments = text_answer.segment_list()
            ranker = getattr(self.answerer, "ranker", None)
            rank = ranker.last_seconds if ranker is not None else 0.0
            provenance = self._provenance(text_answer, segments, results)
            candidates = self._candidates(results, provenance)
            timings = {"retrieve": t1 - t0, "rank": rank, "answer": time.perf_counter() - t1 - rank}
        return Draft(question, str(image) if image else None, results, candidates, text_answer, segments, inserted,
                     timings, provenance)

    def place(self, draft: Draft) -> AskResult:
        """Place the draft's candidates in its text (a no-op for a draft written with its images)."""
        timings = dict(draft.timings)
        inserted = draft.inserted
        if inserted is None:
            t = time.perf_counter()
            inserted = self.inserter.insert(draft.question, draft.segments, draft.candidates, draft.provenance)
            if self.config.lead_text:
                inserted.placements = lead_with_text(inserted.placements, len(draft.segments))
            timings["insert"] = time.perf_counter() - t
        timings["total"] = sum(timings.values())
        sources, labels = self.sources(draft, inserted.placements)
        return AskResult(draft.question, draft.image, InterleavedAnswer(draft.segments, inserted.placements, sources,
                                                                        labels, list(draft.provenance)),
                         draft.candidates, draft.results, draft.text_answer, inserted, timings)

    def sources(self, draft: Draft, placements: list[Placement]) -> tuple[list[str], list[str]]:
        """The sources listed with an answer of ``draft`` showing ``placements``, and their labels: the answer's
        sections and its figures' first, then retrieved others, ``config.sources`` at least where there are."""
        used = list(dict.fromkeys(o.section for o in draft.provenance if o is not None))
        placed = {x.image_id for x in placements}
        shown = list(dict.fromkeys([*used, *(c.origin.section for c in draft.candidates
                                             if c.origin is not None and c.image.id in placed)]))
        sources = list(dict.fromkeys([*shown, *(r.doc_id for r in draft.results)]))[:max(self.config.sources,
                                                                                          len(shown))]
        return sources, [source_label(getattr(self.retriever, "sources", {}), s) for s in sources]

    def ask(self, question: str, image: str | Path | None = None) -> AskResult:
        return self.place(self.draft(question, image))
