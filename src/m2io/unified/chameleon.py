"""transformers' Chameleon through the unified interface: its own VQ image tokens, its own vocabulary.

Chameleon's vocabulary already holds one token per VQ code (``IMGIMG...`` names, mapped by
``vocabulary_mapping``), and marks images with ``<racm3:break>`` ... ``<eoss>``; text steps get the
added ``<think>`` tags. Two limits of the transformers port shape what works: its VQ model has an
encoder and no decoder (images can be read, generated codes cannot become pixels: ``decode``
raises, and answers report the image as undecodable), and its forward pass pushes image-token
logits to the dtype's minimum (the released checkpoints write text only); under the modality
grammar an image span is then drawn uniformly. So Chameleon serves understanding (an image in
the prompt, a text answer); image generation needs a model with a decoder (ours, or VILA-U/Janus
weights where they can be loaded).

>>> model = chameleon_unified(ChameleonForConditionalGeneration.from_pretrained(d), AutoTokenizer.from_pretrained(d))  # doctest: +SKIP
"""
from __future__ import annotations

import torch

from m2io.unified.model import UnifiedModel
from m2io.unified.tokenizer import TokenizerError
from m2io.unified.vocab import END_THINK, THINK, UnifiedVocab

IMAGE_START, IMAGE_END = "<racm3:break>", "<eoss>"


class ChameleonCodec:
    """Chameleon's VQ encoder as an image codec (codes, not BPE ids)."""

    def __init__(self, model):
        cfg = model.config.vq_config
        self.model = model
        self.mapping = model.model.vocabulary_mapping
        self.codebook_size = int(cfg.num_embeddings)
        side = int(cfg.resolution) // 2 ** (len(cfg.channel_multiplier) - 1)
        self.tokens_per_image = side * side
        self.image_size = int(cfg.resolution)

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1], (B, 3, S, S) -> codes (B, tokens_per_image)."""
        bpe = self.model.model.get_image_tokens(images.to(self.model.dtype) * 2 - 1)
        lookup = self.mapping.bpe2img
        return torch.tensor([[lookup[int(t)] for t in row] for row in bpe])

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        raise TokenizerError("transformers' Chameleon has no VQ decoder: its image codes cannot be turned into pixels")

    def save(self, folder) -> None:
        raise TokenizerError("Chameleon's image tokenizer lives inside the Chameleon checkpoint; save the model instead")


def chameleon_unified(model, tokenizer) -> UnifiedModel:
    """A :class:`UnifiedModel` over a loaded ``ChameleonForConditionalGeneration`` and its tokenizer."""
    codec = ChameleonCodec(model)
    missing = [t for t in (IMAGE_START, IMAGE_END) if t not in tokenizer.get_vocab()]
    tokenizer.add_special_tokens({"additional_special_tokens": [THINK, END_THINK, *missing]})
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    ids = tokenizer.convert_tokens_to_ids
    img2bpe = codec.mapping.img2bpe
    vocab = UnifiedVocab(think=ids(THINK), end_think=ids(END_THINK), vis=ids(IMAGE_START), end_vis=ids(IMAGE_END),
                         image_ids=[img2bpe[k] for k in range(codec.codebook_size)],
                         tokens_per_image=codec.tokens_per_image,
                         end_ids=[i for i in {tokenizer.eos_token_id} if i is not None])
    return UnifiedModel(model, tokenizer, codec, vocab, codec.image_size)
