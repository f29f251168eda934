"""The MRAMG LLM-based strategy: one model call writes the answer with ``<imgK>`` marks in place.

Two uses. ``insert`` (the inserter alone): the model gets the answer and the candidates and
rewrites the answer with marks; each mark is mapped back onto the given segments by a word
alignment (:func:`m2io.insert.plan.align_marks`), since a model asked to copy text changes
it. ``generate`` (end to end): the model sees the retrieved context with ``<imgK>``
placeholders and captions and writes the interleaved answer itself; segments and slots come
from its own text. Either way the whole answer is generated: that is the cost a separate small
inserter avoids. Marks of unknown images are dropped; the output never fails to parse.

>>> from m2io.types import Image
>>> msgs = onepass_insert_messages("How?", ["Open it."], [Candidate(1, Image("a", None, "Menu"))])
>>> "<img1> Menu" in msgs[1]["content"] and "Open it." in msgs[1]["content"]
True
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from m2io.insert.base import InsertResult, Inserter
from m2io.insert.plan import align_marks, plan_from_marks, to_placements
from m2io.lm.base import ChatModel
from m2io.types import PIC, Candidate, Origin


@dataclass(frozen=True)
class OnePassConfig:
    max_tokens: int = 512
    """Generation budget: the whole answer is written, so it must hold the answer."""
    rewrite_slack: float = 1.5
    """``insert`` budget: this many times the answer's tokens, plus 8 per candidate (small models loop)."""
    context_words: int = 25
    temperature: float = 0.0


SYSTEM = ("You write answers that interleave text and images. An image is written as its placeholder, "
          "for example <img2>, on its own where it belongs in the text.")


def _candidate_lines(candidates: list[Candidate], context_words: int) -> list[str]:
    out = []
    for c in candidates:
        ctx = " ".join(c.context.split()[:context_words]) if c.context and context_words else ""
        out.append(f"{c.placeholder} {c.image.caption.strip() or '(no caption)'}" + (f" (context: {ctx})" if ctx else ""))
    return out


def onepass_insert_messages(query: str, segments: list[str], candidates: list[Candidate],
                            config: OnePassConfig = OnePassConfig()) -> list[dict]:
    body = [f"Question: {query}", "", "Images:", *_candidate_lines(candidates, config.context_words), "",
            "Answer:", " ".join(segments), "",
            "Copy the answer word for word and put the placeholder of each image that illustrates it right after "
            "the sentence it belongs to. Leave out images that do not fit."]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(body)}]


def onepass_generate_messages(query: str, context: list[str], candidates: list[Candidate],
                              config: OnePassConfig = OnePassConfig()) -> list[dict]:
    """The MRAMG LLM prompt: retrieved passages (their images as placeholders) + candidate captions."""
    body = [f"Question: {query}", "", "Passages:", *context, "", "Images:",
            *_candidate_lines(candidates, config.context_words), "",
            "Answer the question from the passages in a few sentences. Put the placeholder of each image that "
            "helps right after the sentence it illustrates."]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(body)}]


def context_with_placeholders(text: str, image_ids: list[str], candidates: list[Candidate]) -> str:
    """A retrieved chunk with each ``<PIC>`` replaced by its candidate's ``<imgK>`` (unknown ones removed).

    >>> from m2io.types import Image
    >>> context_with_placeholders("A <PIC> B <PIC>", ["x", "y"], [Candidate(3, Image("y", None))])
    'A  B <img3>'
    """
    k_of = {c.image.id: c.placeholder for c in candidates}
    pieces = text.split(PIC)
    out = pieces[0]
    for n, piece in enumerate(pieces[1:]):
        image_id = image_ids[n] if n < len(image_ids) else None
        out += k_of.get(image_id, "") + piece
    return out


@dataclass
class Interleaved:
    """What ``generate`` returns: the answer's segments, the placements and the model call behind them."""

    segments: list[str]
    result: InsertResult


class OnePassInserter(Inserter):
    name = "onepass"

    def __init__(self, model: ChatModel, config: OnePassConfig = OnePassConfig()):
        self.model, self.config = model, config

    def _call(self, messages: list[dict], max_tokens: int):
        return self.model.chat(messages, max_tokens=max_tokens, temperature=self.config.temperature)

    def insert(self, query: str, segments: list[str], candidates: list[Candidate],
               provenance: list[Origin | None] | None = None) -> InsertResult:
        start = time.perf_counter()
        if not candidates or not segments:
            return InsertResult(placements=[], timings={"insert": time.perf_counter() - start})
        messages = onepass_insert_messages(query, segments, candidates, self.config)
        words = sum(len(s.split()) for s in segments)
        budget = min(self.config.max_tokens, int(self.config.rewrite_slack * words * 4 / 3) + 8 * len(candidates))
        g = self._call(messages, budget)
        items = align_marks(g.text, segments, len(candidates))
        return InsertResult(placements=to_placements(items, candidates), raw_output=g.text, model_calls=1,
                            tokens_generated=g.completion_tokens, prompt=messages, text=g.text,
                            timings={"insert": time.perf_counter() - start})

    def generate(self, query: str, context: list[str], candidates: list[Candidate]) -> Interleaved:
        """Write the answer and place the images in one call (the end-to-end MRAMG LLM strategy)."""
        start = time.perf_counter()
        messages = onepass_generate_messages(query, context, candidates, self.config)
        g = self._call(messages, self.config.max_tokens)
        segments, items = plan_from_marks(g.text, len(candidates))
        result = InsertResult(placements=to_placements(items, candidates), raw_output=g.text, model_calls=1,
                              tokens_generated=g.completion_tokens, prompt=messages, text=g.text,
                              timings={"insert": time.perf_counter() - start})
        return Interleaved(segments, result)
