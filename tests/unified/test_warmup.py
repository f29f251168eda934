"""The warm-up runs a few steps on a tiny model and a tiny corpus, and resumes where it stopped."""
import json

import pytest

from m2io.train.curves import read_metrics
from m2io.unified.mix import MixConfig
from m2io.unified.model import UnifiedModel
from m2io.unified.tokenizer import ImageTokenizer, TokenizerConfig
from m2io.unified.warmup import WarmupConfig, warmup
from conftest import write_tiny_corpus


@pytest.fixture
def setup(tmp_path, tiny_lm_dir):
    import torch

    torch.manual_seed(0)
    corpus = write_tiny_corpus(tmp_path / "tiny")
    ImageTokenizer(TokenizerConfig(channels=8)).save(tmp_path / "tok")
    cfg = WarmupConfig(corpora=[corpus], tokenizer=tmp_path / "tok", base=tiny_lm_dir, clipart=False,
                       mix=MixConfig(words_per_step=8), steps=2, batch_size=2, lr=1e-3, max_len=160, eval_every=2,
                       eval_examples=2)
    return cfg, tmp_path


def test_runs_and_resumes(setup):
    cfg, tmp = setup
    out = tmp / "run"
    first = warmup(cfg, out, tmp / "cache")
    assert first["steps"] == 2
    assert sum(first["examples"]["train"].values()) > 0
    assert (out / "checkpoint.pt").is_file() and (out / "curves.png").stat().st_size > 1000
    cfg.steps = 4
    second = warmup(cfg, out, tmp / "cache")
    assert second["steps"] == 4
    rows = [r for r in read_metrics(out / "metrics.jsonl") if "loss" in r]
    assert [r["step"] for r in rows] == [2, 4]  # logged every 5 steps and at the last: no step twice
    assert all(r["loss"] > 0 for r in rows)
    record = json.loads((out / "m2io-train.json").read_text())
    assert record["kind"] == "unified-warmup" and record["steps"] == 4
    model = UnifiedModel.load(out)  # the run ends as a loadable unified model
    assert model.vocab.tokens_per_image == 64 and model.codec.codebook_size == 1000
