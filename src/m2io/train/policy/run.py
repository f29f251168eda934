"""A training run's folder: checkpoint (resume), best policy, metrics log, curves, record.

Both the cold start and GRPO write the same layout, which ``m2io train r1 export`` reads:

- ``policy.pt``: the policy to use (the best on validation, or the last when none is chosen);
- ``checkpoint.pt``: model, optimiser, step and random states, to resume an interrupted run;
- ``metrics.jsonl`` and ``curves.png``; ``m2io-train.json``: what the run was and how long it took.

>>> import tempfile
>>> run = RunFolder(tempfile.mkdtemp())
>>> run.resume_step()
0
"""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

import torch

from m2io.atomic import atomic_write_text
from m2io.train.curves import append_metrics, read_metrics
from m2io.train.resumable import RECORD


class RunFolder:
    def __init__(self, out):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.metrics = self.out / "metrics.jsonl"
        self.checkpoint = self.out / "checkpoint.pt"
        self.policy = self.out / "policy.pt"
        self.started = time.perf_counter()
        self.seconds_before = 0.0

    def resume_step(self) -> int:
        if not self.checkpoint.is_file():
            return 0
        return int(torch.load(self.checkpoint, map_location="cpu", weights_only=False)["step"])

    def load(self, net, optimizer) -> dict:
        """Restore a checkpoint into ``net`` and ``optimizer``; the saved extras (step, best score, ...)."""
        blob = torch.load(self.checkpoint, map_location="cpu", weights_only=False)
        net.load_state_dict(blob["model"])
        optimizer.load_state_dict(blob["optimizer"])
        torch.set_rng_state(blob["torch_rng"])
        random.setstate(blob["python_rng"])
        self.seconds_before = blob.get("seconds", 0.0)
        # Lines logged after the checkpoint belong to steps that run again.
        if self.metrics.is_file():
            rows = [r for r in read_metrics(self.metrics) if r.get("step", 0) <= blob["step"]]
            atomic_write_text(self.metrics, "".join(json.dumps(r) + "\n" for r in rows))
        return blob["extra"]

    def save(self, net, optimizer, step: int, extra: dict) -> None:
        blob = {"model": net.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "extra": extra,
                "torch_rng": torch.get_rng_state(), "python_rng": random.getstate(), "seconds": self.seconds()}
        tmp = self.checkpoint.with_suffix(".tmp")
        torch.save(blob, tmp)
        tmp.replace(self.checkpoint)

    def seconds(self) -> float:
        return self.seconds_before + time.perf_counter() - self.started

    def log(self, row: dict) -> None:
        append_metrics(self.metrics, row)

    def finish(self, record: dict) -> dict:
        from m2io.train.curves import plot_curves

        record = {**record, "train_seconds": round(self.seconds(), 1)}
        atomic_write_text(self.out / RECORD, json.dumps(record, indent=1, default=str) + "\n")
        if self.metrics.is_file():
            plot_curves(self.metrics, self.out / "curves.png")
        return record
