"""The unified GRPO ablation as a Markdown table: one row per run, the benchmark at the run's last step.

Each run folder's ``metrics.jsonl`` holds the interleaved benchmark (every question of the dev
dataset) with its 95% intervals; ``--warmup`` adds the warm-up-only row from an eval JSON
(``m2io eval --task interleaved --json``). A run whose log lacks intervals (runs before they were
logged) is read from ``DIR/<run>/debhandbook.json`` when that eval of its final model exists. ``--copy DIR`` keeps each run's records (metrics, run
record, curves) under DIR for the repository, since the run folders hold 540 MB of weights. Rows run
with several seeds (``<row>-s0``, ``<row>-s1``, ...) get a second table: the mean over seeds and their
spread (sample standard deviation), the ablation's "several seeds, mean and spread".

    .venv/bin/python bench/unified_ablation_table.py runs/unified-grpo-ablation/*-s0 \\
        --warmup bench/results/unified/debhandbook-warmup.json --copy bench/results/unified/ablation
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
from pathlib import Path

METRICS = ("well_formed", "image_count", "text_bertscore_f1", "text_question_cosine", "alignment_context",
           "alignment_caption", "fidelity")
"""The closed-book rounds' headline scores (issues 15-17), which these runs logged."""


def cell(s: dict, key: str, prefix: str = "") -> str:
    value, ci = s.get(prefix + key), s.get(f"{prefix}{key}_ci95")
    if value is None:
        return "-"
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{value:.3f}"


def last_bench(run: Path) -> dict | None:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    bench = [r for r in rows if "dev/well_formed" in r]
    return bench[-1] if bench else None


def seed_table(finals: dict[str, dict]) -> None:
    """Mean and spread over seeds of each row that ran more than one (``finals``: run name -> its scores)."""
    rows: dict[str, list[dict]] = {}
    for name, scores in finals.items():
        rows.setdefault(re.sub(r"-s\d+$", "", name), []).append(scores)
    rows = {k: v for k, v in rows.items() if len(v) > 1}
    if not rows:
        return
    print()
    print("| row | seeds | " + " | ".join(METRICS) + " |")
    print("| --- " * (len(METRICS) + 2) + "|")
    for row, runs in rows.items():
        cells = []
        for key in METRICS:
            values = [r[key] for r in runs if r.get(key) is not None]
            cells.append(f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}" if len(values) > 1 else "-")
        print(f"| {row} | {len(runs)} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--warmup", type=Path, default=None)
    ap.add_argument("--copy", type=Path, default=None)
    args = ap.parse_args()
    print("| run | steps | train s | " + " | ".join(METRICS) + " |")
    print("| --- " * (len(METRICS) + 3) + "|")
    if args.warmup:
        s = json.loads(args.warmup.read_text())["scores"]
        print("| warm-up only | 0 | - | " + " | ".join(cell(s, k) for k in METRICS) + " |")
    finals = {}
    for run in args.runs:
        bench = last_bench(run) if (run / "metrics.jsonl").is_file() else None
        record_path = run / "m2io-train.json"
        record = json.loads(record_path.read_text()) if record_path.is_file() else {}
        if bench is None:
            print(f"| {run.name} | not finished |")
            continue
        scores, prefix = bench, "dev/"
        evaluated = args.copy / run.name / "debhandbook.json" if args.copy else None
        if "dev/well_formed_ci95" not in bench and evaluated and evaluated.is_file():
            scores, prefix = json.loads(evaluated.read_text())["scores"], ""
        finals[run.name] = {k: scores.get(prefix + k) for k in METRICS}
        print(f"| {run.name} | {bench['step']} | {record.get('train_seconds', '-')} | "
              + " | ".join(cell(scores, k, prefix) for k in METRICS) + " |")
        if args.copy:
            keep = args.copy / run.name
            keep.mkdir(parents=True, exist_ok=True)
            for name in ("metrics.jsonl", "m2io-train.json", "curves.png"):
                if (run / name).is_file():
                    shutil.copy2(run / name, keep / name)
    seed_table(finals)


if __name__ == "__main__":
    main()
