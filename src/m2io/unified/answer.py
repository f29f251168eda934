"""``m2io ask --generator unified``: the unified model writes the answer from what the pipeline
retrieved, each image step a retrieved figure or a drawn one.

The M2IO pipeline retrieves and drafts (hybrid search, the section ranker, the ``focused``
answerer, candidate figures); the grounded prompt (:mod:`m2io.unified.grounded`) gives the model
the passage with its figures in place and every candidate's caption; the model writes text steps
and image steps, each either ``<ref_k>`` (candidate k is shown, as retrieved) or the image
tokenizer's codes (a drawn image, decoded to PNG and matched against the index's figures: at
``snap_threshold`` or above the real figure is shown beside it). The answer also reads as the
pipeline's :class:`~m2io.types.InterleavedAnswer` (text steps as segments, references as
placements), so the benchmark scores it with the inserters' own metrics. A generation that does
not parse is rendered as far as it goes, with its damage.

>>> answer = UnifiedAnswerer(UnifiedModel.load("models/unified"), retriever).ask("How do I crop?")  # doctest: +SKIP
"""
from __future__ import annotations

import math
import re
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from m2io.unified.model import UnifiedModel
from m2io.unified.tokenizer import TokenizerError, png_bytes
from m2io.unified.written_lines import norm, text_lines


@dataclass
class Figure:
    """The corpus figure nearest a generated image."""

    image_id: str
    dataset: str
    caption: str
    path: str
    similarity: float
    shown: bool
    """True when it is shown in place of the generated image (similarity at the threshold or above)."""


@dataclass
class AnswerStep:
    kind: str
    """``text``, ``image`` (drawn) or ``reference`` (candidate ``ref``, shown as ``figure``)."""
    text: str = ""
    png: bytes = b""
    codes: list[int] = field(default_factory=list)
    figure: Figure | None = None
    ref: int | None = None


@dataclass
class UnifiedAnswer:
    question: str
    steps: list[AnswerStep]
    damage: list[str]
    well_formed: bool
    tokens_generated: int
    timings: dict[str, float]
    snap_threshold: float
    interleaved: object = None
    """The answer as the pipeline's :class:`~m2io.types.InterleavedAnswer` (text steps, referenced figures)."""
    candidates: list = field(default_factory=list)
    provenance: list = field(default_factory=list)
    """The passage's provenance (per pipeline segment) the prompt was built from."""
    prompts: list[str] = field(default_factory=list)
    """The user message of each passage window, in order (one unless ``UnifiedConfig.windows`` is more)."""
    loops_broken: int = 0
    """Tokens forbidden because they would have begun a loop (``UnifiedConfig.loop_break``): 0 for most answers."""
    lines_forbidden: int = 0
    """Text steps kept from beginning a used-up passage line (``UnifiedConfig.line_budget``): 0 for most answers."""
    partial: bool = False
    """The answer so far, after some of its windows (:meth:`UnifiedAnswerer.stream`): not yet well formed, no
    ``interleaved``."""

    @property
    def prompt(self) -> str:
        return "\n\n".join(self.prompts)


_LOOP = re.compile(r"(.{1,8}?)\1{15,}|(.{9,48}?)\2{3,}", re.S)


def cut_loop(text: str, source: str = "") -> tuple[str, bool]:
    """A text step without a degenerate loop (greedy decoding that repeats a unit of at most 8 characters 16
    times or more, e.g. "1000000000...", or a longer one of up to 48 four times or more, e.g. "Filter options
    Filter options ...", that ``source``, the prompt, does not hold): cut back to the last sentence end before
    the loop ("" if none), and whether it looped. Dropping the step beats showing it.

    >>> cut_loop("Open it. Larger than 1" + "0" * 40)
    ('Open it.', True)
    >>> cut_loop("Select codec. Filter options" + " Filter options" * 6)
    ('Select codec.', True)
    >>> cut_loop("Choose 2000 or 3000.")
    ('Choose 2000 or 3000.', False)
    >>> cut_loop("Dashes: " + "-" * 20, source="Dashes: " + "-" * 30)  # copied, not a loop
    ('Dashes: --------------------', False)
    """
    loop = _LOOP.search(text)
    if loop is None or loop.group(0) in source:
        return text, False
    head = text[:loop.start()] + " "  # a loop may begin right after the sentence's full stop
    end = max(head.rfind(". "), head.rfind("! "), head.rfind("? "), head.rfind(": "))
    return (head[:end + 1].strip() if end >= 0 else ""), True


def step_loop(steps, repeats: int = 3, longest: int = 8, passage: list[str] = ()) -> int | None:
    """Where a loop of whole text steps begins (the index of its second round), or None: a run of 1 to
    ``longest`` steps written ``repeats`` times running ("Filter options | Filter options | Filter options");
    a greedy model that falls into it writes it to the budget, one short step at a time, so no step loops by
    itself. Runs of 4 and 5 steps came round 4 times and more on Wireshark ("Follow → HTTP Stream | Analyze |
    Same functionality... | See the wiki page..."), so pairs alone are not enough. A run that ``passage`` (the
    window's text lines) itself holds that many times running is copied, not looped (a table's "-" cells).

    >>> from m2io.unified.trajectory import Step
    >>> step_loop([Step("text", "Open it."), *[Step("text", "Filter options")] * 4])
    2
    >>> step_loop([Step("text", "A"), Step("text", "B"), Step("text", "A"), Step("text", "B"), Step("text", "A"),
    ...            Step("text", "B")])
    2
    >>> step_loop([Step("text", "Open it."), *[Step("text", t) for t in "ABCD"] * 3])
    5
    >>> step_loop([Step("text", "Note"), Step("text", "Open it."), Step("text", "Note")]) is None
    True
    >>> step_loop([s for k in (1, 2, 3) for s in (Step("text", "Click Next."), Step("reference", ref=k))]) is None
    True
    >>> step_loop([Step("text", "Port"), *[Step("text", "-")] * 3], passage=["Port", "-", "-", "-", "Host"]) is None
    True
    >>> step_loop([Step("text", "Port"), *[Step("text", "-")] * 4], passage=["Port", "-", "-", "-", "Host"])
    2
    """
    texts = [(s.kind, norm(s.text).lower() if s.kind == "text" else s.ref if s.kind == "reference"
              else tuple(s.codes or ())) for s in steps]  # two figures are two steps, not one step twice
    lines = [norm(line).lower() for line in passage]
    for period in range(1, longest + 1):
        for i in range(len(texts) - period * repeats + 1):
            unit = texts[i:i + period]
            if unit[0][0] != "text":
                continue
            times = 0
            while texts[i + times * period:i + (times + 1) * period] == unit:
                times += 1
            if times >= repeats and not _holds(lines, [t for kind, t in unit if kind == "text"] * times):
                return i + period
    return None


def _holds(lines: list[str], run: list[str]) -> bool:
    """Whether ``run`` stands in ``lines`` as consecutive lines."""
    return any(lines[j:j + len(run)] == run for j in range(len(lines) - len(run) + 1))


def nearest_figure(retriever, visual, threshold: float) -> Figure | None:
    """The index's figure nearest ``visual`` (an image's unit visual vector from the index's image encoder)."""
    hits = retriever.store.search_images(visual, 1, "visual")
    rows = retriever.store.images([h.id for h in hits])
    if not hits or hits[0].id not in rows:
        return None
    row, score = rows[hits[0].id], float(hits[0].score)
    return Figure(row.image_id, row.dataset, row.caption, row.path, round(score, 4), score >= threshold)


def figure_of(candidate, dataset: str) -> Figure:
    im = candidate.image
    return Figure(im.id, dataset, im.caption or "", str(im.path) if im.path else "", 1.0, True)


def as_interleaved(steps: list[AnswerStep], candidates) -> tuple[list[str], list]:
    """Text steps as segments, and each reference as a placement of its candidate after the text before it
    (the first figure never above the first text step, as the pipeline's ``lead_text``)."""
    from m2io.pipeline import lead_with_text
    from m2io.types import Placement

    image_of = {c.k: c.image.id for c in candidates}
    segments, placements = [], []
    for s in steps:
        if s.kind == "text":
            segments.append(s.text)
        elif s.kind == "reference" and s.ref in image_of and image_of[s.ref] not in {p.image_id for p in placements}:
            placements.append(Placement(image_of[s.ref], len(segments)))
    return segments, lead_with_text(placements, len(segments))


@dataclass(frozen=True)
class UnifiedConfig:
    max_new_tokens: int | None = None
    """The generation budget; None: 320 tokens for each 110 words of passage, at least 320 (a passage of 110 words
    is about 170 tokens with its tags, 99th percentile: the answer copies it and ends well within the budget)."""
    passage_words: int | None = None
    """Words of the pipeline's answer put in the prompt (and so, at most, copied); None: as the model was trained
    (its ``GroundedConfig.passage_words``). More words, a fuller answer and a slower one."""
    temperature: float = 0.0
    """Text (and the choice of figure) greedy."""
    image_temperature: float | None = 1.0
    """Drawn images' codes sampled at this temperature (greedy ones collapse onto one picture)."""
    lookup: int | None = 20
    """Prompt-lookup decoding, this many candidate tokens a pass (None: off): the same greedy text, 3x faster
    copying; 20 answers Wireshark's user questions in 0.91x the time of 10, 30 in 0.96x (bench/RESULTS.md)."""
    snap_threshold: float = 0.8
    seed: int = 0
    loop_break: bool = False
    """Forbid the token that would begin a loop the prompt does not hold (:mod:`m2io.unified.loop_break`). Off:
    on the shipped model it turns a loop into a near-loop ("Filter options | Filter mode | Filter options ...")
    that runs to the budget and hides from the loop stop (bench/RESULTS.md); kept for that ablation."""
    passage_end: bool = True
    """End each window's answer where its passage ends: once the passage's last line is written, no new text step
    (:mod:`m2io.unified.passage_end`; a figure may still follow). With ``line_budget``, on every Wireshark question
    (test, 130): well formed 0.938 -> 0.992, the text and figures no worse (bench/RESULTS.md)."""
    line_budget: bool = True
    """Write each passage line at most as often as the passage holds it: no text step begins a line already used up
    (:mod:`m2io.unified.line_budget`), against the mid-passage loop ("Setup Frame | Setup Frame | ...")."""
    windows: int = 6
    """Passage windows of ``passage_words`` each, one prompt and one generation each, the answers one after the
    other: a longer answer from prompts of the length the model learned (a passage of 200 words in one prompt makes
    the model loop and drop figures). Six cover the ``focused`` answer's 600 words, so the answer copies all of
    it; a shorter passage needs fewer (chosen on the Debian Handbook: bench/RESULTS.md)."""


class UnifiedAnswerer:
    def __init__(self, model: UnifiedModel, retriever, config: UnifiedConfig = UnifiedConfig(), pipeline=None,
                 grounded=None):
        """``pipeline``: the :class:`~m2io.pipeline.Pipeline` that retrieves and drafts (default: the default
        components over ``retriever``); ``grounded``: the prompt's :class:`~m2io.unified.grounded.GroundedConfig`
        (default: the one the model was trained on)."""
        self.model, self.retriever, self.config = model, retriever, config
        self.snap_threshold = config.snap_threshold
        self.grounded = grounded or model.grounded_config()
        if config.passage_words is not None:
            if config.passage_words < 1:
                raise ValueError(f"UnifiedConfig.passage_words must be at least 1, not {config.passage_words}")
            self.grounded = replace(self.grounded, passage_words=config.passage_words)
        if config.windows < 1:
            raise ValueError(f"UnifiedConfig.windows must be at least 1, not {config.windows}")
        self._pipeline = pipeline

    @property
    def max_new_tokens(self) -> int:
        """The generation budget: the config's, or one that fits the passage the prompt holds."""
        if self.config.max_new_tokens is not None:
            return self.config.max_new_tokens
        return max(320, math.ceil(320 * self.grounded.passage_words / 110))

    @property
    def pipeline(self):
        if self._pipeline is None:
            from m2io.components import ComponentConfig, Components
            from m2io.insert.source import SourceInserter
            from m2io.pipeline import Pipeline

            components = Components(ComponentConfig(), self.retriever.models.text)
            self._pipeline = Pipeline(self.retriever, components.answerer(self.retriever), SourceInserter())
        return self._pipeline

    def ask(self, question: str, image: str | Path | None = None) -> UnifiedAnswer:
        """Draft with the pipeline and answer from the draft; without a retriever, closed-book (the question alone,
        the query image's codes before it), as the first unified models were trained."""
        *_, answer = self.stream(question, image)
        return answer

    def stream(self, question: str, image: str | Path | None = None) -> Iterator[UnifiedAnswer]:
        """:meth:`ask`, window by window: the answer so far after each passage window but the last
        (``partial``), then the whole answer (the same as :meth:`ask`'s). A long section takes six generations;
        a reader can start on the first window's text and figures while the others are written."""
        t0 = time.perf_counter()
        if self.retriever is None:
            user = question
            if image is not None:
                from m2io.encoders.image import load_image

                user = self.model.image_text(self.model.image_codes([load_image(image)])[0]) + "\n" + question
            yield from self._answers(question, [user], None, [], time.perf_counter() - t0)
            return
        draft = self.pipeline.draft(question, image)
        yield from self.stream_draft(draft, time.perf_counter() - t0)

    def answer_draft(self, draft, draft_seconds: float | None = None) -> UnifiedAnswer:
        """The unified model's answer from a pipeline draft (its retrieval, passage and candidates): one prompt per
        passage window (``UnifiedConfig.windows``), the windows' answers one after another."""
        *_, answer = self.stream_draft(draft, draft_seconds)
        return answer

    def stream_draft(self, draft, draft_seconds: float | None = None) -> Iterator[UnifiedAnswer]:
        """:meth:`answer_draft`, window by window (as :meth:`stream`)."""
        from m2io.unified.grounded import grounded_user, passage_windows

        t0 = time.perf_counter()
        candidates = draft.candidates[:len(self.model.vocab.ref_ids)]
        windows = passage_windows(draft.segments, candidates, draft.provenance, self.grounded, self.config.windows)
        users = [grounded_user(draft.question, w, candidates, self.grounded) for w in windows]
        seconds = draft_seconds if draft_seconds is not None else sum(draft.timings.values())
        yield from self._answers(draft.question, users, draft, candidates, seconds + time.perf_counter() - t0,
                                 windows)

    def _answers(self, question: str, users: list[str], draft, candidates: list,
                 prompt_seconds: float, windows: list | None = None) -> Iterator[UnifiedAnswer]:
        """One generation per prompt of ``users``; the answer so far after each but the last, then the whole.
        ``windows``: each prompt's passage window (its steps), for the passage rules (None: no passage)."""
        from m2io.types import InterleavedAnswer

        cfg = self.config
        t1 = time.perf_counter()
        t0 = t1 - prompt_seconds
        datasets = {c.k: self._dataset_of(draft, c.image.id) for c in candidates} if draft is not None else {}
        by_number = {c.k: c for c in candidates}
        provenance = list(draft.provenance) if draft is not None else []
        steps, damage, generated = [], [], []
        seconds = {"generate": 0.0, "decode_and_match": 0.0}
        for n, user in enumerate(users, 1):
            # the seed is offset by the prompt, so an answer repeats itself but two questions draw different images
            seed = None if cfg.seed is None else (cfg.seed + zlib.crc32(user.encode())) % 2**31
            t = time.perf_counter()
            (ids, traj), = self.model.generate([user], max_new_tokens=self.max_new_tokens, temperature=cfg.temperature,
                                               seed=seed, image_temperature=cfg.image_temperature,
                                               references=len(candidates), lookup=cfg.lookup,
                                               loop_break=cfg.loop_break,
                                               passages=None if windows is None else [windows[n - 1]],
                                               passage_end=cfg.passage_end, line_budget=cfg.line_budget)
            generated.append((ids, traj))
            seconds["generate"] += time.perf_counter() - t
            t = time.perf_counter()
            damage += traj.damage
            loop_at = step_loop(traj.steps, passage=[] if windows is None else text_lines(windows[n - 1]))
            if loop_at is not None:
                damage.append(f"text steps looped from step {len(steps) + loop_at + 1}: cut at the loop")
            for s in traj.steps[:loop_at]:
                if s.kind == "text":
                    text, looped = cut_loop(s.text, user)
                    if looped:
                        damage.append(f"text step {sum(x.kind == 'text' for x in steps) + 1} looped: cut at the loop")
                    if text:
                        steps.append(AnswerStep("text", text=text))
                elif s.kind == "reference":
                    c = by_number.get(s.ref)
                    if c is None:  # the grammar offers only the prompt's candidates; a model without it may not
                        damage.append(f"reference {s.ref} names no candidate (there are {len(candidates)})")
                        continue
                    if any(x.kind == "reference" and x.ref == s.ref for x in steps):
                        continue  # shown by an earlier window (the grammar keeps one window to each figure once)
                    steps.append(AnswerStep("reference", ref=s.ref, figure=figure_of(c, datasets[s.ref])))
                else:
                    steps.append(self._drawn(s.codes, damage, sum(x.kind == "image" for x in steps)))
            seconds["decode_and_match"] += time.perf_counter() - t
            if n < len(users):
                timings = {"retrieve_and_draft": t1 - t0, **seconds, "total": time.perf_counter() - t0}
                yield UnifiedAnswer(question, list(steps), list(damage), False, sum(len(i) for i, _ in generated),
                                    timings, self.snap_threshold, None, candidates, provenance, users[:n],
                                    sum(t.loops_broken for _, t in generated),
                                    sum(t.lines_forbidden for _, t in generated), partial=True)
        segments, placements = as_interleaved(steps, candidates)
        sources, labels = self.pipeline.sources(draft, placements) if draft is not None else ([], [])
        interleaved = InterleavedAnswer(segments, placements, sources, labels)
        timings = {"retrieve_and_draft": t1 - t0, **seconds, "total": time.perf_counter() - t0}
        yield UnifiedAnswer(question, steps, damage, not damage and all(t.well_formed for _, t in generated),
                            sum(len(ids) for ids, _ in generated), timings, self.snap_threshold, interleaved,
                            candidates, provenance, users, sum(t.loops_broken for _, t in generated),
                            sum(t.lines_forbidden for _, t in generated))

    @staticmethod
    def _dataset_of(draft, image_id: str) -> str:
        return next((r.dataset for r in draft.results if any(im.image_id == image_id for im in r.images)),
                    next((c.origin.section.split("/", 1)[0] for c in draft.candidates
                          if c.image.id == image_id and c.origin is not None), ""))

    def _drawn(self, codes: list[int], damage: list[str], k: int) -> AnswerStep:
        try:
            picture = self.model.decode_image(codes)
        except TokenizerError as e:  # a codec without a decoder (Chameleon): keep the codes, say why
            damage.append(f"image {k} not decoded: {e}")
            return AnswerStep("image", codes=codes)
        figure = None
        if self.retriever:
            visual = self.retriever.models.image.encode([picture]).visual[0]
            figure = nearest_figure(self.retriever, visual, self.snap_threshold)
        return AnswerStep("image", png=png_bytes(picture), codes=codes, figure=figure)
