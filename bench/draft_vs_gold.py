"""How far the rule draft in r1's training rows is from the gold plan (:mod:`m2io.train.draft_gap`).

    .venv/bin/python bench/draft_vs_gold.py runs/draft/rows.jsonl --variant base
"""
from __future__ import annotations

import argparse
import json

from m2io.train.draft_gap import draft_gap
from m2io.train.rows_file import read_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rows", help="a --rows JSONL file of m2io train sft|grpo")
    parser.add_argument("--variant", default="base", help="base, shuffle0, distract0, cut0 or all")
    args = parser.parse_args()
    rows = read_rows(args.rows)
    if args.variant != "all":
        rows = [r for r in rows if r["variant"] == args.variant]
    if not rows:
        raise SystemExit(f"{args.rows}: no rows of variant {args.variant!r}")
    print(json.dumps(draft_gap(rows), indent=1))


if __name__ == "__main__":
    main()
