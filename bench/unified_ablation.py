"""An ablation with seeds: each row (a setting) has several runs, each paired against one baseline.

For every metric and row: each seed's paired difference from the baseline (mean over the items, 95%
bootstrap interval, as :mod:`unified_paired`), then the row's mean over seeds and their spread (sample
standard deviation, and min..max). Rows are compared with each other item by item on the seed-averaged
scores: per item, the mean over the row's seeds, then the paired difference of two rows with its interval
(seeds vary the policy; items vary far more, so the interval resamples items).

    .venv/bin/python bench/unified_ablation.py --baseline runs/pw/abl-warmup2.json \\
        --row "0=runs/pw/abl-p0-s0.json,runs/pw/abl-p0-s1.json,runs/pw/abl-p0-s2.json" \\
        --row "0.5=runs/pw/abl-p0.5-s0.json" --json bench/results/unified/grounded/ablation.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from unified_paired import METRICS, paired, per_item  # noqa: E402

from m2io.evaluate.bootstrap import bootstrap_ci  # noqa: E402


def seed_mean(runs: list[dict[str, dict]], key: str) -> dict[str, float]:
    """item -> the mean of ``key`` over the runs that all scored it."""
    items = set.intersection(*(set(r) for r in runs))
    return {i: statistics.fmean(r[i][key] for r in runs) for i in items
            if all(r[i].get(key) is not None for r in runs)}


def summary(diffs: list[float]) -> dict:
    return {"mean": statistics.fmean(diffs), "sd": statistics.stdev(diffs) if len(diffs) > 1 else None,
            "min": min(diffs), "max": max(diffs), "seeds": len(diffs)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", type=Path, required=True, help="the eval JSON every run is paired against")
    ap.add_argument("--row", action="append", required=True, metavar="NAME=A.json,B.json",
                    help="a setting and its runs (one per seed)")
    ap.add_argument("--kind", choices=["template", "user"], help="only the questions of this kind [all]")
    ap.add_argument("--json", type=Path, help="write the table's numbers here")
    args = ap.parse_args(argv)

    def load(path: Path) -> dict[str, dict]:
        return {k: v for k, v in per_item(path).items() if args.kind is None or f"/{args.kind}/" in k}

    base = load(args.baseline)
    rows: dict[str, list[dict[str, dict]]] = {}
    for spec in args.row:
        name, _, paths = spec.partition("=")
        if not paths:
            ap.error(f"--row {spec!r}: give NAME=A.json[,B.json...]")
        rows[name] = [load(Path(p)) for p in paths.split(",")]
    out: dict = {"baseline": str(args.baseline), "kind": args.kind or "all", "rows": {}, "between": {}}
    print(f"| metric | setting | seeds: difference from {args.baseline.stem} (95% CI) | mean over seeds | sd | min..max |")
    print("| --- | --- | --- | --- | --- | --- |")
    for key in METRICS:
        for name, runs in rows.items():
            per_seed = [paired(base, r, key) for r in runs]
            got = [p for p in per_seed if p is not None]
            if not got:
                continue
            s = summary([m for m, _, _ in got])
            out["rows"].setdefault(name, {})[key] = {"per_seed": [[m, list(ci), n] for m, ci, n in got], **s}
            seeds = "; ".join(f"{m:+.3f} [{lo:+.3f}, {hi:+.3f}]" for m, (lo, hi), _ in got)
            sd = "-" if s["sd"] is None else f"{s['sd']:.3f}"
            print(f"| {key} | {name} (n={got[0][2]}) | {seeds} | {s['mean']:+.3f} | {sd} | "
                  f"{s['min']:+.3f}..{s['max']:+.3f} |")
    names = list(rows)
    if len(names) > 1:
        print(f"\n| metric | {' | '.join(f'{b} - {a}' for a in names[:1] for b in names[1:])} (seed-averaged, 95% CI) |")
        print("| --- |" + " --- |" * (len(names) - 1))
        for key in METRICS:
            a = seed_mean(rows[names[0]], key)
            cells = []
            for b_name in names[1:]:
                b = seed_mean(rows[b_name], key)
                diffs = [b[i] - a[i] for i in a if i in b]
                if not diffs:
                    cells.append("-")
                    continue
                mean, ci = statistics.fmean(diffs), bootstrap_ci(diffs)
                out["between"].setdefault(f"{b_name} - {names[0]}", {})[key] = [mean, list(ci), len(diffs)]
                cells.append(f"{mean:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}] n={len(diffs)}")
            print(f"| {key} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return out


if __name__ == "__main__":
    main()
