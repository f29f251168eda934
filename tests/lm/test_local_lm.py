"""The local backend on the real SmolLM2-135M-Instruct shipped on PyPI (converted from its GGUF)."""
from __future__ import annotations

import pytest

from m2io.lm.base import LMError
from m2io.lm.local import LocalChatModel

MESSAGES = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


def test_converted_folder_is_plain_transformers(smollm2_dir):
    import json

    config = json.loads((smollm2_dir / "config.json").read_text())
    assert "quantization_config" not in config and config["model_type"] == "llama"
    assert (smollm2_dir / "model.safetensors").is_file()


def test_greedy_generation_counts_tokens_and_is_deterministic(local_lm):
    a = local_lm.chat(MESSAGES, max_tokens=12)
    b = local_lm.chat(MESSAGES, max_tokens=12)
    assert a.text == b.text and "Paris" in a.text
    assert 0 < a.completion_tokens <= 12 and a.prompt_tokens > 10 and a.seconds > 0


def test_stop_strings_cut_the_answer(local_lm):
    full = local_lm.chat(MESSAGES, max_tokens=12)
    word = full.text.split()[0] if full.text.split() else full.text
    cut = local_lm.chat(MESSAGES, max_tokens=12, stop=[word])
    assert word not in cut.text and cut.completion_tokens <= full.completion_tokens


def test_bad_model_folder(tmp_path):
    with pytest.raises(LMError, match="not a transformers model folder"):
        LocalChatModel(tmp_path)


def test_no_repeat_ngram_keeps_the_model_from_repeating(local_lm):
    """Greedy SmolLM2 repeats itself on this prompt; with no_repeat_ngram=2 no token pair comes twice."""
    ask = [{"role": "user", "content": "Repeat after me: la la la la la la la la la la la la"}]
    ids = lambda text: local_lm.tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    pairs = lambda t: list(zip(t, t[1:]))  # noqa: E731
    free = ids(local_lm.chat(ask, max_tokens=40).text)
    kept = ids(local_lm.chat(ask, max_tokens=40, no_repeat_ngram=2).text)
    assert len(set(pairs(free))) < len(pairs(free)) - 10  # it repeats (23 distinct pairs of 39, measured)
    assert len(kept) > 20 and len(set(pairs(kept))) >= len(pairs(kept)) - 1  # re-tokenising may merge a pair
