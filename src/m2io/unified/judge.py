"""InterleavedBench's five aspects, scored by an LLM judge at any OpenAI-compatible endpoint.

The judge sees the question, the reference section and the generated answer, its images sent as
``image_url`` data URIs where they stand (a text-only endpoint refuses them; that item is then
recorded as unparsed). It replies with JSON: text quality, perceptual quality, image coherence,
text-image coherence and helpfulness, each 0-3 (InterleavedBench's scale). A reply that does not
parse is recorded as unparsed, never guessed.

>>> parse_aspects('ok {"text_quality": 3, "perceptual_quality": 2, "image_coherence": 1, '
...               '"text_image_coherence": 2, "helpfulness": 3}')["judge_helpfulness"]
3.0
>>> parse_aspects('{"text_quality": 7}') is None
True
"""
from __future__ import annotations

import base64

from m2io.judge import _score, json_object
from m2io.lm.base import LMError

ASPECTS = ("text_quality", "perceptual_quality", "image_coherence", "text_image_coherence", "helpfulness")
SYSTEM = ("You grade answers that interleave text steps and images, on InterleavedBench's five aspects, "
          "each 0 (bad) to 3 (excellent). Reply with one JSON object and nothing else.")


def aspect_messages(question: str, reference: str, steps: list[dict], images: list) -> list[dict]:
    """``steps``: {"kind": "text", "text"} or {"kind": "image"} in order; ``images``: PIL images of the image steps."""
    from m2io.unified.tokenizer import png_bytes

    parts = [{"type": "text", "text": f"Question: {question}\n\nReference: {reference[:2000]}\n\nAnswer:"}]
    pictures = iter(images)
    for step in steps:
        if step["kind"] == "text":
            parts.append({"type": "text", "text": step["text"]})
        else:
            data = base64.b64encode(png_bytes(next(pictures))).decode()
            parts.append({"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}})
    keys = ", ".join(f'"{a}": 0-3' for a in ASPECTS)
    parts.append({"type": "text", "text": f"Grade the answer. Reply as {{{keys}}}"})
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": parts}]


def parse_aspects(text: str) -> dict | None:
    data = json_object(text)
    scores = {f"judge_{a}": _score(data.get(a), 0, 3) for a in ASPECTS} if data is not None else {}
    return scores if scores and None not in scores.values() else None


class AspectJudge:
    def __init__(self, model, max_tokens: int = 120):
        self.model, self.max_tokens = model, max_tokens

    def __call__(self, question: str, reference: str, steps: list[dict], images: list) -> tuple[dict | None, str]:
        try:
            reply = self.model.chat(aspect_messages(question, reference, steps, images), max_tokens=self.max_tokens).text
        except LMError as e:
            return None, f"error: {e}"
        return parse_aspects(reply), reply
