"""Cold start of the r1 placement policy: cross-entropy on the gold decisions.

Every candidate of every training example is one classification (leave out, or its gold slot).
Epochs over shuffled examples with AdamW; validation (never-trained corpora: they choose the
checkpoint) every epoch, the best epoch kept as ``policy.pt``; resumable per epoch.

    net = run_cold_start(train_examples, val_examples, ColdStartConfig(out="runs/r1-cold"))  # doctest: +SKIP
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field

import torch
from tqdm import tqdm

from m2io.insert.policy.model import PlacementPolicy, PolicyConfig, collate
from m2io.train.policy.evaluate import score_examples, selection_score, set_leave_out_bias
from m2io.train.policy.run import RunFolder


@dataclass(frozen=True)
class ColdStartConfig:
    out: str = "runs/r1-cold"
    """Run folder (policy.pt, checkpoint.pt, metrics.jsonl, curves.png, m2io-train.json)."""
    epochs: int = 15
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.01
    seed: int = 0
    policy: PolicyConfig = field(default_factory=PolicyConfig)


def cross_entropy(net, examples) -> torch.Tensor:
    """Mean cross-entropy of the gold action over the real candidates of ``examples``."""
    batch = collate([e.features for e in examples], net.config.embed_dim)
    logits = net(batch)
    target = torch.zeros(batch.cand_mask.shape, dtype=torch.long)
    for b, e in enumerate(examples):
        target[b, :len(e.actions)] = torch.from_numpy(e.actions)
    logp = torch.log_softmax(logits, -1).gather(-1, target[..., None]).squeeze(-1)
    return -(logp * batch.cand_mask).sum() / batch.cand_mask.sum().clamp(min=1)


def run_cold_start(train, val, config: ColdStartConfig, command: str = "", progress: bool = True,
                   record: dict | None = None) -> PlacementPolicy:
    """Train from scratch (or resume); ``record``: what else the run record should say (the corpora)."""
    run = RunFolder(config.out)
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    net = PlacementPolicy(config.policy)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    start, best = 0, {"score": float("-inf"), "epoch": None}
    if run.checkpoint.is_file():
        best = run.load(net, optimizer)
        start = run.resume_step()
    steps_per_epoch = max(1, -(-len(train) // config.batch_size))
    bar = tqdm(total=config.epochs * steps_per_epoch, initial=start * steps_per_epoch, desc="r1 cold start",
               unit="batch", disable=not progress)
    for epoch in range(start + 1, config.epochs + 1):
        net.train()
        order = random.sample(range(len(train)), len(train))
        losses = []
        for i in range(0, len(order), config.batch_size):
            loss = cross_entropy(net, [train[j] for j in order[i:i + config.batch_size]])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            losses.append(loss.item())
            bar.update(1)
        row = {"step": epoch, "loss": sum(losses) / len(losses)}
        scores = score_examples(net, val)
        row.update({f"val/{k}": v for k, v in scores.items() if k != "n"})
        if val and selection_score(scores) > best["score"]:
            best = {"score": selection_score(scores), "epoch": epoch}
            net.save(run.policy)
        bar.set_postfix(loss=f"{row['loss']:.3f}", val_f1=f"{scores.get('image_f1', float('nan')):.3f}")
        run.log(row)
        run.save(net, optimizer, epoch, best)
    bar.close()
    if not val or best["epoch"] is None:
        net.save(run.policy)
    bias = set_leave_out_bias(run.policy, val)
    run.finish({**(record or {}), "kind": "r1-cold", "command": command, "examples": len(train), "validation": len(val),
                "best_epoch": best["epoch"], **bias, "config": asdict(config)})
    return PlacementPolicy.load(run.policy)
