"""Where the unified model's structure tokens and image codes live in the LM's vocabulary.

A text step is ``<think> ... </think>``; an image step is ``<vis>`` + either exactly
``tokens_per_image`` image tokens (a drawn image) or one reference token ``<ref_k>`` (candidate
figure k of the prompt, shown as it is) + ``</vis>``. :func:`add_unified_tokens` adds the four
tags, one token per code (``<img_0000>`` ...) and ``references`` reference tokens to a text
tokenizer; a model whose vocabulary already holds image tokens (Chameleon) builds its
:class:`UnifiedVocab` from its own mapping instead.

>>> v = UnifiedVocab(think=10, end_think=11, vis=12, end_vis=13, image_ids=[20, 21, 22], tokens_per_image=4,
...                  end_ids=[2], ref_ids=[30, 31])
>>> v.code_of(21), v.is_image(22), v.is_image(13), v.ref_of(31), v.is_ref(20)
(1, True, False, 2, False)
"""
from __future__ import annotations

from dataclasses import dataclass, field

THINK, END_THINK, VIS, END_VIS = "<think>", "</think>", "<vis>", "</vis>"


def image_token(code: int) -> str:
    return f"<img_{code:04d}>"


def ref_token(k: int) -> str:
    """The reference token of candidate figure ``k`` (1-based, as the candidates are numbered)."""
    return f"<ref_{k}>"


@dataclass
class UnifiedVocab:
    think: int
    end_think: int
    vis: int
    end_vis: int
    image_ids: list[int]
    """LM token id of each image code (code k -> image_ids[k])."""
    tokens_per_image: int
    end_ids: list[int] = field(default_factory=list)
    """Tokens that end a generation (EOS, the chat template's end of turn)."""
    ref_ids: list[int] = field(default_factory=list)
    """LM token id of each reference token (candidate k -> ref_ids[k - 1]); empty: the model only draws."""

    def __post_init__(self):
        self._code = {t: k for k, t in enumerate(self.image_ids)}
        self._ref = {t: k for k, t in enumerate(self.ref_ids, 1)}

    def is_ref(self, token_id: int) -> bool:
        return token_id in self._ref

    def ref_of(self, token_id: int) -> int:
        """The candidate number (1-based) a reference token names."""
        return self._ref[token_id]

    def is_image(self, token_id: int) -> bool:
        return token_id in self._code

    def code_of(self, token_id: int) -> int:
        return self._code[token_id]

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("think", "end_think", "vis", "end_vis", "image_ids",
                                               "tokens_per_image", "end_ids", "ref_ids")}


def add_unified_tokens(tokenizer, codebook_size: int, tokens_per_image: int, references: int = 0) -> UnifiedVocab:
    """Add the tags, ``codebook_size`` image tokens and ``references`` reference tokens to ``tokenizer`` (as
    special tokens, so no merge ever splits or joins them) and say where they landed. Resize the model's
    embeddings after."""
    images = [image_token(k) for k in range(codebook_size)]
    refs = [ref_token(k) for k in range(1, references + 1)]
    tokenizer.add_special_tokens({"additional_special_tokens": [THINK, END_THINK, VIS, END_VIS, *images, *refs]})
    ids = tokenizer.convert_tokens_to_ids
    ends = [i for i in {tokenizer.eos_token_id, ids("<|im_end|>")} if i is not None and i != tokenizer.unk_token_id]
    return UnifiedVocab(think=ids(THINK), end_think=ids(END_THINK), vis=ids(VIS), end_vis=ids(END_VIS),
                        image_ids=[ids(t) for t in images], tokens_per_image=tokens_per_image, end_ids=sorted(ends),
                        ref_ids=[ids(t) for t in refs])
