"""LLM answers: the MRAMG text-generation prompt over the retrieved passages.

The passages are the top retrieved chunks, each image shown by its caption (``[image:
caption]``) where it stands, so the model knows what the figures show without placing them:
placing is the inserter's job.

>>> msgs = llm_messages("How do I crop?", ["Crop > Tool\\nDrag a box. [image: the crop tool]"])
>>> msgs[1]["content"].splitlines()[:3]
['Passages:', '[1] Crop > Tool Drag a box. [image: the crop tool]', '']
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from m2io.answer.extractive import Answer
from m2io.lm.base import ChatModel
from m2io.types import PIC


@dataclass(frozen=True)
class LLMAnswerConfig:
    max_tokens: int = 200
    chunks: int = 5
    """How many of the top retrieved chunks the prompt holds."""
    chunk_words: int = 160
    temperature: float = 0.0


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

    def __init__(self, model: ChatModel, config: LLMAnswerConfig = LLMAnswerConfig()):
        self.model, self.config = model, config

    def answer(self, question: str, results) -> Answer:
        start = time.perf_counter()
        top = list(results[: self.config.chunks])
        messages = llm_messages(question, [passage_text(r) for r in top], self.config.chunk_words)
        g = self.model.chat(messages, max_tokens=self.config.max_tokens, temperature=self.config.temperature)
        return Answer(g.text.strip(), [r.chunk_id for r in top], model_calls=1, tokens_generated=g.completion_tokens,
                      seconds=time.perf_counter() - start, prompt=messages)
