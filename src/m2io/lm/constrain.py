"""Constrained decoding for the local backend: only tokens that keep the output viable survive.

A :class:`TextConstraint` says whether a text can still become a valid output (``viable``),
whether it already is one (``complete``) and whether it is inside a free span
(``in_reasoning``). :class:`ConstraintProcessor`, a transformers ``LogitsProcessor``, masks
every token whose text would make the output not viable; once it is complete only the end
token is left. Inside the free span every token is allowed (only tokens that would close it
badly are checked) until ``free_tokens`` is spent; then the span's closing tag is forced.

Only tokens made of the grammar's characters are ever tried outside the free span, so a step
checks about a thousand strings rather than the whole vocabulary.

>>> forced_close("<think>so the crop", "</think>"), forced_close("<think>x</th", "</think>")
('</think>', 'ink>')
"""
from __future__ import annotations

import functools
from typing import Protocol


class TextConstraint(Protocol):
    alphabet: str
    close_tag: str
    """The tag that ends the free span (forced when its token budget is spent)."""

    def viable(self, text: str) -> bool: ...

    def complete(self, text: str) -> bool: ...

    def in_reasoning(self, text: str) -> bool: ...


def forced_close(text: str, tag: str) -> str:
    """What must still be written to close ``tag`` (``text`` may already end with a part of it)."""
    for j in range(len(tag), 0, -1):
        if text.endswith(tag[:j]):
            return tag[j:]
    return tag


@functools.lru_cache(maxsize=4)
def _token_strings(tokenizer) -> list[str]:
    return [tokenizer.decode([i]) for i in range(len(tokenizer))]


class ConstraintProcessor:
    """A ``LogitsProcessor`` that keeps generation inside ``constraint`` (batch rows independently)."""

    def __init__(self, constraint: TextConstraint, tokenizer, prompt_len: int, free_tokens: int, eos_id: int):
        self.constraint, self.tokenizer = constraint, tokenizer
        self.prompt_len, self.free_tokens, self.eos_id = prompt_len, free_tokens, eos_id
        self.strings = _token_strings(tokenizer)
        chars = set(constraint.alphabet)
        self.structural = [i for i, s in enumerate(self.strings) if s and set(s) <= chars]
        self.closing = [i for i, s in enumerate(self.strings) if ">" in s]

    def allowed(self, text: str, n_generated: int) -> list[int] | None:
        """Token ids allowed after ``text``; None means every token (inside the free span)."""
        c = self.constraint
        if c.complete(text):
            return [self.eos_id]
        if c.in_reasoning(text) and n_generated < self.free_tokens:
            return None
        if c.in_reasoning(text):
            need = forced_close(text, c.close_tag)
            return [i for i in self.structural
                    if need.startswith(self.strings[i]) or (self.strings[i].startswith(need)
                                                            and c.viable(text + self.strings[i]))] or [self.eos_id]
        return [i for i in self.structural if c.viable(text + self.strings[i])] or [self.eos_id]

    def __call__(self, input_ids, scores):
        import torch

        for row in range(input_ids.shape[0]):
            generated = input_ids[row, self.prompt_len:]
            text = self.tokenizer.decode(generated, skip_special_tokens=True)
            allowed = self.allowed(text, int(generated.shape[0]))
            if allowed is None:  # free span: only forbid tokens that would close it into an invalid output
                bad = [i for i in self.closing if not self.constraint.viable(text + self.strings[i])]
                scores[row, bad] = -torch.inf
                continue
            mask = torch.full_like(scores[row], -torch.inf)
            mask[allowed] = 0.0
            scores[row] = scores[row] + mask
        return scores
