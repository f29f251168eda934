"""Shipping a GRPO run's unified model: its adapter over the warm-up it grew from, carried inside one folder that
loads to the same model wherever the folder is moved."""
import json
import shutil

import pytest
import torch

from m2io.unified.model import UnifiedModel
from m2io.unified.shipped import ship_unified


def _logits(model: UnifiedModel) -> torch.Tensor:
    with torch.no_grad():
        return model.lm(input_ids=torch.tensor([model.prompt_ids("How do I crop?")])).logits


def test_a_grpo_run_ships_with_its_warmup_inside(tiny_unified_dir, tmp_path):
    torch.manual_seed(0)
    policy = UnifiedModel.for_grpo(tiny_unified_dir, r=2)
    for name, p in policy.lm.named_parameters():
        if "lora_B" in name:  # a trained adapter (a fresh one is the identity)
            p.data.normal_(0, 0.5)
    run = policy.save(tmp_path / "run")
    assert json.loads((run / "unified.json").read_text())["parent"] == str(tiny_unified_dir.resolve())

    out = ship_unified(run, tmp_path / "models" / "unified")
    meta = json.loads((out / "unified.json").read_text())
    assert meta["parent"] == "parent" and (out / "parent" / "adapter_model.safetensors").is_file()
    assert not (out / "parent" / "tokenizer.json").exists() and (out / "tokenizer.json").is_file()
    moved = tmp_path / "elsewhere"
    shutil.move(str(out), str(moved))  # nothing outside the folder is named
    shipped, trained, warm = (UnifiedModel.load(f) for f in (moved, run, tiny_unified_dir))
    assert torch.allclose(_logits(shipped), _logits(trained), atol=1e-4)
    assert not torch.allclose(_logits(shipped), _logits(warm), atol=1e-2)  # the GRPO adapter is applied
    assert shipped.vocab == warm.vocab and shipped.grounded == warm.grounded

    with pytest.raises(ValueError, match="not a LoRA model folder"):
        ship_unified(tmp_path / "run" / "image-tokenizer", tmp_path / "bad")
    (run / "tokenizer.json").unlink()  # a copy that fails leaves the shipped folder as it was
    with pytest.raises(FileNotFoundError, match="tokenizer.json is missing"):
        ship_unified(run, moved)
    assert UnifiedModel.load(moved).vocab == warm.vocab and not (tmp_path / "elsewhere.partial").exists()
