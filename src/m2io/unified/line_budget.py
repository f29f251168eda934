"""Each passage line at most as often as the passage holds it: no text step may begin a line already used up.

A grounded answer copies its passage window line by line, one text step a line. On list-like passages the shipped
model sometimes writes one line again instead of the next, then again: Wireshark's RTP Player window
("Setup Frame | Setup Frame | ..."), where the next line is "SETUP <number> is shown...". Teacher-forced there, a
new step begins "Set" with odds 0.68 and "SET" (the right line) with 0.25: one wrong first token starts the loop.
The loop stop then cuts the answer and names it damaged.

:class:`LineBudget` counts the closed text steps a row has written. At the first token of a new text step it
forbids each token that begins only lines written as often as the passage holds them ("Set", "Setup" after one
"Setup Frame"), never one that also begins a line still to write, nor any token that begins no passage line (the
model may still write its own words). The model's own odds choose among the rest. A line whose first token is
part of a character (a token that decodes to "\ufffd", as some begin "→") is never banned. This is a rule of the answer's
form, like :mod:`~m2io.unified.passage_end` (which ends the window once its last line is written); a repeat n-gram
ban (:mod:`~m2io.unified.loop_break`) forbids by tokens, not by lines, and turned loops into near-loops. It runs
before the grammar, whose greedy text keeps its one best token. transformers has no processor for this:
``NoRepeatNGramLogitsProcessor`` bans every repeated n-gram, the passage's own included.

>>> import torch
>>> words = {5: "Set", 6: "SET", 7: "up Frame", 8: "UP is shown."}
>>> decode = lambda ids: "".join(words[i] for i in ids)
>>> from m2io.unified.written_lines import WrittenLines
>>> budget = LineBudget(0, [{"Setup Frame": 1, "SETUP is shown.": 1}], WrittenLines(0, 1, decode),
...                     vocab={"Set": [5], "SET": [6], "Setup": [9]})
>>> budget(torch.tensor([[0, 5, 7, 1, 0]]), torch.zeros(1, 10))[0].tolist()  # "Setup Frame" used up
[0.0, 0.0, 0.0, 0.0, 0.0, -inf, 0.0, 0.0, 0.0, -inf]
"""
from __future__ import annotations

from collections import Counter
from typing import Callable

import torch

from m2io.unified.written_lines import WrittenLines, text_lines


def passage_lines(steps) -> dict[str, int] | None:
    """How many times a passage window holds each of its text lines (None: no text).

    >>> from m2io.unified.trajectory import Step
    >>> passage_lines([Step("text", "Note"), Step("text", " Open  it."), Step("reference", ref=1), Step("text", "Note")])
    {'Note': 2, 'Open it.': 1}
    """
    return dict(Counter(text_lines(steps))) or None


def token_strings(decode: Callable[[list[int]], str], size: int) -> dict[str, list[int]]:
    """Each token's text (as a step would begin with it) and the ids that decode to it."""
    strings: dict[str, list[int]] = {}
    for i in range(size):
        s = decode([i])
        if s.strip():
            strings.setdefault(s, []).append(i)
    return strings


class LineBudget:
    def __init__(self, prompt_len: int, budgets: list[dict[str, int] | None], written: WrittenLines,
                 vocab: dict[str, list[int]]):
        """``prompt_len``: the (padded) prompt width of the batch; ``budgets``: each row's :func:`passage_lines`
        (None: no rule for that row); ``written``: the rows' closed text steps (shared with the other passage
        rule); ``vocab``: :func:`token_strings`."""
        self.prompt_len, self.budgets, self.written, self.vocab = prompt_len, budgets, written, vocab
        self._firsts: dict[str, set[int]] = {}
        self.forbidden = [0] * len(budgets)
        """Per row, how many step starts the rule changed: their best token began only used-up lines. An upper
        bound under prompt-lookup decoding, which also scores candidate positions it then rejects."""

    def firsts(self, line: str) -> set[int]:
        """The tokens a text step writing ``line`` could begin with (with or without a leading space)."""
        if line not in self._firsts:
            found = set()
            for k in range(1, min(len(line), 32) + 1):
                found.update(self.vocab.get(line[:k], ()))
                found.update(self.vocab.get(" " + line[:k], ()))
            self._firsts[line] = found
        return self._firsts[line]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if input_ids.shape[1] <= self.prompt_len:
            return scores
        for row, budget in enumerate(self.budgets):
            if budget is None or int(input_ids[row, -1]) != self.written.think:
                continue
            generated = input_ids[row, self.prompt_len:].tolist()
            written = self.written(generated)
            used = {line for line, times in budget.items() if written[line] >= times}
            if not used:
                continue
            open_ = set().union(*(self.firsts(line) for line in budget if line not in used))
            ban = {t for t in set().union(*(self.firsts(line) for line in used)) - open_ if t < scores.shape[1]}
            if ban:
                self.forbidden[row] += int(scores[row].argmax()) in ban
                scores[row, sorted(ban)] = -torch.inf
        return scores
