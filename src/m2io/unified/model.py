"""The unified model: any causal LM plus any image tokenizer, writing text steps and images in one
trajectory under the modality grammar.

``UnifiedModel.from_base`` adds the tags, one token per image code and the reference tokens to a
text LM (default: the bundled SmolLM2-135M-Instruct) and grows its embeddings (new rows drawn from
the old rows' mean and covariance, the same rows every time); ``load``/``save`` keep the LM, its
tokenizer, the image tokenizer and the vocabulary map in one folder. With
:meth:`UnifiedModel.add_lora` the LM trains as LoRA plus the added tokens' rows (PEFT's trainable
tokens), and the folder holds only those (a 22 MB adapter, 34 MB with the tokenizers, not the
540 MB of full weights): ``load`` rebuilds the base LM, applies them and merges them once; a GRPO
folder's adapter sits over its ``parent`` folder's merged model, merged in turn. A model
whose vocabulary already holds image tokens (Chameleon) is built directly with its own
:class:`~m2io.unified.vocab.UnifiedVocab` and image codec (:mod:`m2io.unified.chameleon`).

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
UNIFIED_FILE, CODEC_DIR, ADAPTER_CONFIG = "unified.json", "image-tokenizer", "adapter_config.json"
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class ImageCodec(Protocol):
    """What the unified model needs from an image tokenizer."""

    codebook_size: int
    tokens_per_image: int

    def encode(self, images: torch.Tensor) -> torch.Tensor: ...

    def decode(self, codes: torch.Tensor) -> torch.Tensor: ...


def grow_embeddings(lm, size: int) -> None:
    """Add rows to the LM's embeddings (new rows drawn from the old rows' mean and covariance), the same rows
    every time for one base: the adapter saves the trained input rows, and an untied output layer's added
    rows, never trained, must come back as they were at training time."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        lm.resize_token_embeddings(size, mean_resizing=True)


class UnifiedModel:
    def __init__(self, lm, tokenizer, codec, vocab: UnifiedVocab, image_size: int = 64, base: str | None = None):
        """``base``: the text LM folder the model grew from (None: the bundled one), kept for a LoRA folder."""
        self.lm, self.tokenizer, self.codec, self.vocab = lm, tokenizer, codec, vocab
        self.image_size, self.base = image_size, base
        self.parent: str | None = None
        """A LoRA folder whose model (merged) this one's adapter applies to (GRPO on a warm-up's LoRA)."""
        self.grounded: dict | None = None
        """The grounded prompt's settings it was trained on (:class:`~m2io.unified.grounded.GroundedConfig` fields)."""
        self._token_strings: dict[str, list[int]] | None = None
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token

    @classmethod
    def from_base(cls, lm_dir: str | Path | None, codec, references: int = 0) -> "UnifiedModel":
        """A text LM folder (None: the bundled SmolLM2-135M-Instruct) given the image tokenizer's codes and
        ``references`` reference tokens."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from m2io.encoders.text import offline
        from m2io.lm.local import default_model_dir

        offline()
        folder = Path(lm_dir) if lm_dir else default_model_dir()
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        lm = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
        vocab = add_unified_tokens(tokenizer, codec.codebook_size, codec.tokens_per_image, references)
        grow_embeddings(lm, len(tokenizer))
        return cls(lm, tokenizer, codec, vocab, getattr(getattr(codec, "config", None), "image_size", 64),
                   str(Path(lm_dir).resolve()) if lm_dir else None)

    def added_ids(self) -> list[int]:
        """Token ids of everything the unified vocabulary added (tags, image codes, references)."""
        v = self.vocab
        return sorted({v.think, v.end_think, v.vis, v.end_vis, *v.image_ids, *v.ref_ids})

    def add_lora(self, r: int = 16, alpha: int = 32, rows: bool = True) -> None:
        """Train from here on as LoRA on every linear layer plus (``rows``) the added tokens' embedding rows (tied
        to the output rows in SmolLM2); everything else frozen."""
        from peft import LoraConfig, get_peft_model

        extra = {"trainable_token_indices": {"embed_tokens": self.added_ids()}} if rows else {}
        config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules=LORA_TARGETS, task_type="CAUSAL_LM",
                            **extra)
        self.lm = get_peft_model(self.lm, config)

    @classmethod
    def for_grpo(cls, folder: Path, r: int = 8) -> "UnifiedModel":
        """A model folder ready for GRPO: a LoRA folder is merged and a fresh LoRA (no token rows) trains on top of
        it, with ``parent`` naming the folder it grew from, so that TRL's reference (the adapter disabled) is the
        warmed-up model itself; a full folder trains whole.

        Why not go on training the warm-up's adapter: TRL's fused LM head reads ``lm_head.weight`` directly,
        which under PEFT's trainable tokens on SmolLM2's tied embeddings is the untrained matrix (and has no
        ``bias``), so the log-probabilities of every added token would be wrong."""
        model = cls.load(folder)
        if (Path(folder) / ADAPTER_CONFIG).is_file():
            model.add_lora(r, 2 * r, rows=False)
            model.parent = str(Path(folder).resolve())
        return model

    @property
    def is_lora(self) -> bool:
        return hasattr(self.lm, "peft_config")

    def save(self, folder: Path) -> Path:
        folder = Path(folder)
        if self.is_lora:  # the adapter and the added rows only; never the resized embedding matrix (113 MB)
            self.lm.save_pretrained(str(folder), save_embedding_layers=False, selected_adapters=["default"])
        else:
            self.lm.save_pretrained(str(folder))
        self.tokenizer.save_pretrained(str(folder))
        self.codec.save(folder / CODEC_DIR)
        (folder / UNIFIED_FILE).write_text(json.dumps({"vocab": self.vocab.to_dict(), "image_size": self.image_size,
                                                       "system": SYSTEM, "format": "lora" if self.is_lora else "full",
                                                       "base": self.base, "parent": self.parent,
                                                       "grounded": self.grounded}, indent=1) + "\n")
        return folder

    @classmethod
    def load(cls, folder: Path) -> "UnifiedModel":
        """A model folder: full weights, or a LoRA folder applied to its base (or to its parent) and merged once."""
        from transformers import AutoTokenizer

        from m2io.encoders.text import offline
        from m2io.unified.tokenizer import ImageTokenizer

        offline()
        folder = Path(folder)
        meta = _meta(folder)
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        model = cls(_merged_lm(folder, len(tokenizer)), tokenizer, ImageTokenizer.load(folder / CODEC_DIR),
                    UnifiedVocab(**meta["vocab"]), meta.get("image_size", 64), meta.get("base"))
        model.parent = meta.get("parent")
        model.grounded = meta.get("grounded")
        return model

    def grounded_config(self):
        """The grounded prompt it learned; a folder from before this was recorded learned passages that drop the
        figures past the cut."""
        from m2io.unified.grounded import FIRST_FORM, GroundedConfig

        return GroundedConfig(**self.grounded) if self.grounded else FIRST_FORM

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
                 seed: int | None = 0, grammar: bool = True, image_temperature: float | None = None,
                 references: int | None = None, lookup: int | None = None,
                 loop_break: bool = False,
                 passages: list[list[Step] | None] | None = None, passage_end: bool = False,
                 line_budget: bool = False) -> list[tuple[list[int], Trajectory]]:
        """Generated ids and their trajectory for each user message (rows batched, left-padded).

        ``image_temperature`` set: text at ``temperature`` (0: greedy) and image tokens at this one,
        each under the grammar (top-p off). ``references``: how many candidates the prompts offer (the
        grammar allows no reference beyond). ``lookup`` (one user message only): prompt-lookup decoding
        with this many candidate tokens a pass, transformers' own: a grounded answer copies long runs of its
        passage, which then cost one forward pass per run instead of one per token (3.2x on a copied
        passage here); greedy text comes out the same as without it (sampled image codes draw the
        random numbers in another order). ``loop_break`` (with the grammar): a token that would begin a loop not
        in the prompt is forbidden (:class:`~m2io.unified.loop_break.LoopBreak`), counted in ``loops_broken``.
        ``passages`` (with the grammar): per user message, the steps of the passage it holds, for two rules:
        ``passage_end``, once its last line is written no new text step begins
        (:class:`~m2io.unified.passage_end.PassageEnd`); ``line_budget``, no text step begins a line already
        written as often as the passage holds it (:class:`~m2io.unified.line_budget.LineBudget`), counted in
        ``lines_forbidden``."""
        from transformers import LogitsProcessorList, StoppingCriteriaList

        from m2io.unified.line_budget import LineBudget, passage_lines
        from m2io.unified.loop_break import LoopBreak
        from m2io.unified.loop_stop import LoopStop
        from m2io.unified.passage_end import PassageEnd, passage_end as last_line
        from m2io.unified.written_lines import WrittenLines

        if seed is not None:
            torch.manual_seed(seed)
        prompts = [self.prompt_ids(u) for u in users]
        width = max(len(p) for p in prompts)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        processors = LogitsProcessorList()
        split = grammar and image_temperature is not None
        breaker = None
        if grammar and loop_break:  # before the grammar, whose greedy text step keeps its one best token
            v = self.vocab
            tags = {v.think, v.end_think, v.vis, v.end_vis, *v.ref_ids, *v.end_ids}
            breaker = LoopBreak(width, prompts, set(v.image_ids), tags)
            processors.append(breaker)
        budget = None
        if grammar and passages is not None and (passage_end or line_budget):
            if len(passages) != len(users):
                raise ValueError(f"passages has {len(passages)} entries for {len(users)} user messages")
            v = self.vocab
            written = WrittenLines(v.think, v.end_think, lambda t: self.tokenizer.decode(t, skip_special_tokens=True))
            ends = [last_line(p) if p else None for p in passages]
            if passage_end and any(ends):
                processors.append(PassageEnd(width, ends, written, end_vis=v.end_vis))
            budgets = [passage_lines(p) if p else None for p in passages]
            if line_budget and any(budgets):
                budget = LineBudget(width, budgets, written, self.token_strings())
                processors.append(budget)
        if grammar:
            temperatures = (temperature, image_temperature) if split else (None, None)
            processors.append(ModalityGrammar(self.vocab, self.lm.get_output_embeddings().weight.shape[0], width,
                                              max_new_tokens, *temperatures, references=references))
        if split:
            temperature, top_p = 1.0, None
        extra = {}
        if lookup:
            if len(users) != 1:
                raise ValueError("prompt-lookup decoding takes one user message at a time")
            extra = {"prompt_lookup_num_tokens": lookup}
        if grammar:  # a text loop ends the row (the answerer cuts the step); image codes may repeat
            extra["stopping_criteria"] = StoppingCriteriaList([LoopStop(width, prompts, set(self.vocab.image_ids))])
        self.lm.eval()
        out = self.lm.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                               do_sample=temperature > 0, temperature=temperature or None,
                               top_p=top_p if temperature > 0 else None, top_k=None,
                               logits_processor=processors, eos_token_id=self.vocab.end_ids, pad_token_id=pad, **extra)
        results = []
        for r, row in enumerate(out[:, width:].tolist()):
            if any(t in self.vocab.end_ids for t in row):
                row = row[:min(row.index(t) for t in self.vocab.end_ids if t in row) + 1]
            traj = self.parse(row)
            if breaker is not None:
                traj.loops_broken = breaker.breaks(r, len(row))
            if budget is not None:
                traj.lines_forbidden = budget.forbidden[r]
            results.append((row, traj))
        return results

    def token_strings(self) -> dict[str, list[int]]:
        """Each text token's text and its ids (:func:`~m2io.unified.line_budget.token_strings`), built on first use
        (about 0.3 s for SmolLM2's 49k tokens) and kept."""
        if self._token_strings is None:
            from m2io.unified.line_budget import token_strings

            texts = self.tokenizer.batch_decode([[i] for i in range(len(self.tokenizer))], skip_special_tokens=True)
            self._token_strings = token_strings(lambda ids: texts[ids[0]], len(texts))
        return self._token_strings


def _meta(folder: Path) -> dict:
    from m2io.unified.tokenizer import TokenizerError

    if not (folder / UNIFIED_FILE).is_file():
        raise TokenizerError(f"{folder}: not a unified model folder (no {UNIFIED_FILE})")
    return json.loads((folder / UNIFIED_FILE).read_text())


def _merged_lm(folder: Path, vocab_size: int):
    """The folder's LM with its adapter merged: full weights, or its LoRA over its base or over its ``parent``
    (a folder path, relative to this folder when not absolute: a shipped GRPO model carries its warm-up
    inside), each adapter of the chain merged in turn. Only the top folder's tokenizer is read."""
    from transformers import AutoModelForCausalLM

    meta = _meta(folder)
    if not (folder / ADAPTER_CONFIG).is_file():
        return AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).eval()
    from peft import PeftModel

    from m2io.lm.local import default_model_dir

    if meta.get("parent"):  # an adapter over another LoRA folder's merged model
        lm = _merged_lm(folder / meta["parent"], vocab_size)  # an absolute parent stays itself under "/"
    else:
        base = Path(meta["base"]) if meta.get("base") else default_model_dir()
        lm = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
        grow_embeddings(lm, vocab_size)  # the rows it grew from; the trained ones come from the folder
    return PeftModel.from_pretrained(lm, str(folder)).merge_and_unload().eval()

