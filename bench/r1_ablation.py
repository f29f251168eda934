"""Ablations of the r1 placement policy's GRPO over several seeds: mean and spread on never-trained corpora.

    .venv/bin/python bench/r1_ablation.py --examples runs/r1-examples --init runs/r1-cold/policy.pt \
        --steps 50 --seeds 0 1 2 --json bench/results/r1-policy/ablation.json

Each arm starts from the same cold-start policy and trains on the same featurised examples
(``m2io train r1 examples``); every arm of a seed sees the same task draws. Arms: ``default``
(group 16, process weight 0.5); ``no-process`` (weight 0); group 8; group 32; and the cold start trained
on for as long as GRPO took (cross-entropy, same examples, same wall time). Scores are the greedy
plans' image F1, ordering and exact position (leave-out bias 0 for every arm) on the validation examples (KiCad and the Debian
Handbook, every item, gold text and extractive answer), mean and standard deviation over seeds.
"""
from __future__ import annotations

import argparse
import json
import pickle
import random
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from m2io.insert.policy.model import PlacementPolicy
from m2io.train.policy.cold_start import cross_entropy
from m2io.train.policy.evaluate import score_examples
from m2io.train.policy.grpo import GRPOConfig, policy_weights, run_grpo

KEYS = ("image_f1", "ordering", "position_accuracy", "position_accuracy_soft")


def load(path: Path):
    return pickle.loads(path.read_bytes())["examples"]


def more_cold_start(init: str, train, seconds: float, seed: int, lr: float = 2e-3) -> PlacementPolicy:
    """Cross-entropy training continued from ``init`` for ``seconds`` of wall time (GRPO's budget)."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    net = PlacementPolicy.load(init).train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.01)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        loss = cross_entropy(net, rng.sample(train, 64))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net.eval()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=Path, required=True, help="Folder with train.pkl and val.pkl.")
    ap.add_argument("--init", required=True, help="The cold-start policy.pt every arm starts from.")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--arms", nargs="+", default=["default", "no-process", "group8", "group32", "cold-more"])
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()
    train, val = load(args.examples / "train.pkl"), load(args.examples / "val.pkl")
    base = GRPOConfig(init=args.init, steps=args.steps, eval_every=args.steps,
                      weights=replace(policy_weights(), process=0.5))  # "default": group 16, process 0.5
    arms = {"default": base, "no-process": replace(base, weights=replace(policy_weights(), process=0.0)),
            "group8": replace(base, group=8), "group32": replace(base, group=32)}
    out = json.loads(args.json.read_text()) if args.json.is_file() else {"runs": {}}
    out.update({"steps": args.steps, "init": args.init, "n_val": len(val)})
    out["cold_start"] = score_examples(PlacementPolicy.load(args.init), val, leave_out_bias=0.0)
    for seed in args.seeds:
        grpo_seconds = None
        for arm in args.arms:
            key = f"{arm}/seed{seed}"
            if key in out["runs"]:
                grpo_seconds = out["runs"][key].get("seconds", grpo_seconds) if arm == "default" else grpo_seconds
                continue
            t = time.perf_counter()
            if arm == "cold-more":
                net = more_cold_start(args.init, train, grpo_seconds or 60.0, seed)
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    # the last step's policy, not the best on validation: the arms are compared as trained
                    net = run_grpo(train, [], replace(arms[arm], out=tmp, seed=seed), progress=False)
            seconds = time.perf_counter() - t
            if arm == "default":
                grpo_seconds = seconds
            out["runs"][key] = {**score_examples(net, val, leave_out_bias=0.0), "seconds": seconds}
            print(key, {k: round(out["runs"][key][k], 3) for k in KEYS}, f"{seconds:.0f} s", flush=True)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(out, indent=1) + "\n")
    summary = {}
    for arm in args.arms:
        runs = [out["runs"][f"{arm}/seed{s}"] for s in args.seeds if f"{arm}/seed{s}" in out["runs"]]
        summary[arm] = {k: (statistics.mean(r[k] for r in runs), statistics.pstdev(r[k] for r in runs)) for k in KEYS}
        summary[arm]["seeds"] = len(runs)
    out["summary"] = summary
    args.json.write_text(json.dumps(out, indent=1) + "\n")
    print("| arm | seeds | " + " | ".join(KEYS) + " |\n" + "| --- " * (len(KEYS) + 2) + "|")
    c = out["cold_start"]
    print("| cold start only | - | " + " | ".join(f"{c[k]:.3f}" for k in KEYS) + " |")
    for arm, s in summary.items():
        print(f"| {arm} | {s['seeds']} | " + " | ".join(f"{s[k][0]:.3f} ± {s[k][1]:.3f}" for k in KEYS) + " |")


if __name__ == "__main__":
    main()
