"""The warm-up runs a few grounded LoRA steps on a tiny model over the tiny index, resumes where it stopped,
and ends as a small unified model folder that loads."""
import json

import pytest

from m2io.train.curves import read_metrics
from m2io.unified.mix import MixConfig
from m2io.unified.model import UnifiedModel
from m2io.unified.tokenizer import ImageTokenizer, TokenizerConfig
from m2io.unified.warmup import WarmupConfig, warmup


@pytest.fixture
def setup(tmp_path, tiny_lm_dir, tiny_index):
    import torch

    torch.manual_seed(0)
    ImageTokenizer(TokenizerConfig(channels=8)).save(tmp_path / "tok")
    cfg = WarmupConfig(corpora=[tiny_index / "tiny"], indexes=[tiny_index / "index"], tokenizer=tmp_path / "tok",
                       base=tiny_lm_dir, clipart=False, lora_r=2,
                       mix=MixConfig(grounded=0.6, understanding=0.2, text_to_image=0.2), steps=2, batch_size=2,
                       lr=1e-3, max_len=400, eval_every=2, eval_examples=2, precision="fp32")
    return cfg, tmp_path


def test_runs_and_resumes(setup):
    cfg, tmp = setup
    out = tmp / "run"
    first = warmup(cfg, out, tmp / "cache")
    assert first["steps"] == 2
    assert first["examples"]["train"]["grounded"] > 0 and first["examples"]["train"]["text_to_image"] > 0
    assert (out / "checkpoint.pt").is_file() and (out / "curves.png").stat().st_size > 1000
    drafts = sorted(p.name for p in out.glob("grounded-*.jsonl"))
    assert drafts == ["grounded-dev-tiny.jsonl", "grounded-train-tiny.jsonl"]
    cfg.steps = 4
    second = warmup(cfg, out, tmp / "cache")
    assert second["steps"] == 4
    rows = [r for r in read_metrics(out / "metrics.jsonl") if "loss" in r]
    assert [r["step"] for r in rows] == [2, 4]  # logged every 5 steps and at the last: no step twice
    assert all(r["loss"] > 0 for r in rows)
    record = json.loads((out / "m2io-train.json").read_text())
    assert record["kind"] == "unified-warmup" and record["steps"] == 4
    assert not (out / "model.safetensors").exists() and (out / "adapter_model.safetensors").is_file()
    model = UnifiedModel.load(out)  # the run ends as a loadable unified model
    assert model.vocab.tokens_per_image == 64 and model.codec.codebook_size == 1000 and len(model.vocab.ref_ids) == 16
    assert model.grounded_config() == cfg.grounded  # the prompt form it learned, which its answerer builds


def test_later_windows_join_the_grounded_pool(setup):
    from dataclasses import replace

    from m2io.unified.grounded import GroundedConfig
    from m2io.unified.warmup import build_pools

    cfg, tmp = setup
    cfg.grounded = GroundedConfig(passage_words=6)
    model = UnifiedModel.from_base(cfg.base, ImageTokenizer.load(cfg.tokenizer), references=16)
    one = build_pools(model, cfg, tmp / "one", tmp / "cache")
    three = build_pools(model, replace(cfg, windows=3), tmp / "three", tmp / "cache")
    for split in ("train", "dev"):
        assert len(three[split]["grounded"]) > len(one[split]["grounded"])  # a window of 6 words: sections have more
        assert len(three[split]["text_to_image"]) == len(one[split]["text_to_image"])


def test_indexes_must_match_corpora(setup):
    cfg, tmp = setup
    cfg.indexes = []
    cfg.corpora = [cfg.corpora[0], cfg.corpora[0]]
    cfg.indexes = [tmp]
    with pytest.raises(ValueError, match="one index per corpus"):
        warmup(cfg, tmp / "bad", tmp / "cache")


def test_micro_batches_give_the_step_the_same_gradient(tiny_unified_dir):
    import torch

    from m2io.unified.mix import Example
    from m2io.unified.trajectory import Step
    from m2io.unified.warmup import batch_loss, target_tokens

    model = UnifiedModel.load(tiny_unified_dir)
    model.add_lora(2, 4)
    examples = [Example("grounded", f"Question: how {i}?\n\nPassage:\nOpen the menu {i}.", [
        Step("text", text=f"Open the menu {i}." + " Then click." * i), Step("reference", ref=1 + i % 3)],
        references=3) for i in range(4)]

    def grads(micro):
        model.lm.zero_grad()
        total = target_tokens(model, examples, 200)
        loss = 0.0
        for i in range(0, len(examples), micro):
            part, _ = batch_loss(model, examples[i:i + micro], 200, False, normalizer=total)
            part.backward()
            loss += part.item()
        return loss, [p.grad.clone() for p in model.lm.parameters() if p.requires_grad]

    whole_loss, whole = grads(4)
    split_loss, split = grads(1)
    assert whole_loss == pytest.approx(batch_loss(model, examples, 200, False)[0].item(), rel=1e-5)
    assert split_loss == pytest.approx(whole_loss, rel=1e-5)  # rows of unequal length: the mean over all tokens
    assert all(torch.allclose(a, b, atol=1e-6, rtol=1e-4) for a, b in zip(whole, split))
    assert any(g.abs().sum() > 0 for g in whole)
