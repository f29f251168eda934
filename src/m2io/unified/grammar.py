"""The modality grammar: image tokens only inside ``<vis>``, and exactly a grid's worth of them.

A transformers ``LogitsProcessor`` over token ids. The text-level machinery of
:mod:`m2io.lm.constrain` checks decoded strings against a text grammar; image tokens have no text,
and this grammar is a counter, so it works on ids with precomputed masks (one vector op per step):

- inside an image span with k < N image tokens: only image tokens;
- after the N-th: only ``</vis>``;
- outside: never an image token nor ``</vis>``; ``<vis>`` only while N + 1 more tokens still fit in
  ``max_new_tokens`` (so the budget never cuts an image in half).

With ``text_temperature``/``image_temperature`` set (generation sampling at temperature 1), each
modality is sampled at its own temperature: text at 0 keeps only its most likely token (greedy
text, whose structure tags the warmed-up model places reliably) while image tokens are still
drawn (greedy images collapse onto one picture for every prompt).

>>> import torch
>>> from m2io.unified.vocab import UnifiedVocab
>>> v = UnifiedVocab(think=0, end_think=1, vis=2, end_vis=3, image_ids=[4, 5], tokens_per_image=2, end_ids=[6])
>>> g = ModalityGrammar(v, vocab_size=7, prompt_len=0, max_new_tokens=10)
>>> g.allowed([2, 4]).nonzero().flatten().tolist(), g.allowed([2, 4, 5]).nonzero().flatten().tolist()
([4, 5], [3])
>>> g.allowed([0]).nonzero().flatten().tolist()
[0, 1, 2, 6]
"""
from __future__ import annotations

import torch

from m2io.unified.vocab import UnifiedVocab


def image_span_state(ids: list[int], vocab: UnifiedVocab) -> int | None:
    """How many image tokens the open image span holds, or None when no image span is open."""
    inside = None
    for t in ids:
        if t == vocab.vis:
            inside = 0
        elif t == vocab.end_vis:
            inside = None
        elif inside is not None and vocab.is_image(t):
            inside += 1
    return inside


class ModalityGrammar:
    """Masks logits so every generated row stays inside the modality grammar."""

    def __init__(self, vocab: UnifiedVocab, vocab_size: int, prompt_len: int | None, max_new_tokens: int,
                 text_temperature: float | None = None, image_temperature: float | None = None):
        """``prompt_len`` None: the width of the first ids seen (the left-padded prompts)."""
        self.vocab, self.prompt_len, self.max_new = vocab, prompt_len, max_new_tokens
        self.temperatures = (text_temperature, image_temperature)
        n = vocab_size
        self.images = torch.zeros(n, dtype=torch.bool)
        self.images[vocab.image_ids] = True
        self.close = torch.zeros(n, dtype=torch.bool)
        self.close[vocab.end_vis] = True
        self.outside = ~self.images & ~self.close
        self.outside_no_vis = self.outside.clone()
        self.outside_no_vis[vocab.vis] = False

    def allowed(self, generated: list[int]) -> torch.Tensor:
        """Boolean mask over the vocabulary of the tokens allowed after ``generated``."""
        k = image_span_state(generated, self.vocab)
        if k is not None:
            return self.images if k < self.vocab.tokens_per_image else self.close
        left = self.max_new - len(generated)
        return self.outside if left >= self.vocab.tokens_per_image + 2 else self.outside_no_vis

    def _temper(self, kept: torch.Tensor, generated: list[int]) -> torch.Tensor:
        in_image = image_span_state(generated, self.vocab) is not None
        t = self.temperatures[1 if in_image else 0]
        if t is None or t == 1.0:
            return kept
        if t <= 0:
            return torch.where(kept == kept.max(), 0.0, -torch.inf)
        return kept / t

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self.prompt_len is None:
            self.prompt_len = input_ids.shape[1]
        for row in range(input_ids.shape[0]):
            generated = input_ids[row, self.prompt_len:].tolist()
            mask = self.allowed(generated)
            width = min(mask.numel(), scores.shape[1])
            kept = scores[row, :width].masked_fill(~mask[:width], -torch.inf)
            if kept.max() < torch.finfo(kept.dtype).min / 2:  # the model itself ruled out every allowed token
                kept = torch.where(mask[:width], 0.0, -torch.inf)  # (Chameleon's image logits): draw uniformly
            scores[row, :width] = self._temper(kept, generated)
            scores[row, width:] = -torch.inf  # padded rows of the embedding matrix are never tokens
        return scores
