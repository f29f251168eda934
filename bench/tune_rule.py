"""Tune the rule inserter's similarity threshold on the train split of a corpus (insert tasks).

    .venv/bin/python bench/tune_rule.py --corpus data/gimp --index index/gimp --json bench/results/rule-threshold.json

Tasks are made exactly as ``m2io eval --task insert`` makes them (gold + retrieved distractors);
the dev split, where the inserters are compared, is never seen here.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from m2io.corpus.mramg import dataset_names, read_dataset
from m2io.corpus.split import select_items
from m2io.encoders.text import TextEncoder
from m2io.insert.rule import RuleInserter, tune_threshold
from m2io.insert.task import build_tasks
from m2io.retrieve import Retriever


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--objective", default="image_f1")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    retriever = Retriever.open(args.index)
    tasks = []
    for name in dataset_names(args.corpus):
        ds = read_dataset(args.corpus, name)
        tasks += build_tasks(ds, retriever, items=select_items(ds.qa, "train"))
    best, means = tune_threshold(RuleInserter(TextEncoder()), tasks, objective=args.objective)
    print(f"{len(tasks)} train tasks; mean {args.objective} by threshold:")
    for th, v in means.items():
        print(f"  {th:.2f}  {v:.4f}{'  <- best' if th == best else ''}")
    if args.json:
        args.json.write_text(json.dumps({"tasks": len(tasks), "objective": args.objective, "best": best,
                                         "means": {str(k): v for k, v in means.items()}}, indent=1) + "\n")


if __name__ == "__main__":
    main()
