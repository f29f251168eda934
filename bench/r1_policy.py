"""Inserter-R1 (the placement policy) against every other inserter, per corpus, with 95% intervals.

    .venv/bin/python bench/r1_policy.py --corpus kicad=data/kicad=index/kicad=all \
        --task insert --run rule r1-cold=runs/r1-cold r1-grpo=runs/r1-grpo onepass@40 r1-lm \
        --json bench/results/r1-policy/insert-kicad.json

``--run`` items: ``rule``; ``onepass`` and ``r1-lm`` (the shipped LoRA adapter; ``r1-lm:none``
zero-shot) on the bundled SmolLM2-135M; ``LABEL=POLICY`` runs ``--inserter r1`` with that policy
(a run folder or policy.pt); ``--no-provenance`` hides that the gold text is its section's own
(the policy places by content alone); ``@N`` evaluates a seeded sample of N items instead of every item.
Every run sees the same items (same seed); per-item records go beside the JSON. Prints a
Markdown table: n, image F1, ordering, exact and soft position (each with its 95% bootstrap
interval), insert-stage latency p50, tokens generated and model calls.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from m2io.components import ComponentConfig, Components
from m2io.evaluate.run import run_eval
from m2io.retrieve import Retriever

METRICS = ("image_f1", "ordering", "position_accuracy", "position_accuracy_soft")


def parse_run(item: str) -> tuple[str, dict, int | None]:
    """``LABEL[=POLICY][@N]`` -> (label, component changes, limit)."""
    item, _, limit = item.partition("@")
    label, _, policy = item.partition("=")
    if policy:
        changes = {"inserter": "r1", "r1_policy": policy}
    elif label.startswith("r1-lm"):
        changes = {"inserter": "r1-lm", "r1_adapter": None if label.endswith(":none") else "auto"}
    else:
        changes = {"inserter": label}
    return label, changes, int(limit) if limit else None


def cell(s: dict, key: str) -> str:
    ci = s.get(f"{key}_ci95")
    return f"{s[key]:.3f} [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else f"{s.get(key, float('nan')):.3f}"


def table(corpus: str, task: str, runs: dict) -> str:
    rows = ["| corpus | task | inserter | n | image F1 | ordering | exact position | soft position | "
            "insert p50 ms | tokens | calls |", "| --- " * 11 + "|"]
    for label, s in runs.items():
        rows.append(f"| {corpus} | {task} | {label} | {s['n']} | " + " | ".join(cell(s, k) for k in METRICS)
                    + f" | {s['stage_ms_p50'].get('insert', 0):.1f} | {s['tokens_generated_mean']:.1f} | "
                      f"{s['model_calls_mean']:.1f} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True, help="NAME=DATASET_FOLDER=INDEX_FOLDER=SPLIT")
    ap.add_argument("--task", choices=["insert", "e2e"], default="insert")
    ap.add_argument("--run", nargs="+", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", type=int, default=5, help="Chunks retrieved for distractors (insert) or context (e2e).")
    ap.add_argument("--no-provenance", action="store_true",
                    help="insert: the inserter is not told where the answer's text came from.")
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()
    name, folder, index, split = args.corpus.split("=")
    retriever = Retriever.open(index)
    shared = Components(ComponentConfig())
    out = json.loads(args.json.read_text()) if args.json.is_file() else {}
    out.update({"corpus": name, "folder": folder, "split": split, "task": args.task, "seed": args.seed, "k": args.k,
                "provenance": not args.no_provenance})
    out.setdefault("runs", {})
    for item in args.run:
        label, changes, limit = parse_run(item)
        comps = Components(replace(ComponentConfig(), **changes), text_encoder=shared.encoder)
        comps._lm = shared._lm  # one language model for every LM run: equal model size by construction
        summary = run_eval(Path(folder), args.task, retriever, comps, split=split, limit=limit, seed=args.seed,
                           k=args.k, provenance=not args.no_provenance, bertscore=args.task == "e2e",
                           json_out=args.json.with_suffix("") / f"{label}.json")
        shared._lm = comps._lm
        out["runs"][label] = {**summary, "limit": limit}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1) + "\n")
        print(table(name, args.task, {label: summary}).split("\n")[-1], flush=True)
    print(table(name, args.task, out["runs"]))


if __name__ == "__main__":
    main()
