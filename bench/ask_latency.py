"""`m2io ask` latency with the defaults, stage by stage, on distinct questions (one process, models loaded once).

    .venv/bin/python bench/ask_latency.py --corpus kicad=data/kicad=index/kicad --questions questions \
        --json bench/results/e2e/ask-latency.json

Every question of the corpus (template and user-phrased, each asked once: no answer cache; the
text encoder keeps vectors per text, as a server's does) goes through the default pipeline
(focused answerer, section ranker, r1) and, on the same drafts, through `rule`; per stage
(retrieve, rank, answer, insert, total): median, p95, and the insert stage's share of the total
per answer (median). The budgets (DESIGN.md): `ask` p50 <= 500 ms and the insert stage <= 20% of it.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from m2io.components import ComponentConfig, Components
from m2io.corpus.mramg import dataset_names, read_dataset
from m2io.corpus.questions import read_questions, user_qa
from m2io.pipeline import Pipeline, PipelineConfig
from m2io.retrieve import Retriever


def stats(values: list[float]) -> dict:
    return {"p50": round(float(np.percentile(values, 50)), 1), "p95": round(float(np.percentile(values, 95)), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", nargs="+", required=True, help="NAME=DATASET_FOLDER=INDEX_FOLDER")
    ap.add_argument("--questions", type=Path, default=None)
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()
    out = {"command": " ".join(["bench/ask_latency.py", *__import__("sys").argv[1:]]),
           "date": time.strftime("%Y-%m-%d"), "corpora": {}}
    for spec in args.corpus:
        label, folder, index = spec.split("=")
        retriever = Retriever.open(index)
        components = Components(ComponentConfig(), retriever.models.text)
        pipeline = Pipeline(retriever, components.answerer(retriever), components.inserter(), PipelineConfig())
        rule = components.inserter("rule")
        questions = []
        for name in dataset_names(Path(folder)):
            ds = read_dataset(folder, name)
            questions += [q.question for q in ds.qa]
            path = args.questions / f"{name}.jsonl" if args.questions else None
            if path is not None and path.is_file():
                questions += [q.question for q in user_qa(ds, read_questions(path), path)]
        questions = list(dict.fromkeys(questions))
        pipeline.ask(questions[0])  # models and caches of the process warm, as in a server
        rows, rule_insert = [], []
        for question in tqdm(questions, desc=f"ask {label}", unit="q"):
            draft = pipeline.draft(question)
            result = pipeline.place(draft)
            rows.append({k: v * 1000 for k, v in result.timings.items()})
            t = time.perf_counter()
            rule.insert(question, draft.segments, draft.candidates, draft.provenance)
            rule_insert.append((time.perf_counter() - t) * 1000)
        stages = sorted({k for r in rows for k in r})
        out["corpora"][label] = {
            "n": len(rows), **{stage: stats([r.get(stage, 0.0) for r in rows]) for stage in stages},
            "insert_share_p50": round(float(np.median([r["insert"] / r["total"] for r in rows])), 3),
            "rule_insert": stats(rule_insert)}
        retriever.close()
        print(label, json.dumps(out["corpora"][label]))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
