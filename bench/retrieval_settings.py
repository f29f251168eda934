"""Retrieval fusion settings on one index: the same questions under each setting, side by side.

    python bench/retrieval_settings.py --corpus data/kicad-stripped --index index/kicad-stripped-ft \\
        --set document=0.5 --set document=1.0 --set document=1.0,bm25=0.5 --json out.json
"""
from __future__ import annotations

import argparse
import json
from dataclasses import fields, replace
from pathlib import Path

from m2io.evaluate.retrieval import evaluate_retrieval
from m2io.retrieve import RetrievalConfig, Retriever


def parse_setting(text: str) -> dict:
    names = {f.name: f.type for f in fields(RetrievalConfig)}
    out = {}
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        if key not in names:
            raise SystemExit(f"unknown setting {key!r} (one of {', '.join(names)})")
        out[key] = float(value) if key != "depth" else int(value)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--set", dest="settings", action="append", default=[], help="name=value[,name=value]")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    retriever = Retriever.open(args.index)
    rows = []
    for text in args.settings or [""]:
        retriever.config = replace(RetrievalConfig(), **parse_setting(text))
        scores, _ = evaluate_retrieval(retriever, args.corpus, queries="text", progress=False)
        s = scores["text"]
        names = ("doc_recall@1", "doc_recall@10", "visual_recall@10", "mrr")
        row = {"setting": text or "default", "n": s["n"], **{k: round(s[k], 3) for k in names},
               **{f"{k}_ci95": [round(v, 3) for v in s[f"{k}_ci95"]] for k in names}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
