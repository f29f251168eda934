"""End a grounded answer where its passage ends: no new text step once the passage's last line is written.

A grounded answer copies its passage window line by line, one text step a line, the marked figures between
(the warm-up's targets). The shipped model sometimes does not stop after the last line. On Wireshark 4 of its 6
damaged answers (of 8 loop-prone questions) went wrong there:

- it wrote the last line again ("View → Auto Scroll in Live Capture | Auto Scroll in Live Capture | ...");
- it went on past a window cut ("Display Filter | Filter options | Filter options | ...");
- it missed a figure marked after the last line and wrote a text step instead ("Larger than 1000...").

:class:`PassageEnd` forbids ``<think>`` once a row has written the passage's last line as many times as the
passage holds it. The model may still show a figure, draw one or end: its own odds choose among those.
This is a rule of the answer's form, like the grammar's "each figure once": nothing the passage holds is
forbidden, and a mid-passage loop is left to the loop stop. transformers' stopping criteria stop on strings
but cannot forbid one token and let the model choose among the rest (a figure still to show, or the end),
hence this small processor. It runs before the grammar, whose greedy text keeps its one best token.

>>> import torch
>>> from m2io.unified.written_lines import WrittenLines
>>> end = PassageEnd(prompt_len=1, ends=[("Last.", 1)], written=WrittenLines(0, 1, lambda ids: "Last."))
>>> end(torch.tensor([[9, 0, 7, 1]]), torch.zeros(1, 4))[0].tolist()  # "Last." written: no new text step
[-inf, 0.0, 0.0, 0.0]
>>> end.reached([0, 7], ("Last.", 1))  # the step is still open
False
"""
from __future__ import annotations

import torch

from m2io.unified.written_lines import WrittenLines, text_lines


def passage_end(steps) -> tuple[str, int] | None:
    """A passage window's last text line and how many times the window holds it (None: no text).

    >>> from m2io.unified.trajectory import Step
    >>> passage_end([Step("text", "Note"), Step("text", "Open it."), Step("text", "Note"), Step("reference", ref=1)])
    ('Note', 2)
    """
    texts = text_lines(steps)
    return (texts[-1], texts.count(texts[-1])) if texts else None


class PassageEnd:
    def __init__(self, prompt_len: int, ends: list[tuple[str, int] | None], written: WrittenLines,
                 end_vis: int | None = None):
        """``prompt_len``: the (padded) prompt width of the batch; ``ends``: each row's :func:`passage_end` (None:
        no rule for that row); ``written``: the rows' closed text steps (shared with the other passage rule, so a
        step is decoded once); ``end_vis``: the image step's closing tag (a new step may follow it too)."""
        self.prompt_len, self.ends, self.written = prompt_len, ends, written
        self.closing = {written.end_think} | ({end_vis} if end_vis is not None else set())

    def reached(self, generated: list[int], end: tuple[str, int]) -> bool:
        """Whether ``generated`` holds ``end``'s line, as closed text steps, ``end``'s number of times."""
        line, times = end
        return self.written(generated)[line] >= times

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if input_ids.shape[1] <= self.prompt_len:
            return scores
        for row, end in enumerate(self.ends):
            # a step begins only right after a closing tag (the grammar's rule): elsewhere nothing to forbid
            if end is None or int(input_ids[row, -1]) not in self.closing:
                continue
            if self.reached(input_ids[row, self.prompt_len:].tolist(), end):
                scores[row, self.written.think] = -torch.inf
        return scores
