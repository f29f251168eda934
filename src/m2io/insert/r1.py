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
from m2io.insert.plan import PlanError, parse_plan, to_placements
from m2io.insert.rule import RuleInserter
from m2io.lm.base import ChatModel
from m2io.types import Candidate


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


Hint = tuple[int, float]
"""A candidate's best-matching segment (1-based) and the cosine of that match."""


def hints_of(sims) -> list[Hint]:
    """The best segment and similarity of each row of a (candidates, segments) similarity matrix.

    >>> import numpy as np
    >>> hints_of(np.array([[0.1, 0.7], [0.5, 0.2]]))
    [(2, 0.7), (1, 0.5)]
    """
    return [(int(row.argmax()) + 1, round(float(row.max()), 2)) for row in sims]


SYSTEM = ("You insert images into an answer. You see a question, the answer split into numbered segments, "
          "and candidate images with captions. Pick only the images that illustrate the answer and say after "
          "which segment each one goes.")


def _clip(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def r1_messages(query: str, segments: list[str], candidates: list[Candidate], config: R1Config,
                hints: list[Hint] | None = None) -> list[dict]:
    """The chat prompt of the policy (also what SFT and GRPO train on); ``hints`` per candidate."""
    lines = [f"Question: {query}", "", "Answer segments:"]
    lines += [f"[{n}] {_clip(s, config.segment_words)}" for n, s in enumerate(segments, 1)]
    lines += ["", "Candidate images:"]
    for n, c in enumerate(candidates):
        caption = c.image.caption.strip() or "(no caption)"
        context = f" (context: {_clip(c.context, config.context_words)})" if c.context and config.context_words else ""
        hint = f" [best match: [{hints[n][0]}] {hints[n][1]:.2f}]" if hints else ""
        lines.append(f"{c.placeholder} {caption}{context}{hint}")
    how = ("Think in one short sentence inside <think></think>, then write " if config.think_tokens else "Write ")
    lines += ["", how + "the plan inside <plan></plan>: <imgK>@S puts image K after segment S "
              f"(S from 0 to {len(segments)}; 0 is before the first segment). Leave out images that do not fit. "
              "Example: <plan><img2>@1 <img3>@4</plan>"]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


class R1Inserter(Inserter):
    name = "r1"

    def __init__(self, model: ChatModel, fallback: RuleInserter, config: R1Config = R1Config()):
        self.model, self.fallback, self.config = model, fallback, config

    def messages(self, query: str, segments: list[str], candidates: list[Candidate]) -> list[dict]:
        hints = hints_of(self.fallback.similarities(segments, candidates)) if self.config.hints else None
        return r1_messages(query, segments, candidates, self.config, hints)

    def insert(self, query: str, segments: list[str], candidates: list[Candidate]) -> InsertResult:
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
