"""Query latency and recall@10 of the stores against faiss exact search, on the same vectors.

Vectors: the real chunk vectors of an m2io index (e.g. the GIMP manual), grown to N with
synthetic ones, each the renormalised mix of two random real vectors plus a little noise: they
spread over the region real text occupies. (Noisy copies of single vectors were tried first:
each query then faces ~60 near-equidistant copies, and top-10 membership among such ties is
random for any approximate index.) Queries: real questions of the corpus, embedded by the
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
    extra = max(0, n - len(base))
    i, j = rng.integers(0, len(base), extra), rng.integers(0, len(base), extra)
    a = rng.uniform(0.2, 0.8, size=(extra, 1)).astype(np.float32)
    x = a * base[i] + (1 - a) * base[j] + noise * rng.normal(size=(extra, base.shape[1])).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.concatenate([base, x])[:n]


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


def bench_store(name: str, ann: str, store, vectors: np.ndarray, queries: np.ndarray, truth: list[set]) -> dict:
    """Insert time, exact search, ANN build time, ANN search; closes the store."""
    out = {}
    t0 = time.perf_counter()
    fill(store, vectors)
    out[f"{name}_insert_s"] = time.perf_counter() - t0
    out[f"{name}_flat"] = measure(store.search_chunks, queries, truth)
    t0 = time.perf_counter()
    store.create_ann_index()
    out[f"{name}_{ann}_build_s"] = time.perf_counter() - t0
    out[f"{name}_{ann}"] = measure(store.search_chunks, queries, truth)
    store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path("index/gimp"))
    ap.add_argument("--corpus", type=Path, default=Path("data/gimp"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--noise", type=float, default=0.01)
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
        row.update(bench_store("lancedb", "ivfpq", lance, vectors, queries, truth))
        if pg is not None:
            store = open_store("pgvector", Path("."), vectors.shape[1], 2, pg_dsn=pg.get_uri(), pg_prefix=f"b{n}")
            row.update(bench_store("pgvector", "hnsw", store, vectors, queries, truth))
        results.append(row)
        print(json.dumps(row, indent=1), flush=True)
    if pg is not None:
        pg.cleanup()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
