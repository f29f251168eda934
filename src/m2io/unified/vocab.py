"""Where the unified model's structure tokens and image codes live in the LM's vocabulary.

A text step is ``<think> ... </think>``, an image ``<vis>`` + exactly ``tokens_per_image`` image
tokens + ``</vis>``. :func:`add_unified_tokens` adds the four tags and one token per code
(``<img_0000>`` ...) to a text tokenizer; a model whose vocabulary already holds image tokens
(Chameleon) builds its :class:`UnifiedVocab` from its own mapping instead.

>>> v = UnifiedVocab(think=10, end_think=11, vis=12, end_vis=13, image_ids=[20, 21, 22], tokens_per_image=4, end_ids=[2])
>>> v.code_of(21), v.is_image(22), v.is_image(13)
(1, True, False)
"""
from __future__ import annotations

from dataclasses import dataclass, field

THINK, END_THINK, VIS, END_VIS = "<think>", "</think>", "<vis>", "</vis>"


def image_token(code: int) -> str:
    return f"<img_{code:04d}>"


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

    def __post_init__(self):
        self._code = {t: k for k, t in enumerate(self.image_ids)}

    def is_image(self, token_id: int) -> bool:
        return token_id in self._code

    def code_of(self, token_id: int) -> int:
        return self._code[token_id]

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("think", "end_think", "vis", "end_vis", "image_ids",
                                               "tokens_per_image", "end_ids")}


def add_unified_tokens(tokenizer, codebook_size: int, tokens_per_image: int) -> UnifiedVocab:
    """Add the tags and ``codebook_size`` image tokens to ``tokenizer`` (as special tokens, so no merge
    ever splits or joins them) and say where they landed. Resize the model's embeddings after."""
    images = [image_token(k) for k in range(codebook_size)]
    tokenizer.add_special_tokens({"additional_special_tokens": [THINK, END_THINK, VIS, END_VIS, *images]})
    ids = tokenizer.convert_tokens_to_ids
    ends = [i for i in {tokenizer.eos_token_id, ids("<|im_end|>")} if i is not None and i != tokenizer.unk_token_id]
    return UnifiedVocab(think=ids(THINK), end_think=ids(END_THINK), vis=ids(VIS), end_vis=ids(END_VIS),
                        image_ids=[ids(t) for t in images], tokens_per_image=tokens_per_image, end_ids=sorted(ends))
