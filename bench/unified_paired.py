"""Paired differences of interleaved-benchmark runs against a baseline on the same questions.

Two runs over the same items are compared item by item: for each metric, the mean of (run - baseline)
over the items both scored, with a 95% bootstrap interval of that mean (resampling items, as every
interval here). An interval that excludes 0 is a difference the items support, which the
overlap of the two runs' own intervals understates (the items vary far more than the runs differ).

    .venv/bin/python bench/unified_paired.py bench/results/unified/kicad-warmup.json \\
        bench/results/unified/kicad-grpo.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from m2io.evaluate.bootstrap import bootstrap_ci
from m2io.evaluate.interleaved import HEADLINE

METRICS = HEADLINE


def per_item(path: Path) -> dict[str, dict]:
    """``question`` -> the unified model's scores, from the eval JSON's ``.items.jsonl`` beside it (records of
    the grounded benchmark carry a ``system``; the pipeline baselines' are left out)."""
    items = path.with_name(f"{path.stem}.items.jsonl")
    rows = [json.loads(line) for line in items.read_text().splitlines() if line.strip()]
    return {f"{r['dataset']}/{r.get('kind', '')}/{r.get('qa_id', r.get('id'))}": r["scores"] for r in rows
            if r.get("system", "unified") == "unified"}


def paired(baseline: dict[str, dict], run: dict[str, dict], key: str) -> tuple[float, tuple[float, float], int] | None:
    """(mean difference, its 95% interval, items) over the items where both runs have ``key``."""
    diffs = [run[i][key] - baseline[i][key] for i in baseline
             if i in run and baseline[i].get(key) is not None and run[i].get(key) is not None]
    if not diffs:
        return None
    return sum(diffs) / len(diffs), bootstrap_ci(diffs), len(diffs)


def cell(result) -> str:
    if result is None:
        return "-"
    mean, (lo, hi), n = result
    mark = " (+)" if lo > 0 else " (-)" if hi < 0 else ""
    return f"{mean:+.3f} [{lo:+.3f}, {hi:+.3f}] n={n}{mark}"


def main(paths: list[str]) -> None:
    base_path, *runs = [Path(p) for p in paths]
    base = per_item(base_path)
    stems = [p.stem for p in runs]
    names = [p.stem if stems.count(p.stem) == 1 else p.parent.name for p in runs]  # ablation rows: their folder
    print(f"| metric (run - {base_path.stem}) | " + " | ".join(names) + " |")
    print("| --- |" + " --- |" * len(runs))
    scored = [per_item(p) for p in runs]
    for key in METRICS:
        print(f"| {key} | " + " | ".join(cell(paired(base, s, key)) for s in scored) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
