"""Paired differences of interleaved-benchmark runs against a baseline on the same questions.

Two runs over the same items are compared item by item: for each metric, the mean of (run - baseline)
over the items both scored, with a 95% bootstrap interval of that mean (resampling items, as every
interval here). An interval that excludes 0 is a difference the items support, which the
overlap of the two runs' own intervals understates (the items vary far more than the runs differ).

    .venv/bin/python bench/unified_paired.py bench/results/unified/kicad-warmup.json \\
        bench/results/unified/kicad-grpo.json

A path ending ``@SYSTEM`` takes that system's records instead of the unified model's (``run.json@pipeline:rule``: the
pipeline's ``rule`` on the same drafts); ``--kind user`` keeps one kind of question.

    .venv/bin/python bench/unified_paired.py runs/pw/ws-w6.json@pipeline:rule runs/pw/ws-w6-rules.json --kind user
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from m2io.evaluate.bootstrap import bootstrap_ci
from m2io.evaluate.interleaved import HEADLINE

METRICS = HEADLINE


def per_item(path: Path, system: str = "unified", kind: str | None = None) -> dict[str, dict]:
    """``question`` -> one system's scores (the unified model's by default), from the eval JSON's ``.items.jsonl``
    beside it (records of the grounded benchmark carry a ``system``; ``kind``: only that kind of question)."""
    items = path.with_name(f"{path.stem}.items.jsonl")
    rows = [json.loads(line) for line in items.read_text().splitlines() if line.strip()]
    return {f"{r['dataset']}/{r.get('kind', '')}/{r.get('qa_id', r.get('id'))}": r["scores"] for r in rows
            if r.get("system", "unified") == system and (kind is None or r.get("kind") == kind)}


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


def _spec(arg: str) -> tuple[Path, str]:
    path, at, system = arg.rpartition("@")
    if not at:
        return Path(arg), "unified"
    return Path(path), system or "unified"


def main(args: list[str]) -> None:
    kind = None
    if "--kind" in args:
        at = args.index("--kind")
        if at + 1 >= len(args) or args[at + 1] not in ("template", "user"):
            sys.exit("--kind takes template or user")
        kind, args = args[at + 1], args[:at] + args[at + 2:]
    (base_path, base_system), *runs = [_spec(a) for a in args]
    base = per_item(base_path, base_system, kind)
    for (path, system), rows in [((base_path, base_system), base)] + [(r, per_item(*r, kind)) for r in runs]:
        if not rows:
            sys.exit(f"{path}: no {system} records{'' if kind is None else f' of kind {kind}'} in its .items.jsonl")
    stems = [p.stem for p, _ in runs]
    names = [(p.stem if stems.count(p.stem) == 1 else p.parent.name) + ("" if s == "unified" else f"@{s}")
             for p, s in runs]  # ablation rows: their folder
    base_name = base_path.stem + ("" if base_system == "unified" else f"@{base_system}")
    print(f"| metric (run - {base_name}){'' if kind is None else f' {kind}'} | " + " | ".join(names) + " |")
    print("| --- |" + " --- |" * len(runs))
    scored = [per_item(p, s, kind) for p, s in runs]
    for key in METRICS:
        print(f"| {key} | " + " | ".join(cell(paired(base, s, key)) for s in scored) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
