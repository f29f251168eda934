"""rule, onepass and r1 (zero-shot and trained adapters), on the insert and e2e tasks, side by side in one process.

    .venv/bin/python bench/inserters.py --corpus data/gimp --index index/gimp --limit 40 \
        --json bench/results/inserters-gimp.json
    .venv/bin/python bench/inserters.py --corpus data/kicad --index index/kicad --limit 40 \
        --only insert:rule insert:r1 --adapter sft=runs/sft grpo=models/inserter-r1 --json out/r1-kicad.json

``--adapter LABEL=FOLDER`` adds the insert task for r1 with that LoRA adapter (``insert:r1-LABEL``);
the plain ``r1`` rows are zero-shot.

Every configuration sees the same dev-split items (same seed). Each run's per-item records go
to ``bench/results/inserters-<corpus>/<task>-<name>.items.jsonl``. The efficiency ratio is
onepass over r1 on the insert task (same model, same items): tokens generated and insert-stage
latency (median).
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from m2io.components import ComponentConfig, Components
from m2io.evaluate.run import format_row, header, run_eval
from m2io.insert.r1_lm import R1Config
from m2io.retrieve import Retriever

RUNS = [  # (task, label, config changes)
    ("insert", "rule", {"inserter": "rule"}),
    ("insert", "r1", {"inserter": "r1", "r1_adapter": None}),
    ("insert", "r1-think16", {"inserter": "r1", "r1_adapter": None, "r1": R1Config(think_tokens=16)}),
    ("insert", "r1-free", {"inserter": "r1", "r1_adapter": None, "r1": R1Config(constrained=False)}),
    ("insert", "onepass", {"inserter": "onepass"}),
    ("e2e", "rule", {"inserter": "rule"}),
    ("e2e", "r1", {"inserter": "r1", "r1_adapter": None}),
    ("e2e", "onepass", {"inserter": "onepass"}),
    ("e2e", "rule+llm", {"inserter": "rule", "answerer": "llm"}),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", default="dev")
    ap.add_argument("--only", nargs="*", default=None, help="task:label pairs to run (default: all)")
    ap.add_argument("--adapter", nargs="*", default=[], metavar="LABEL=FOLDER",
                    help="r1 with a trained adapter on the insert task, as insert:r1-LABEL")
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()
    adapters = [("insert", f"r1-{label}", {"inserter": "r1", "r1_adapter": folder})
                for label, folder in (a.split("=", 1) for a in args.adapter)]
    runs = RUNS + adapters
    wanted = set(args.only) | {f"{task}:{label}" for task, label, _ in adapters} if args.only else None
    retriever = Retriever.open(args.index)
    shared = Components(ComponentConfig())
    items_dir = args.json.with_suffix("")
    out: dict = json.loads(args.json.read_text()) if args.json.is_file() else {}
    out.update({"corpus": str(args.corpus), "limit": args.limit, "seed": args.seed, "split": args.split})
    out.setdefault("runs", {})
    for task, label, changes in runs:
        if wanted is not None and f"{task}:{label}" not in wanted:
            continue
        comps = Components(replace(ComponentConfig(), **changes), text_encoder=shared.encoder)
        comps._lm = shared._lm  # one language model for every run: equal model size by construction
        summary = run_eval(args.corpus, task, retriever, comps, split=args.split, limit=args.limit, seed=args.seed,
                           json_out=items_dir / f"{task}-{label}.json")
        shared._lm = comps._lm
        out["runs"][f"{task}:{label}"] = summary
        print(header())
        print(format_row(label, summary), flush=True)
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    runs = out["runs"]
    if "insert:r1" in runs and "insert:onepass" in runs:
        r1, one = runs["insert:r1"], runs["insert:onepass"]
        out["onepass_over_r1"] = {
            "tokens_generated_mean": one["tokens_generated_mean"] / max(r1["tokens_generated_mean"], 1e-9),
            "insert_ms_p50": one["stage_ms_p50"]["insert"] / max(r1["stage_ms_p50"]["insert"], 1e-9)}
        print("onepass / r1:", out["onepass_over_r1"])
    args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
