"""Time unified answers one at a time (generation, decoding, corpus matching), as `m2io ask
--generator unified` makes them; medians overall and for answers with two images.

    .venv/bin/python bench/unified_latency.py --index index/kicad --unified-model runs/unified-warmup \
        --dataset data/kicad --n 10 --json bench/results/unified/latency.json
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--unified-model", required=True)
    ap.add_argument("--dataset", required=True, type=Path)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from m2io.corpus.mramg import read_dataset
    from m2io.retrieve import Retriever
    from m2io.unified.answer import UnifiedAnswerer
    from m2io.unified.model import UnifiedModel

    model = UnifiedModel.load(args.unified_model)
    retriever = Retriever.open(args.index)
    answerer = UnifiedAnswerer(model, retriever)
    questions = [q.question for q in read_dataset(args.dataset).qa[:args.n]]
    answerer.ask(questions[0])  # first call pays for lazy model loads; not timed
    rows = []
    for q in questions:
        a = answerer.ask(q)
        rows.append({"question": q, "seconds": a.timings["total"], "generate_s": a.timings["generate"],
                     "images": sum(s.kind == "image" for s in a.steps), "tokens": a.tokens_generated,
                     "well_formed": a.well_formed})
        print(f"{a.timings['total']:6.1f} s  {rows[-1]['images']} images  {a.tokens_generated:4d} tokens  {q[:60]}")
    two = [r["seconds"] for r in rows if r["images"] == 2]
    summary = {"n": len(rows), "median_s": statistics.median(r["seconds"] for r in rows),
               "median_s_two_images": statistics.median(two) if two else None, "answers_with_two_images": len(two),
               "median_tokens": statistics.median(r["tokens"] for r in rows),
               "seconds_per_token": statistics.median(r["generate_s"] / max(r["tokens"], 1) for r in rows)}
    print(json.dumps(summary))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
    retriever.close()


if __name__ == "__main__":
    main()
