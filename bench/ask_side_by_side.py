"""`ask` with the defaults of two checkouts, side by side: the same questions, alternating, one core.

    .venv/bin/python bench/ask_side_by_side.py --corpus data/debhandbook --questions questions \
        --side before=/work/before/src=/work/before-index/debhandbook --side now=src=index/debhandbook \
        --json bench/results/e2e/ask-side-by-side.json

Each side runs in its own worker process (``PYTHONPATH`` set to that checkout's ``src``), loads its
default components once and answers one question when told to; the questions go to the sides in turn
(before, now, before, now, ...), so both see the same load on the machine. Per side and stage
(retrieve, rank, answer, insert, total): median and p95 in ms, and the ratio of the medians.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

WORKER = r"""
import json, sys, time
from m2io.components import ComponentConfig, Components
from m2io.pipeline import Pipeline
from m2io.retrieve import Retriever
retriever = Retriever.open(sys.argv[1])
try:
    components = Components(ComponentConfig(), retriever.models.text)
except TypeError:  # older checkouts: no shared encoder argument
    components = Components(ComponentConfig())
try:
    answerer = components.answerer(retriever)
except TypeError:
    answerer = components.answerer()
pipeline = Pipeline(retriever, answerer, components.inserter())
print("ready", flush=True)
for line in sys.stdin:
    result = pipeline.ask(json.loads(line))
    print(json.dumps({k: v * 1000 for k, v in result.timings.items()}), flush=True)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--questions", type=Path, default=None)
    ap.add_argument("--side", nargs=2, required=True, help="LABEL=SRC_FOLDER=INDEX_FOLDER, twice")
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()
    from m2io.corpus.mramg import dataset_names, read_dataset
    from m2io.corpus.questions import read_questions, user_qa

    questions = []
    for name in dataset_names(args.corpus):
        ds = read_dataset(args.corpus, name)
        questions += [q.question for q in ds.qa]
        path = args.questions / f"{name}.jsonl" if args.questions else None
        if path is not None and path.is_file():
            questions += [q.question for q in user_qa(ds, read_questions(path), path)]
    questions = list(dict.fromkeys(questions))
    sides = {}
    for spec in args.side:
        label, src, index = spec.split("=")
        env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
        proc = subprocess.Popen([sys.executable, "-c", WORKER, index], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True, env=env)
        assert proc.stdout.readline().strip() == "ready", f"{label}: worker did not start"
        sides[label] = {"proc": proc, "rows": []}
    for side in sides.values():  # warm: the first answer loads lazily made models
        side["proc"].stdin.write(json.dumps(questions[0]) + "\n")
        side["proc"].stdin.flush()
        side["proc"].stdout.readline()
    start = time.perf_counter()
    for q in questions:
        for side in sides.values():
            side["proc"].stdin.write(json.dumps(q) + "\n")
            side["proc"].stdin.flush()
            side["rows"].append(json.loads(side["proc"].stdout.readline()))
    out = {"command": " ".join(["bench/ask_side_by_side.py", *sys.argv[1:]]), "date": time.strftime("%Y-%m-%d"),
           "n": len(questions), "seconds": round(time.perf_counter() - start, 1), "sides": {}}
    for label, side in sides.items():
        side["proc"].stdin.close()
        side["proc"].wait()
        stages = sorted({k for r in side["rows"] for k in r})
        out["sides"][label] = {s: {"p50": round(float(np.median([r.get(s, 0.0) for r in side["rows"]])), 1),
                                   "p95": round(float(np.percentile([r.get(s, 0.0) for r in side["rows"]], 95)), 1)}
                               for s in stages}
    a, b = list(out["sides"])
    out["ratio_total_p50"] = round(out["sides"][a]["total"]["p50"] / out["sides"][b]["total"]["p50"], 2)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
