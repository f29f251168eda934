"""Query latency and recall@10 of the stores against faiss exact search, on the same vectors.

Vectors: the real chunk vectors of an m2io index (e.g. the GIMP manual), grown to N with
synthetic neighbours (a real vector plus Gaussian noise, renormalised), so the distance
structure stays that of real text. Queries: real questions of the corpus, embedded by the
index's text encoder. Ground truth: faiss ``IndexFlatIP`` (exact). For each store and N:
median/p95 latency of one top-10 search, and recall@10 against faiss. Stores: LanceDB flat
(exact) and IVF-PQ; pgvector flat (exact) and HNSW (a real server started with pgserver).

    .venv/bin/python bench/search_vs_faiss.py --index index/gimp --corpus data/gimp --sizes 10000 100000
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from m2io.corpus.mramg import read_dataset
from m2io.index.manifest import IndexManifest
from m2io.encoders.text import TextEncoder
from m2io.store import open_store
from m2io.store.base import ChunkRow, DocRows


def real_vectors(index: Path) -> np.ndarray:
    m = IndexManifest.load(index)
    store = open_store(m.backend, index, m.text_dim, m.visual_dim)
    ids = [i for i, _ in store.iter_chunk_texts()]
    t = store.tables["chunks"].search().select(["vector"]).limit(len(ids)).to_arrow()
    store.close()
    return np.stack(t.column("vector").to_numpy(zero_copy_only=False)).astype(np.float32)


def grow(base: np.ndarray, n: int, noise: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = [base]
    while sum(len(x) for x in out) < n:
        x = base + noise * rng.normal(size=base.shape).astype(np.float32)
        out.append(x / np.linalg.norm(x, axis=1, keepdims=True))
    return np.concatenate(out)[:n]


def fill(store, vectors: np.ndarray, batch: int = 5000) -> None:
    for i in range(0, len(vectors), batch):
        docs = [DocRows(f"d{j}", "bench", "h", [ChunkRow(f"c{j}", f"d{j}", "bench", "", [], "", vectors[j])])
                for j in range(i, min(i + batch, len(vectors)))]
        store.write(docs)


def measure(search, queries: np.ndarray, truth: list[set], k: int = 10) -> dict:
    search(queries[0], k)  # warm-up
    lat, rec = [], []
    for q, t in zip(queries, truth):
        t0 = time.perf_counter()
        hits = search(q, k)
        lat.append((time.perf_counter() - t0) * 1000)
        rec.append(len({h.id for h in hits} & t) / k)
    return {"latency_ms_p50": statistics.median(lat), "latency_ms_p95": float(np.percentile(lat, 95)),
            "recall@10_vs_faiss": float(np.mean(rec))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path("index/gimp"))
    ap.add_argument("--corpus", type=Path, default=Path("data/gimp"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--noise", type=float, default=0.03)
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import faiss

    base = real_vectors(args.index)
    questions = [q.question for q in read_dataset(args.corpus).qa][: args.queries]
    queries = TextEncoder().encode(questions)
    results = []
    pg = None
    if not args.no_pg:
        import pgserver

        pg = pgserver.get_server(tempfile.mkdtemp(prefix="m2io-pg-"), cleanup_mode="delete")
    for n in args.sizes:
        vectors = grow(base, n, args.noise)
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        t0 = time.perf_counter()
        _, idx = flat.search(queries, 10)
        faiss_ms = (time.perf_counter() - t0) * 1000 / len(queries)
        truth = [{f"c{j}" for j in row} for row in idx]
        faiss_lat = []
        for q in queries:
            t0 = time.perf_counter()
            flat.search(q[None], 10)
            faiss_lat.append((time.perf_counter() - t0) * 1000)
        row = {"n": n, "faiss_flat": {"latency_ms_p50": statistics.median(faiss_lat),
                                      "latency_ms_p95": float(np.percentile(faiss_lat, 95)),
                                      "batched_ms_per_query": faiss_ms, "recall@10_vs_faiss": 1.0}}
        lance = open_store("lancedb", Path(tempfile.mkdtemp(prefix="m2io-lance-")), vectors.shape[1], 2)
        t0 = time.perf_counter()
        fill(lance, vectors)
        row["lancedb_insert_s"] = time.perf_counter() - t0
        row["lancedb_flat"] = measure(lance.search_chunks, queries, truth)
        t0 = time.perf_counter()
        lance.create_ann_index()
        row["lancedb_ivfpq_build_s"] = time.perf_counter() - t0
        row["lancedb_ivfpq"] = measure(lance.search_chunks, queries, truth)
        lance.close()
        if pg is not None:
            store = open_store("pgvector", Path("."), vectors.shape[1], 2, pg_dsn=pg.get_uri(), pg_prefix=f"b{n}")
            t0 = time.perf_counter()
            fill(store, vectors)
            row["pgvector_insert_s"] = time.perf_counter() - t0
            row["pgvector_flat"] = measure(store.search_chunks, queries, truth)
            t0 = time.perf_counter()
            store.create_ann_index()
            row["pgvector_hnsw_build_s"] = time.perf_counter() - t0
            row["pgvector_hnsw"] = measure(store.search_chunks, queries, truth)
            store.close()
        results.append(row)
        print(json.dumps(row, indent=1), flush=True)
    if pg is not None:
        pg.cleanup()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
