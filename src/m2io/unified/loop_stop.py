"""Stop a generation that has fallen into a loop, instead of letting it run to the token budget.

Greedy decoding of a small model sometimes repeats a short unit without end ("1000000000...", one
Wireshark answer of 130): the modality grammar still closes the answer at the budget, so the loop
costs the whole budget (about 20 s here) and the answer shows it. :class:`LoopStop` ends the row
once its last ``window`` generated tokens are one unit of at most ``period`` tokens repeated, unless
the prompt holds that very run (a copied passage may repeat itself) or it is an image's codes. The
answerer then cuts the looping text step (:func:`m2io.unified.answer.cut_loop`) and names the damage.
transformers' stopping criteria stop on lengths, strings and end tokens, not on repetition, hence
this small class.

>>> import torch
>>> stop = LoopStop(prompt_len=2, prompts=[[5, 6]], skip=set(), window=6, period=2)
>>> stop(torch.tensor([[5, 6, 7, 8, 7, 8, 7, 8]]), None).tolist()
[True]
>>> stop(torch.tensor([[5, 6, 7, 8, 9, 8, 7, 8]]), None).tolist()
[False]
"""
from __future__ import annotations

import torch
from transformers import StoppingCriteria


def held_in(run: list[int], prompt: str) -> bool:
    """Whether ``run`` (token ids) stands in ``prompt`` (a row's prompt as :func:`as_prompt` writes it).

    >>> held_in([5, 6], as_prompt([4, 5, 6])), held_in([5], as_prompt([55]))
    (True, False)
    """
    return as_prompt(run) in prompt


def as_prompt(ids: list[int]) -> str:
    """A prompt's ids as one string that :func:`held_in` looks a run up in."""
    return "," + ",".join(map(str, ids)) + ","


class LoopStop(StoppingCriteria):
    def __init__(self, prompt_len: int, prompts: list[list[int]], skip: set[int], window: int = 48,
                 period: int = 8):
        """``prompt_len``: the (padded) prompt width of the batch; ``prompts``: each row's prompt ids; ``skip``:
        token ids whose repetition is no loop (image codes)."""
        self.prompt_len, self.skip, self.window, self.period = prompt_len, skip, window, period
        self.prompts = [as_prompt(p) for p in prompts]

    def loops(self, generated: list[int], prompt: str) -> bool:
        tail = generated[-self.window:]
        if len(tail) < self.window or any(t in self.skip for t in tail):
            return False
        if not any(tail[p:] == tail[:-p] for p in range(1, self.period + 1)):
            return False
        return not held_in(tail, prompt)

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        rows = input_ids[:, self.prompt_len:].tolist()
        return torch.tensor([self.loops(row, prompt) for row, prompt in zip(rows, self.prompts)],
                            dtype=torch.bool, device=input_ids.device)
