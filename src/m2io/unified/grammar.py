"""The modality grammar: inside ``<vis>`` either one reference token or exactly a grid's worth of
image tokens, image and reference tokens nowhere else, and every token inside a step.

A transformers ``LogitsProcessor`` over token ids. The text-level machinery of
:mod:`m2io.lm.constrain` checks decoded strings against a text grammar; image tokens have no text,
and this grammar is a counter, so it works on ids with precomputed masks (one vector op per step):

- right after ``<vis>``: a reference token to one of the prompt's ``references`` candidates that the answer
  has not shown yet (retrieve) or an image token (draw, while N more and the closing tags fit); after a
  reference: only ``</vis>``;
- inside a drawn image with 0 < k < N image tokens: only image tokens; after the N-th: only ``</vis>``;
- inside a text step (after ``<think>``): text, or ``</think>``; only ``</think>`` once just it and
  the end of turn still fit in ``max_new_tokens``;
- between steps: ``<think>`` (while a whole text step and the end still fit), ``<vis>`` (while a
  reference, or N image tokens, and the closing tags fit), or the end of turn once there is a step;
  nothing else, so no token lies outside a step and the budget never cuts a step in half.

Why each figure once: a second showing of a figure tells the reader nothing, and greedy decoding can loop on
one (the shipped warm-up referenced one Wireshark figure 19 times in an answer, bench/RESULTS.md).

Why between steps too: after GRPO the model wrote text straight after ``</vis>`` without opening
``<think>`` (14 of 38 Debian Handbook answers, bench/RESULTS.md); the grammar makes that impossible
instead of hoping the policy unlearns it.

With ``text_temperature``/``image_temperature`` set (generation sampling at temperature 1), each
modality is sampled at its own temperature: text at 0 keeps only its most likely token (greedy
text, whose structure tags the warmed-up model places reliably) while image tokens are still
drawn (greedy images collapse onto one picture for every prompt).

>>> import torch
>>> from m2io.unified.vocab import UnifiedVocab
>>> v = UnifiedVocab(think=0, end_think=1, vis=2, end_vis=3, image_ids=[4, 5], tokens_per_image=2, end_ids=[6])
>>> g = ModalityGrammar(v, vocab_size=9, prompt_len=0, max_new_tokens=10)  # 7 and 8 are text
>>> allowed = lambda ids: g.allowed(ids).nonzero().flatten().tolist()
>>> allowed([]), allowed([2, 4]), allowed([2, 4, 5])  # a first step; inside an image
([0, 2], [4, 5], [3])
>>> allowed([0]), allowed([0, 7]), allowed([0, 7, 1])  # inside a text step; between steps
([7, 8], [1, 7, 8], [0, 2, 6])
>>> allowed([0, 7, 7, 7, 7, 1]), allowed([0, 7, 7, 7, 7, 7, 7, 7])  # room for a text step only; close now
([0, 6], [1])
>>> v = UnifiedVocab(think=0, end_think=1, vis=2, end_vis=3, image_ids=[4, 5], tokens_per_image=2, end_ids=[6],
...                  ref_ids=[7])
>>> g = ModalityGrammar(v, vocab_size=9, prompt_len=0, max_new_tokens=20, references=1)
>>> allowed([2]), allowed([2, 7, 3, 2])  # a figure shown once is not offered again
([4, 5, 7], [4, 5])
"""
from __future__ import annotations

import torch

from m2io.unified.vocab import UnifiedVocab


def image_span_state(ids: list[int], vocab: UnifiedVocab) -> int | None:
    """How many image tokens the open image span holds (a reference counts as a full span), or None when
    no image span is open."""
    inside = None
    for t in ids:
        if t == vocab.vis:
            inside = 0
        elif t == vocab.end_vis:
            inside = None
        elif inside is not None and vocab.is_image(t):
            inside += 1
        elif inside is not None and vocab.is_ref(t):
            inside = vocab.tokens_per_image
    return inside


def text_step_tokens(ids: list[int], vocab: UnifiedVocab) -> int | None:
    """How many tokens the open text step holds (after its ``<think>``), or None when no text step is open."""
    tags = (vocab.think, vocab.end_think, vocab.vis, vocab.end_vis)
    for back, t in enumerate(reversed(ids)):
        if t in tags:
            return back if t == vocab.think else None
    return None


class ModalityGrammar:
    """Masks logits so every generated row stays inside the modality grammar."""

    def __init__(self, vocab: UnifiedVocab, vocab_size: int, prompt_len: int | None, max_new_tokens: int,
                 text_temperature: float | None = None, image_temperature: float | None = None,
                 references: int | None = None):
        """``prompt_len`` None: the width of the first ids seen (the left-padded prompts); ``references``: how
        many candidates the prompt offers (reference tokens beyond them are never allowed; None: all;
        ``"prompt"``: per row, the reference tokens its prompt names, as a grounded prompt lists its candidates)."""
        self.vocab, self.prompt_len, self.max_new = vocab, prompt_len, max_new_tokens
        self.temperatures = (text_temperature, image_temperature)
        n = vocab_size
        self.images = torch.zeros(n, dtype=torch.bool)
        self.images[vocab.image_ids] = True
        self.close = torch.zeros(n, dtype=torch.bool)
        self.close[vocab.end_vis] = True
        tags, ends = torch.zeros(n, dtype=torch.bool), torch.zeros(n, dtype=torch.bool)
        tags[[vocab.think, vocab.end_think, vocab.vis, vocab.end_vis]] = True
        self.refs = torch.zeros(n, dtype=torch.bool)
        self.per_prompt = references == "prompt"
        self._row_refs: dict[int, torch.Tensor] = {}
        offered = vocab.ref_ids if references is None or self.per_prompt else vocab.ref_ids[:references]
        if offered:
            self.refs[offered] = True
        if vocab.ref_ids:
            tags[vocab.ref_ids] = True
        ends[vocab.end_ids] = True
        self.text = ~self.images & ~tags & ~ends
        self.in_text = self.text.clone()
        self.in_text[vocab.end_think] = True
        self.end_text = torch.zeros(n, dtype=torch.bool)
        self.end_text[vocab.end_think] = True
        self.ends = ends

    def allowed(self, generated: list[int], refs: torch.Tensor | None = None) -> torch.Tensor:
        """Boolean mask over the vocabulary of the tokens allowed after ``generated`` (``refs``: the reference
        tokens this row may use, default the grammar's)."""
        refs = self.refs if refs is None else refs
        k = image_span_state(generated, self.vocab)
        left = self.max_new - len(generated)
        if k is not None:
            if k == 0:  # right after <vis>: refer, or draw while the whole grid, </vis> and the end fit
                refs = self._not_shown(refs, generated)
                mask = refs if left < self.vocab.tokens_per_image + 2 else self.images | refs
                return mask if mask.any() else self.close
            return self.images if k < self.vocab.tokens_per_image else self.close
        written = text_step_tokens(generated, self.vocab)
        if written is not None:
            return self.end_text if left <= 2 else (self.in_text if written else self.text)
        refs = self._not_shown(refs, generated)
        mask = self.ends.clone() if generated else torch.zeros_like(self.ends)
        mask[self.vocab.think] = left >= 4  # <think>, a token of text, </think>, the end
        mask[self.vocab.vis] = left >= self.vocab.tokens_per_image + 3 or (bool(refs.any()) and left >= 4)
        return mask if mask.any() else self.ends

    def _not_shown(self, refs: torch.Tensor, generated: list[int]) -> torch.Tensor:
        """``refs`` less the figures ``generated`` already references (read only where a reference may come next,
        not at every text or image token)."""
        shown = [t for t in generated if self.vocab.is_ref(t)]
        if not shown:
            return refs
        refs = refs.clone()
        refs[shown] = False
        return refs

    def _prompt_refs(self, row: int, input_ids: torch.Tensor) -> torch.Tensor:
        """The reference tokens row ``row``'s prompt names (read once per row)."""
        if row not in self._row_refs:
            named = set(input_ids[row, :self.prompt_len].tolist()) & set(self.vocab.ref_ids)
            mask = torch.zeros_like(self.refs)
            if named:
                mask[sorted(named)] = True
            self._row_refs[row] = mask
        return self._row_refs[row]

    def _temper(self, kept: torch.Tensor, generated: list[int]) -> torch.Tensor:
        k = image_span_state(generated, self.vocab)
        t = self.temperatures[1 if k else 0]  # k 0: refer or draw is decided at the text temperature
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
            mask = self.allowed(generated, self._prompt_refs(row, input_ids) if self.per_prompt else None)
            width = min(mask.numel(), scores.shape[1])
            kept = scores[row, :width].masked_fill(~mask[:width], -torch.inf)
            if kept.max() < torch.finfo(kept.dtype).min / 2:  # the model itself ruled out every allowed token
                kept = torch.where(mask[:width], 0.0, -torch.inf)  # (Chameleon's image logits): draw uniformly
            scores[row, :width] = self._temper(kept, generated)
            scores[row, width:] = -torch.inf  # padded rows of the embedding matrix are never tokens
        return scores
