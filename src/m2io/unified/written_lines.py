"""The text lines a generated row has written so far: its closed text steps, counted.

The passage rules (:mod:`~m2io.unified.passage_end`, :mod:`~m2io.unified.line_budget`) ask this at each step they
score. It scans the row's ids rather than keeping state from call to call: under prompt-lookup decoding a position
can be scored more than once, on different prefixes. Each step's text is decoded once and kept.

>>> lines = WrittenLines(think=0, end_think=1, decode=lambda ids: {7: "Note", 8: " Open  it."}[ids[0]])
>>> lines([0, 7, 1, 0, 8, 1, 0, 7, 1, 0, 8])  # the last step is still open
Counter({'Note': 2, 'Open it.': 1})
"""
from __future__ import annotations

from collections import Counter
from typing import Callable


def norm(text: str) -> str:
    """A line as the rules compare it: whitespace runs joined by one space, no space at the ends."""
    return " ".join(text.split())


def text_lines(steps) -> list[str]:
    """A passage window's text lines, in order, as the rules compare them (blank ones left out)."""
    return [norm(s.text) for s in steps if s.kind == "text" and s.text.strip()]


class WrittenLines:
    def __init__(self, think: int, end_think: int, decode: Callable[[list[int]], str]):
        self.think, self.end_think, self.decode = think, end_think, decode
        self._texts: dict[tuple[int, ...], str] = {}

    def __call__(self, generated: list[int]) -> Counter:
        """The closed text steps of ``generated`` (ids after the prompt) and how often each was written."""
        found, start = Counter(), None
        for i, t in enumerate(generated):
            if t == self.think:
                start = i + 1
            elif t == self.end_think and start is not None:
                found[self._text(generated[start:i])] += 1
                start = None
        return found

    def _text(self, ids: list[int]) -> str:
        key = tuple(ids)
        if key not in self._texts:
            self._texts[key] = norm(self.decode(ids))
        return self._texts[key]
