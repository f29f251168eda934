"""Paired differences end to end: one inserter against another on the same drafts, or the default against a baseline run.

    .venv/bin/python bench/e2e_paired.py runs/e2e/validation.items.jsonl --a focused:r1 --b focused:rule \
        --json bench/results/e2e/paired.json
    .venv/bin/python bench/e2e_paired.py runs/e2e/validation.items.jsonl --a focused:r1 \
        --baseline kicad:template=OLD.items.jsonl ... --json bench/results/e2e/paired-before.json

Items are matched by corpus, question kind and QA id. For each metric, the mean of (a - b) per item
with its 95% paired bootstrap interval (1,000 resamples of items; :func:`m2io.evaluate.bootstrap.bootstrap_ci`).
``--baseline CORPUS:KIND=FILE`` takes b from a per-item file of ``m2io eval --task e2e --json`` (another
commit's default, say) instead of from the same items file.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from m2io.evaluate.bootstrap import bootstrap_ci

METRICS = ("image_f1", "ordering", "position_accuracy_soft", "position_accuracy", "rouge_l", "bertscore_f1")


def read_items(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def paired(a: dict, b: dict) -> dict:
    """(corpus, kind, qa id) -> scores, twice -> per metric: n, mean difference, interval."""
    keys = sorted(set(a) & set(b))
    out = {"n": len(keys)}
    for m in METRICS:
        diffs = [a[k][m] - b[k][m] for k in keys if a[k].get(m) is not None and b[k].get(m) is not None]
        if diffs:
            ci = bootstrap_ci(diffs)
            out[m] = {"diff": round(float(np.mean(diffs)), 4), "ci95": [round(ci[0], 4), round(ci[1], 4)] if ci else None}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("items", type=Path)
    ap.add_argument("--a", required=True, help="ANSWERER:INSERTER")
    ap.add_argument("--b", default=None, help="ANSWERER:INSERTER of the same file")
    ap.add_argument("--baseline", nargs="*", default=[], help="CORPUS:KIND=FILE (m2io eval per-item records)")
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()
    items = read_items(args.items)

    def select(spec: str) -> dict:
        answerer, inserter = spec.split(":")
        out: dict = {}
        for r in items:
            if (r["answerer"], r["inserter"]) == (answerer, inserter):
                out.setdefault((r["corpus"], r["kind"]), {})[r["qa_id"]] = r["scores"]
        return out

    a = select(args.a)
    if args.b:
        b = select(args.b)
    else:
        b = {}
        for spec in args.baseline:
            where, _, path = spec.partition("=")
            corpus, kind = where.split(":")
            b[(corpus, kind)] = {r["qa_id"]: r["scores"] for r in read_items(Path(path))}
    rows = []
    for key in sorted(set(a) & set(b)):
        row = {"corpus": key[0], "kind": key[1], **paired(a[key], b[key])}
        rows.append(row)
        cells = " | ".join(f"{row[m]['diff']:+.3f} [{row[m]['ci95'][0]:+.2f}, {row[m]['ci95'][1]:+.2f}]"
                           if m in row and row[m]["ci95"] else "-" for m in METRICS)
        print(f"| {key[0]} | {key[1]} | {row['n']} | {cells} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"a": args.a, "b": args.b or args.baseline, "metrics": METRICS, "rows": rows},
                                    indent=1) + "\n")


if __name__ == "__main__":
    main()
