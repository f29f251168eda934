"""Retrieval evaluation: does the top-k hold the gold documents and gold images?

For each QA item of an indexed dataset:

- ``doc_recall@k``: 1 if a provenance document is among the top-k chunks' documents;
- ``visual_recall@k``: the share of gold images among the images of the top-k chunks
  (items with gold images only);
- ``mrr``: 1 / rank of the first chunk from a provenance document (0 if not in the top 10);
- latency p50/p95 of the whole search call.

Text queries use the question. Image queries use the file of the item's most distinctive gold
image (the one the fewest documents show: the GIMP manual shows one "original" photo on dozens
of filter pages, and no system can tell which of them such a query means) and ask whether a
provenance document comes first (``doc_at_1``) and within k.

>>> percentile([1.0, 2.0, 3.0, 4.0], 50)
2.5
"""
from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from m2io.corpus.mramg import Dataset, dataset_names, read_dataset
from m2io.corpus.problems import Problems
from m2io.evaluate.bootstrap import bootstrap_ci
from m2io.retrieve import Retriever

KS = (1, 5, 10)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


@dataclass
class RetrievalScores:
    n: int = 0
    doc_recall: dict = field(default_factory=lambda: {k: 0.0 for k in KS})
    visual_recall: dict = field(default_factory=lambda: {k: 0.0 for k in KS})
    n_visual: int = 0
    mrr: float = 0.0
    doc_at_1: float = 0.0
    latency_ms_p50: float = 0.0
    latency_ms_p95: float = 0.0
    ci95: dict = field(default_factory=dict)
    """95% bootstrap interval of each mean above, by its name in :meth:`as_dict`."""

    def as_dict(self) -> dict:
        out = {"n": self.n, "n_visual": self.n_visual, "mrr": self.mrr, "doc_at_1": self.doc_at_1,
               "latency_ms_p50": self.latency_ms_p50, "latency_ms_p95": self.latency_ms_p95}
        for k in KS:
            out[f"doc_recall@{k}"] = self.doc_recall[k]
            if self.n_visual:  # image queries have no gold images of their own to find
                out[f"visual_recall@{k}"] = self.visual_recall[k]
        out.update({f"{name}_ci95": list(ci) for name, ci in self.ci95.items() if ci is not None
                    and (self.n_visual or not name.startswith("visual"))})
        return out


def _score(items: list[dict]) -> RetrievalScores:
    s = RetrievalScores(n=len(items))
    if not items:
        return s
    visual = [it for it in items if it["gold_images"]]
    s.n_visual = len(visual)
    for k in KS:
        hits = [float(it["first_gold_rank"] is not None and it["first_gold_rank"] <= k) for it in items]
        s.doc_recall[k] = float(np.mean(hits))
        s.ci95[f"doc_recall@{k}"] = bootstrap_ci(hits)
        if visual:
            shares = [len(set(it["gold_images"]) & set(it["images_at"][str(k)])) / len(set(it["gold_images"]))
                      for it in visual]
            s.visual_recall[k] = float(np.mean(shares))
            s.ci95[f"visual_recall@{k}"] = bootstrap_ci(shares)
    reciprocal = [1.0 / it["first_gold_rank"] if it["first_gold_rank"] else 0.0 for it in items]
    s.mrr = float(np.mean(reciprocal))
    s.ci95["mrr"] = bootstrap_ci(reciprocal)
    s.doc_at_1 = s.doc_recall[1]
    lat = [it["latency_ms"] for it in items]
    s.latency_ms_p50, s.latency_ms_p95 = percentile(lat, 50), percentile(lat, 95)
    return s


def evaluate_retrieval(retriever: Retriever, folder: Path, queries: str = "text", limit: int | None = None,
                       seed: int = 0, progress: bool = True) -> tuple[dict, list[dict]]:
    """Scores per query kind (``text``, ``image``) and the per-item records behind them."""
    datasets: list[Dataset] = [read_dataset(folder, name, Problems(strict=False)) for name in dataset_names(folder)]
    kinds = ["text", "image"] if queries == "both" else [queries]
    records: list[dict] = []
    for ds in datasets:
        qa = [q for q in ds.qa if q.provenance]
        if limit is not None and len(qa) > limit:
            qa = random.Random(seed).sample(qa, limit)
        for kind in kinds:
            shown_in = Counter(i for d in ds.documents for i in set(d.image_ids))
            query_image = {q.id: min(q.image_ids, key=lambda i: (shown_in[i], q.image_ids.index(i)))
                           for q in qa if q.image_ids}
            items = qa if kind == "text" else [q for q in qa if q.id in query_image
                                                and ds.images.get(query_image[q.id]) is not None
                                                and ds.images[query_image[q.id]].path is not None]
            for q in tqdm(items, desc=f"eval {ds.name} {kind}", unit="q", disable=not progress):
                gold_docs = {f"{ds.name}/{p}" for p in q.provenance}
                t0 = time.perf_counter()
                if kind == "text":
                    results = retriever.search(text=q.question, k=max(KS))
                else:
                    results = retriever.search(image=ds.images[query_image[q.id]].path, k=max(KS))
                latency = (time.perf_counter() - t0) * 1000
                first = next((r for r, res in enumerate(results, 1) if res.doc_id in gold_docs), None)
                images_at = {str(k): sorted({im.image_id for res in results[:k] if res.dataset == ds.name
                                             for im in res.images}) for k in KS}
                records.append({"dataset": ds.name, "kind": kind, "qa_id": q.id, "query": q.question if kind == "text"
                                else str(ds.images[query_image[q.id]].path), "gold_docs": sorted(gold_docs),
                                "gold_images": list(dict.fromkeys(q.image_ids)) if kind == "text" else [],
                                "retrieved": [[r.chunk_id, round(r.score, 5), r.ranks] for r in results],
                                "first_gold_rank": first, "images_at": images_at, "latency_ms": latency})
    scores = {kind: _score([r for r in records if r["kind"] == kind]).as_dict() for kind in kinds}
    return scores, records
