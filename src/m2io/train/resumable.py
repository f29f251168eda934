"""One training run of a TRL trainer into ``out``: resume from its last checkpoint, save, record.

SFT and GRPO end the same way: the adapter (or full model) and tokenizer in ``out``, and
``m2io-train.json`` with what the run was (kind, base, rows, config) and how long training took,
which the adapter card and ``m2io train export`` read.

    record = train_resumable(trainer, tokenizer, Path("runs/sft"), {"kind": "sft"})  # doctest: +SKIP
"""
from __future__ import annotations

import json
from pathlib import Path

RECORD = "m2io-train.json"


def train_resumable(trainer, tokenizer, out: Path, record: dict) -> dict:
    """Train (from the newest ``checkpoint-N`` in ``out`` if any), save, and write ``record`` plus train seconds
    and the steps done."""
    checkpoints = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    done = trainer.train(resume_from_checkpoint=str(checkpoints[-1]) if checkpoints else None)
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    record = {**record, "train_seconds": round(done.metrics["train_runtime"]), "steps": trainer.state.global_step}
    (out / RECORD).write_text(json.dumps(record, indent=1, default=str) + "\n")
    return record
