"""LLM-judge scores of an interleaved answer, from any OpenAI-compatible chat endpoint.

The judge reads the question, the gold answer and the answer with each placed image written
as ``[IMAGE n: caption]`` where it stands, and returns JSON: image relevance 1-5, image
effectiveness 1-5, image position 0/1 per image, overall quality 1-5. Scores are reported as
score / 5 * 100 (position as mean * 100), as in MRAMG-Bench. A reply that does not parse is
recorded as unparsed, never guessed.

>>> parse_judgement('Sure: {"relevance": 4, "effectiveness": 3, "position": [1, 0], "overall": 5}', 2)
{'judge_image_relevance': 80.0, 'judge_image_effectiveness': 60.0, 'judge_image_position': 50.0, 'judge_overall': 100.0}
>>> parse_judgement('{"relevance": 9}', 1) is None
True
"""
from __future__ import annotations

import json
import re

from m2io.lm.base import ChatModel, LMError

SYSTEM = "You grade answers that interleave text and images. Reply with one JSON object and nothing else."


def judge_messages(question: str, gold: str, blocks: list[tuple[str, str]], captions: dict[str, str]) -> list[dict]:
    """``blocks``: ('text', paragraph) and ('image', image id) in reading order (see m2io.render.blocks)."""
    parts, n = [], 0
    for kind, value in blocks:
        if kind == "text":
            parts.append(value)
        else:
            n += 1
            parts.append(f"[IMAGE {n}: {captions.get(value, '')}]")
    rules = ('{"relevance": 1-5, "effectiveness": 1-5, "position": [0 or 1 for each image, in order], '
             '"overall": 1-5}' if n else '{"overall": 1-5}')
    body = (f"Question: {question}\n\nReference answer: {gold}\n\nAnswer to grade ({n} images):\n"
            + "\n".join(parts) + f"\n\nGrade how relevant the images are, how much they help, whether each image "
            f"stands in the right place, and the overall quality. Reply as {rules}")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": body}]


def _score(value, low: int = 1, high: int = 5) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        return None
    return float(value)


def json_object(text: str) -> dict | None:
    """The JSON object in a judge's reply (text around it allowed), or None."""
    m = re.search(r"\{.*\}", text, re.S)
    try:
        data = json.loads(m.group(0)) if m else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def parse_judgement(text: str, n_images: int) -> dict | None:
    """Judge scores on a 0-100 scale, or None if the reply is not the JSON asked for."""
    data = json_object(text)
    if data is None or _score(data.get("overall")) is None:
        return None
    out = {"judge_overall": _score(data["overall"]) / 5 * 100}
    if n_images:
        rel, eff, pos = _score(data.get("relevance")), _score(data.get("effectiveness")), data.get("position")
        if rel is None or eff is None or not isinstance(pos, list) or len(pos) != n_images \
                or any(_score(p, 0, 1) is None for p in pos):
            return None
        out = {"judge_image_relevance": rel / 5 * 100, "judge_image_effectiveness": eff / 5 * 100,
               "judge_image_position": sum(pos) / n_images * 100, **out}
    return out


class Judge:
    def __init__(self, model: ChatModel, max_tokens: int = 120):
        self.model, self.max_tokens = model, max_tokens

    def __call__(self, question: str, gold: str, blocks: list[tuple[str, str]],
                 captions: dict[str, str]) -> tuple[dict | None, str]:
        """(scores or None, the judge's raw reply)."""
        messages = judge_messages(question, gold, blocks, captions)
        try:
            reply = self.model.chat(messages, max_tokens=self.max_tokens).text
        except LMError as e:
            return None, f"error: {e}"
        return parse_judgement(reply, sum(1 for kind, _ in blocks if kind == "image")), reply
