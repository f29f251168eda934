"""LLM answers: the MRAMG text-generation prompt over the retrieved passages.

With a section ranker (the default in ``ask``), the passages are the best ``sections`` sections
(the best one up to ``section_words`` words, the others up to ``chunk_words``), so the model reads
one part of the manual rather than a collage of chunks; without one, the top retrieved chunks.
Each image is shown by its caption (``[image: caption]``) where it stands, so the model knows what
the figures show without placing them: placing is the inserter's job. The answer's provenance
comes later, by aligning its sentences with those sections (:mod:`m2io.answer.provenance`).

>>> msgs = llm_messages("How do I crop?", ["Crop > Tool\\nDrag a box. [image: the crop tool]"])
>>> msgs[1]["content"].splitlines()[:3]
['Passages:', '[1] Crop > Tool Drag a box. [image: the crop tool]', '']
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from m2io.answer.base import Answer
from m2io.lm.base import ChatModel
from m2io.types import PIC


@dataclass(frozen=True)
class LLMAnswerConfig:
    max_tokens: int = 200
    chunks: int = 5
    """How many of the top retrieved chunks the prompt holds."""
    chunk_words: int = 160
    temperature: float = 0.0
    sections: int = 2
    """With a ranker: how many ranked sections the prompt holds."""
    section_words: int = 320
    """With a ranker: words of the best section in the prompt."""
    no_repeat_ngram: int = 4
    """Local models: no 4-gram twice (greedy SmolLM2-135M otherwise loops on one sentence, as measured on KiCad)."""


SYSTEM = ("You are a helpful assistant. Answer the question using only the passages. Write a clear, "
          "complete answer of a few sentences, in your own words where that helps.")


def passage_text(result) -> str:
    """A retrieved chunk for a prompt: one line, each ``<PIC>`` replaced by its image's caption."""
    captions = {im.image_id: im.caption for im in result.images}
    pieces = result.text.split(PIC)
    out = pieces[0]
    for n, piece in enumerate(pieces[1:]):
        caption = captions.get(result.pic_ids[n], "") if n < len(result.pic_ids) else ""
        out += (f"[image: {caption}]" if caption else "") + piece
    return " ".join(out.split())


def llm_messages(question: str, passages: list[str], words: int = 160) -> list[dict]:
    lines = ["Passages:"]
    lines += [f"[{n}] " + " ".join(" ".join(p.split()).split()[:words]) for n, p in enumerate(passages, 1)]
    lines += ["", f"Question: {question}", "Answer:"]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


class LLMAnswerer:
    name = "llm"

    def __init__(self, model: ChatModel, config: LLMAnswerConfig = LLMAnswerConfig(), ranker=None):
        self.model, self.config, self.ranker = model, config, ranker

    def _section_passages(self, question: str, results) -> tuple[list[str], list[str], list]:
        from m2io.sections.reranker import passage_text as section_passage

        ranking = self.ranker.rank(question, results)
        keys = [r.key for r in ranking[: self.config.sections]]
        got = self.ranker.reader.read(keys)
        keys = [k for k in keys if k in got]
        words = [self.config.section_words] + [self.config.chunk_words] * (len(keys) - 1)
        return [section_passage(got[k], w) for k, w in zip(keys, words)], keys, ranking

    def answer(self, question: str, results) -> Answer:
        start = time.perf_counter()
        if self.ranker is not None and results:
            passages, keys, ranking = self._section_passages(question, results)
            words = self.config.section_words
        else:
            top = list(results[: self.config.chunks])
            passages, keys, ranking = [passage_text(r) for r in top], [], []
            words = self.config.chunk_words
        messages = llm_messages(question, passages, words)
        g = self.model.chat(messages, max_tokens=self.config.max_tokens, temperature=self.config.temperature,
                            no_repeat_ngram=self.config.no_repeat_ngram)
        return Answer(g.text.strip(), [r.chunk_id for r in results[: self.config.chunks]], model_calls=1,
                      tokens_generated=g.completion_tokens, seconds=time.perf_counter() - start, prompt=messages,
                      sections=keys, ranking=ranking)
