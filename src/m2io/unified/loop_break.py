"""Keep greedy decoding out of a loop: forbid the one token that would make the text repeat itself.

A small model that copies its passage sometimes falls into a loop of a short phrase instead, often one text
step written again and again ("<think>Filter options</think><think>Filter options</think>..." on 4 of 130
Wireshark answers): :class:`~m2io.unified.loop_stop.LoopStop` ends such a row 48 tokens in, too late for the
answer, which shows the loop and loses its end. :class:`LoopBreak` acts on the first repetition instead: the
token that would make the generated tail one unit of ``p <= period`` tokens repeated over ``max(2p,
min_run)`` tokens is forbidden, unless the prompt holds that very run (a copied passage may repeat itself)
or the run has an image code in it. A tag (``keep``) is never forbidden, so the grammar can always close a
step; a loop of whole steps is broken at the next step's first word. The model then writes its next
choice. transformers' ``no_repeat_ngram_size`` forbids any repeated n-gram, copied
ones included, and its repetition penalty any seen token, which would stop the copying the answer is made of;
no library processor forbids only the loop not in the prompt, hence this class.

``breaks(row)`` counts the tokens forbidden on the row's final text (with prompt-lookup decoding a position
may be scored more than once; the last scoring is the kept one).

>>> import torch
>>> brk = LoopBreak(prompt_len=1, prompts=[[9]], skip=set(), keep=set())
>>> scores = brk(torch.tensor([[9, 5, 6, 5, 6, 5]]), torch.zeros(1, 8))
>>> scores[0].tolist()[6], scores[0].tolist()[7], brk.breaks(0, generated=6)
(-inf, 0.0, 1)
"""
from __future__ import annotations

import torch

from m2io.unified.loop_stop import as_prompt, held_in


class LoopBreak:
    def __init__(self, prompt_len: int, prompts: list[list[int]], skip: set[int], keep: set[int],
                 period: int = 16, min_run: int = 6):
        """``prompt_len``: the (padded) prompt width of the batch; ``prompts``: each row's prompt ids; ``skip``:
        token ids no loop is judged across (image codes); ``keep``: token ids never forbidden (tags, ends)."""
        self.prompt_len, self.skip, self.keep = prompt_len, skip, keep
        self.period, self.min_run = period, min_run
        self.prompts = [as_prompt(p) for p in prompts]
        self._banned: list[dict[int, bool]] = [{} for _ in prompts]

    def forbidden(self, generated: list[int], prompt: str) -> set[int]:
        """The tokens that would close a loop after ``generated``."""
        out = set()
        for p in range(1, self.period + 1):
            need = max(2 * p, self.min_run) - 1
            tail = generated[-need:]
            if len(tail) < need or any(t in self.skip for t in tail):
                continue
            if all(tail[i] == tail[i - p] for i in range(p, need)):
                run = tail + [tail[-p]]
                if tail[-p] not in self.keep and not held_in(run, prompt):
                    out.add(tail[-p])
        return out

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for r, row in enumerate(input_ids[:, self.prompt_len:].tolist()):
            ban = [t for t in self.forbidden(row, self.prompts[r]) if t < scores.shape[1]]
            keep = torch.isfinite(scores[r]).clone()
            keep[ban] = False
            hit = bool(ban) and bool(keep.any()) and bool(torch.isfinite(scores[r, ban]).any())
            if hit:  # never forbid the only token the grammar allows
                scores[r, ban] = -float("inf")
            self._banned[r][len(row)] = hit
        return scores

    def breaks(self, row: int, generated: int) -> int:
        """Tokens forbidden on row ``row`` within its first ``generated`` generated tokens."""
        return sum(hit for pos, hit in self._banned[row].items() if pos < generated)
