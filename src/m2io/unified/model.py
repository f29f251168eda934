"""The unified model: any causal LM plus any image tokenizer, writing text steps and images in one
trajectory under the modality grammar.

``UnifiedModel.from_base`` adds the tags and one token per image code to a text LM (default: the
bundled SmolLM2-135M-Instruct) and grows its embeddings (new rows start at the mean of the old
ones); ``load``/``save`` keep the LM, its tokenizer, the image tokenizer and the vocabulary map in
one folder. A model whose vocabulary already holds image tokens (Chameleon) is built directly with
its own :class:`~m2io.unified.vocab.UnifiedVocab` and image codec (:mod:`m2io.unified.chameleon`).

>>> from m2io.unified.tokenizer import ImageTokenizer                       # doctest: +SKIP
>>> model = UnifiedModel.from_base(None, ImageTokenizer.load("models/image-tokenizer"))  # doctest: +SKIP
>>> [t.well_formed for _, t in model.generate(["How do I crop an image?"])]  # doctest: +SKIP
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import torch
from PIL import Image as PILImage

from m2io.unified.grammar import ModalityGrammar
from m2io.unified.trajectory import Step, Trajectory, parse_ids, trajectory_ids
from m2io.unified.vocab import END_VIS, VIS, UnifiedVocab, add_unified_tokens

SYSTEM = "You answer with text steps and figures."
UNIFIED_FILE, CODEC_DIR = "unified.json", "image-tokenizer"


class ImageCodec(Protocol):
    """What the unified model needs from an image tokenizer."""

    codebook_size: int
    tokens_per_image: int

    def encode(self, images: torch.Tensor) -> torch.Tensor: ...

    def decode(self, codes: torch.Tensor) -> torch.Tensor: ...


class UnifiedModel:
    def __init__(self, lm, tokenizer, codec, vocab: UnifiedVocab, image_size: int = 64):
        self.lm, self.tokenizer, self.codec, self.vocab = lm, tokenizer, codec, vocab
        self.image_size = image_size
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token

    @classmethod
    def from_base(cls, lm_dir: str | Path | None, codec) -> "UnifiedModel":
        """A text LM folder (None: the bundled SmolLM2-135M-Instruct) given the image tokenizer's codes."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from m2io.encoders.text import offline
        from m2io.lm.local import default_model_dir

        offline()
        folder = Path(lm_dir) if lm_dir else default_model_dir()
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        lm = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
        vocab = add_unified_tokens(tokenizer, codec.codebook_size, codec.tokens_per_image)
        lm.resize_token_embeddings(len(tokenizer), mean_resizing=True)
        return cls(lm, tokenizer, codec, vocab, getattr(getattr(codec, "config", None), "image_size", 64))

    def save(self, folder: Path) -> Path:
        folder = Path(folder)
        self.lm.save_pretrained(str(folder))
        self.tokenizer.save_pretrained(str(folder))
        self.codec.save(folder / CODEC_DIR)
        (folder / UNIFIED_FILE).write_text(json.dumps({"vocab": self.vocab.to_dict(), "image_size": self.image_size,
                                                       "system": SYSTEM}, indent=1) + "\n")
        return folder

    @classmethod
    def load(cls, folder: Path) -> "UnifiedModel":
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from m2io.encoders.text import offline
        from m2io.unified.tokenizer import ImageTokenizer, TokenizerError

        offline()
        folder = Path(folder)
        if not (folder / UNIFIED_FILE).is_file():
            raise TokenizerError(f"{folder}: not a unified model folder (no {UNIFIED_FILE})")
        meta = json.loads((folder / UNIFIED_FILE).read_text())
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        lm = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).eval()
        return cls(lm, tokenizer, ImageTokenizer.load(folder / CODEC_DIR), UnifiedVocab(**meta["vocab"]),
                   meta.get("image_size", 64))

    # --- sequences -------------------------------------------------------------------------------
    def text_ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def image_text(self, codes: list[int]) -> str:
        """An image as prompt text (its tokens are special tokens, so tokenizing gives them back)."""
        return VIS + "".join(self.tokenizer.convert_ids_to_tokens([self.vocab.image_ids[c] for c in codes])) + END_VIS

    def prompt_ids(self, user: str) -> list[int]:
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
        text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def answer_ids(self, steps: list[Step]) -> list[int]:
        """The assistant's part: the steps, then the end of turn."""
        return trajectory_ids(steps, self.vocab, self.text_ids) + self.vocab.end_ids[:1]

    def parse(self, ids: list[int]) -> Trajectory:
        return parse_ids(ids, self.vocab, lambda t: self.tokenizer.decode(t, skip_special_tokens=True))

    # --- images ----------------------------------------------------------------------------------
    def image_codes(self, images: list[PILImage.Image]) -> list[list[int]]:
        from m2io.unified.tokenizer import to_tensor

        if not images:
            return []
        return self.codec.encode(to_tensor(images, self.image_size)).tolist()

    def decode_image(self, codes: list[int]) -> PILImage.Image:
        from m2io.unified.tokenizer import to_pil

        return to_pil(self.codec.decode(torch.tensor([codes])))[0]

    # --- generation ------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, users: list[str], max_new_tokens: int = 256, temperature: float = 0.8, top_p: float = 0.95,
                 seed: int | None = 0, grammar: bool = True,
                 image_temperature: float | None = None) -> list[tuple[list[int], Trajectory]]:
        """Generated ids and their trajectory for each user message (rows batched, left-padded).

        ``image_temperature`` set: text at ``temperature`` (0: greedy) and image tokens at this one,
        each under the grammar (top-p off)."""
        from transformers import LogitsProcessorList

        if seed is not None:
            torch.manual_seed(seed)
        prompts = [self.prompt_ids(u) for u in users]
        width = max(len(p) for p in prompts)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        processors = LogitsProcessorList()
        split = grammar and image_temperature is not None
        if grammar:
            processors.append(ModalityGrammar(self.vocab, self.lm.get_output_embeddings().weight.shape[0], width,
                                              max_new_tokens, *((temperature, image_temperature) if split else ())))
        if split:
            temperature, top_p = 1.0, None
        self.lm.eval()
        out = self.lm.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                               do_sample=temperature > 0, temperature=temperature or None,
                               top_p=top_p if temperature > 0 else None, top_k=None,
                               logits_processor=processors, eos_token_id=self.vocab.end_ids, pad_token_id=pad)
        results = []
        for row in out[:, width:].tolist():
            if any(t in self.vocab.end_ids for t in row):
                row = row[:min(row.index(t) for t in self.vocab.end_ids if t in row) + 1]
            results.append((row, self.parse(row)))
        return results
