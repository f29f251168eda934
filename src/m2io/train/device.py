"""Where and in what precision training runs: the GPU when there is one, else the CPU.

bf16 autocast pays on CPUs with AMX or AVX512-BF16 (about 2x for a LoRA step of SmolLM2-135M on
this machine, bench/RESULTS.md); on older CPUs it would be slower than fp32, so it is off there.

>>> settings = trainer_device_args("auto")
>>> sorted(settings)
['bf16', 'use_cpu']
"""
from __future__ import annotations

import torch


def bf16_pays() -> bool:
    """True on a CUDA GPU with bf16, or a CPU with AMX tiles or AVX512-BF16."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    avx = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
    return bool(amx or avx)


def trainer_device_args(precision: str = "auto") -> dict:
    """``use_cpu`` / ``bf16`` for transformers' TrainingArguments; precision: auto, bf16 or fp32."""
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision must be auto, bf16 or fp32, not {precision!r}")
    bf16 = precision == "bf16" or (precision == "auto" and bf16_pays())
    return {"use_cpu": not torch.cuda.is_available(), "bf16": bf16}
