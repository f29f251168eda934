"""Copy a trained r1 adapter into a small shippable folder: weights in fp16, the run's record, curves, card.

LoRA weights of a 135M model at rank 8 are ~10 MB in fp32 and half that in fp16, with no change
in the plans they produce beyond rounding (the base model stays fp32; PEFT casts on load).

    export_adapter("runs/grpo", "models/inserter-r1-lm")       # doctest: +SKIP
"""
from __future__ import annotations

import shutil
from pathlib import Path

from m2io.train.card import adapter_card
from m2io.train.resumable import RECORD

KEEP = ("adapter_config.json", RECORD, "metrics.jsonl", "curves.png")


def export_adapter(run: str | Path, out: str | Path, note: str | None = None) -> Path:
    """Write ``out`` with the fp16 adapter of ``run``, its record and card (README.md, with ``note``); returns ``out``."""
    import torch
    from safetensors.torch import load_file, save_file

    run, out = Path(run), Path(out)
    weights = run / "adapter_model.safetensors"
    if not weights.is_file() or not (run / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{run} holds no LoRA adapter (adapter_config.json, adapter_model.safetensors)")
    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in load_file(str(weights)).items()}
    save_file(tensors, str(out / "adapter_model.safetensors"), metadata={"format": "pt"})
    for name in KEEP:
        if (run / name).is_file():
            shutil.copy2(run / name, out / name)
    if (run / RECORD).is_file():
        (out / "README.md").write_text(adapter_card(run, note))
    return out
