"""How much text could an answer win by choosing its section, instead of copying the ranker's first?

The default text (the ``focused`` answerer, which the unified model copies) is built from the section ranker's
first section. For each question this builds the same answer from the section at rank r (r < ``--ranks``: that
section moved first, the rest of the ranking kept, so a stub still takes the next one's start) and scores each
with the benchmark's ROUGE-L against the gold. The best of the top k is what a perfect chooser among k passages
would write: its gain over rank 1 (the mean of per-question differences, with its 95% bootstrap interval) is the
most a model that picks among k passages could add to the text, on that manual, with that retrieval.

    .venv/bin/python bench/text_room.py --corpus data/wireshark --index index/wireshark --questions questions \\
        --json bench/results/unified/grounded/text-room-wireshark.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from tqdm import tqdm

from e2e import questions_of
from m2io.components import ComponentConfig, Components
from m2io.corpus.mramg import dataset_names
from m2io.evaluate.bootstrap import bootstrap_ci
from m2io.metrics import rouge_l, strip_placeholders
from m2io.pipeline import PipelineConfig
from m2io.retrieve import Retriever


def answer_from(answerer, question: str, ranking: list, r: int) -> str:
    """The ``focused`` answer's text with ranking[r] moved first."""
    return answerer.compose(question, [ranking[r]] + [x for i, x in enumerate(ranking) if i != r]).text


def summary(rows: list[dict], ranks: int) -> list[dict]:
    out = []
    for kind in sorted({r["kind"] for r in rows}) + ["all"]:
        rs = [r for r in rows if kind in ("all", r["kind"])]
        row = {"kind": kind, "n": len(rs), "rank1_rouge_l": sum(r["rouge_l"][0] for r in rs) / len(rs),
               "gold_first": sum(r["gold_rank"] == 0 for r in rs)}
        for k in range(2, ranks + 1):
            gain = [max(r["rouge_l"][:k]) - r["rouge_l"][0] for r in rs]
            row[f"top{k}_gain"] = sum(gain) / len(gain)
            row[f"top{k}_gain_ci"] = bootstrap_ci(gain)
            row[f"gold_in_top{k}"] = sum(r["gold_rank"] is not None and r["gold_rank"] < k for r in rs)
        out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--index", required=True)
    ap.add_argument("--questions", type=Path, default=None, help="user-phrased questions (a folder of NAME.jsonl)")
    ap.add_argument("--ranks", type=int, default=3, help="the chooser's passages: the ranker's top this many")
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()
    if args.ranks < 2:
        ap.error("--ranks must be at least 2")

    retriever = Retriever.open(args.index)
    answerer = Components(ComponentConfig(), retriever.models.text).answerer(retriever, "focused")
    rows = []
    for name in dataset_names(args.corpus):
        for kind, items, _ in questions_of(args.corpus, name, args.questions):
            for q in tqdm(items, desc=f"{name} {kind}", unit="q"):
                results = retriever.search(text=q.question, k=PipelineConfig.k)
                ranking = answerer.ranker.rank(q.question, results)
                keys = [r.key for r in ranking]
                gold = f"{name}/{q.provenance[0]}" if q.provenance else None
                reference = strip_placeholders(q.ground_truth)
                scores = [rouge_l(reference, answer_from(answerer, q.question, ranking, r))
                          for r in range(min(args.ranks, len(ranking)))]
                rows.append({"kind": kind, "qa_id": q.id, "gold_rank": keys.index(gold) if gold in keys else None,
                             "rouge_l": scores or [0.0]})  # nothing ranked: the default answer is empty
    retriever.close()
    result = {"corpus": str(args.corpus), "ranks": args.ranks, "summary": summary(rows, args.ranks), "items": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    for row in result["summary"]:
        print(" | ".join(f"{k} {v:.3f}" if isinstance(v, float) else
                         f"{k} [{v[0]:+.3f}, {v[1]:+.3f}]" if isinstance(v, tuple) else f"{k} {v}"
                         for k, v in row.items()))


if __name__ == "__main__":
    main()
