"""Where r1's time per answer goes: text encodes, features, the policy's forward pass (medians, one process).

    .venv/bin/python bench/r1_latency.py --corpus data/kicad --index index/kicad --policy models/inserter-r1 \
        --json bench/results/r1-policy/latency.json

For every insertion task of the corpus (all items): the encoder's time on the task's texts
(first sight, nothing cached), then ``task_features`` with those vectors cached (features alone),
then the forward pass and greedy plan. The budget (DESIGN.md) is <= 20 ms per answer beyond the
encodes, 0 generated tokens, one model call.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from m2io.corpus.mramg import dataset_names, read_dataset
from m2io.encoders.text import TextEncoder
from m2io.insert.policy.features import FeatureConfig, feature_texts, task_features
from m2io.insert.policy.inserter import R1Inserter
from m2io.insert.policy.model import collate, greedy
from m2io.insert.task import build_tasks
from m2io.retrieve import Retriever


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--policy", default="models/inserter-r1")
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(2)
    encoder = TextEncoder()
    retriever = Retriever.open(args.index)
    retriever.models.__dict__["text"] = encoder
    tasks = [t for name in dataset_names(args.corpus) for t in build_tasks(read_dataset(args.corpus, name), retriever)]
    inserter = R1Inserter.from_file(encoder, args.policy)
    encoder._cache.clear()
    times = {"encode": [], "features": [], "forward": []}
    for t in tasks:
        texts = [x for x in feature_texts(t.query, t.segments, t.candidates) if x.strip()]
        fresh = [x for x in dict.fromkeys(texts) if x not in encoder._cache]
        t0 = time.perf_counter()
        encoder.encode(fresh) if fresh else None
        t1 = time.perf_counter()
        feats = task_features(t.query, t.segments, t.candidates, encoder, FeatureConfig())
        t2 = time.perf_counter()
        with torch.no_grad():
            batch = collate([feats], inserter.policy.config.embed_dim)
            greedy(inserter.policy(batch), batch)
        t3 = time.perf_counter()
        for key, dt in (("encode", t1 - t0), ("features", t2 - t1), ("forward", t3 - t2)):
            times[key].append(dt * 1000)
    out = {"tasks": len(tasks), "median_ms": {k: statistics.median(v) for k, v in times.items()},
           "p95_ms": {k: sorted(v)[int(0.95 * (len(v) - 1))] for k, v in times.items()}}
    out["beyond_encodes_median_ms"] = out["median_ms"]["features"] + out["median_ms"]["forward"]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
