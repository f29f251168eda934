"""Inserter-R1: a small policy that reads numbered answer segments and candidates and writes a plan.

The output is a short reasoning span and a compact plan, ``<think>...</think><plan><img2>@1
<img4>@3</plan>``: a few tokens per placed image, never the answer text again. The plan is
parsed strictly (:func:`m2io.insert.plan.parse_plan`); with ``constrained=True`` (local
backends) decoding follows :class:`m2io.insert.grammar.PlanGrammar`, so only valid image
numbers and slots can be written. Output that does not parse falls back to the ``rule``
inserter and the result says so (``fallback=True``). Before training it runs zero-shot on the
base model.

With ``hints`` (the default) each candidate line also shows the answer segment its caption
and context match best and the cosine of that match, the ``rule`` inserter's own evidence. A
135M policy does not learn to match captions to segments from a few hundred SFT rows (it
collapsed to one fixed plan without hints, see bench/RESULTS.md); with the evidence in view,
its job is the part a threshold cannot do: which matches to trust and where, relative to the
matching segment, an image belongs.

With ``draft`` (the default) the prompt also shows the ``rule`` inserter's whole plan as a draft,
and the policy's plan is an edit of it: keep, move, drop or add placements. A policy that copies
the draft scores what ``rule`` scores, so SFT starts near ``rule`` instead of near zero, and GRPO
samples edits around a good plan, whose rewards differ, instead of one-image plans that tie.

>>> from m2io.types import Image
>>> msgs = r1_messages("How?", ["Open it.", "Click OK."], [Candidate(1, Image("a", None, "The dialog"))],
...                    R1Config(think_tokens=0))
>>> print(msgs[1]["content"].split("Candidate images:")[1].split("\\n\\n")[0].strip())
<img1> The dialog
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from m2io.insert.base import InsertResult, Inserter
from m2io.insert.grammar import PLAN_CLOSE, PlanGrammar
from m2io.insert.plan import PlanError, format_plan, parse_plan, to_placements
from m2io.insert.rule import RuleInserter, place
from m2io.lm.base import ChatModel
from m2io.types import Candidate, Origin


@dataclass(frozen=True)
class R1Config:
    think_tokens: int = 0
    """Token budget of the reasoning span; 0 writes the plan alone (see bench/RESULTS.md)."""
    constrained: bool = True
    """Decode under the plan grammar when the backend supports it."""
    tokens_per_image: int = 10
    """Generation budget per candidate, on top of the reasoning span."""
    segment_words: int = 20
    """Each segment is shown up to this many words (short prompts: training cost is prompt tokens)."""
    context_words: int = 12
    """Words of an image's context shown after its caption."""
    temperature: float = 0.0
    hints: bool = True
    """Show each candidate's best-matching segment and its similarity (from the rule inserter)."""
    draft: bool = True
    """Show the rule inserter's plan as a draft to edit."""


Hint = tuple[int, float]
"""A candidate's best-matching segment (1-based) and the cosine of that match."""


def hints_of(sims) -> list[Hint]:
    """The best segment and similarity of each row of a (candidates, segments) similarity matrix.

    >>> import numpy as np
    >>> hints_of(np.array([[0.1, 0.7], [0.5, 0.2]]))
    [(2, 0.7), (1, 0.5)]
    """
    return [(int(row.argmax()) + 1, round(float(row.max()), 2)) for row in sims]


DRAFT_LABEL = "Draft plan (rule): "
"""What precedes the rule plan in the prompt (``(no images)`` when it places none)."""
NO_IMAGES = "(no images)"

SYSTEM = ("You insert images into an answer. You see a question, the answer split into numbered segments, "
          "and candidate images with captions. Pick only the images that illustrate the answer and say after "
          "which segment each one goes.")


def _clip(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


@dataclass(frozen=True)
class Evidence:
    """What the rule inserter tells the policy: per-candidate hints and its plan as a draft."""
    hints: list[Hint] | None = None
    draft: list[tuple[int, int]] | None = None
    """``(candidate number, slot)`` items of the rule plan."""


def rule_evidence(rule: RuleInserter, segments: list[str], candidates: list[Candidate], config: R1Config) -> Evidence:
    """The hints and draft of ``config`` from one similarity matrix of ``rule`` (what r1 and its training rows show).

    >>> import numpy as np
    >>> from m2io.types import Image
    >>> class Fixed(RuleInserter):
    ...     def similarities(self, segments, candidates): return np.array([[0.1, 0.7], [0.2, 0.3]])
    >>> cands = [Candidate(1, Image("a", None)), Candidate(2, Image("b", None))]
    >>> rule_evidence(Fixed(None, threshold=0.5), ["A.", "B."], cands, R1Config())
    Evidence(hints=[(2, 0.7), (2, 0.3)], draft=[(1, 2)])
    """
    if not (config.hints or config.draft):
        return Evidence()
    sims = rule.similarities(segments, candidates)
    by_id = {c.image.id: c.k for c in candidates}
    draft = [(by_id[p.image_id], p.slot) for p in place(sims, candidates, rule.threshold)] if config.draft else None
    return Evidence(hints_of(sims) if config.hints else None, draft)


def r1_messages(query: str, segments: list[str], candidates: list[Candidate], config: R1Config,
                evidence: Evidence = Evidence()) -> list[dict]:
    """The chat prompt of the policy (also what SFT and GRPO train on), with the rule ``evidence``."""
    hints = evidence.hints
    lines = [f"Question: {query}", "", "Answer segments:"]
    lines += [f"[{n}] {_clip(s, config.segment_words)}" for n, s in enumerate(segments, 1)]
    lines += ["", "Candidate images:"]
    for n, c in enumerate(candidates):
        caption = c.image.caption.strip() or "(no caption)"
        context = f" (context: {_clip(c.context, config.context_words)})" if c.context and config.context_words else ""
        hint = f" [best match: [{hints[n][0]}] {hints[n][1]:.2f}]" if hints else ""
        lines.append(f"{c.placeholder} {caption}{context}{hint}")
    if evidence.draft is not None:
        lines += ["", DRAFT_LABEL + (format_plan(evidence.draft) or NO_IMAGES)]
    how = ("Think in one short sentence inside <think></think>, then write " if config.think_tokens else "Write ")
    lines += ["", how + "the plan inside <plan></plan>: <imgK>@S puts image K after segment S "
              f"(S from 0 to {len(segments)}; 0 is before the first segment). Leave out images that do not fit. "
              "Example: <plan><img2>@1 <img3>@4</plan>"]
    if evidence.draft is not None:
        lines[-1] += " Fix the draft: keep its good placements, move, drop or add images."
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


class R1LMInserter(Inserter):
    name = "r1-lm"

    def __init__(self, model: ChatModel, fallback: RuleInserter, config: R1Config = R1Config()):
        self.model, self.fallback, self.config = model, fallback, config

    def messages(self, query: str, segments: list[str], candidates: list[Candidate]) -> list[dict]:
        return r1_messages(query, segments, candidates, self.config,
                           rule_evidence(self.fallback, segments, candidates, self.config))

    def insert(self, query: str, segments: list[str], candidates: list[Candidate],
               provenance: list[Origin | None] | None = None) -> InsertResult:
        start = time.perf_counter()
        if not candidates or not segments:  # nothing to decide: no model call
            return InsertResult(placements=[], timings={"insert": time.perf_counter() - start})
        cfg = self.config
        messages = self.messages(query, segments, candidates)
        grammar = PlanGrammar(len(candidates), len(segments), think=cfg.think_tokens > 0)
        constrained = cfg.constrained and self.model.supports_constraints
        g = self.model.chat(messages, max_tokens=cfg.think_tokens + cfg.tokens_per_image * len(candidates) + 12,
                            temperature=cfg.temperature, stop=None if constrained else [PLAN_CLOSE],
                            constraint=grammar if constrained else None, free_tokens=cfg.think_tokens)
        result = InsertResult(placements=[], raw_output=g.text, model_calls=1, tokens_generated=g.completion_tokens,
                              prompt=messages)
        try:
            plan = grammar.plan_text(g.text)
            if plan is None:
                raise PlanError("no <plan> in the output")
            result.placements = to_placements(parse_plan(plan, len(candidates), len(segments)), candidates)
        except PlanError:
            result.fallback = True
            result.placements = self.fallback.insert(query, segments, candidates).placements
        result.timings = {"insert": time.perf_counter() - start}
        return result
