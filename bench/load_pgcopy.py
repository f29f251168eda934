"""Copy a LanceDB m2io index into PostgreSQL + pgvector, for the load test's replicas (minutes saved, not hours).

    .venv/bin/python bench/load_pgcopy.py /tmp/m2io-load/index /tmp/m2io-load/pgindex --pg-dsn postgresql://...

`m2io index --backend pgvector` would encode every document again (about 1.7 s a document here); the rows
it would write are the LanceDB index's rows, made by the same code from the same corpus, so this bench copies
them: every row with its vectors, through :meth:`m2io.store.pgvector.PgVectorStore.write`, in one run
transaction, then publishes snapshot 1 with :func:`m2io.index.snapshot.publish` (BM25 over the copied chunks,
the LanceDB index's sources) and writes the manifest with ``backend: pgvector``: the index a replica opens is
exactly one that ``m2io index`` publishes. Not a product feature: the serving side is what the load test
measures, and it reads these rows as it reads any others.
"""
from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from m2io.index.lexical import Bm25Index
from m2io.index.manifest import IndexManifest
from m2io.index.snapshot import Snapshot, publish
from m2io.index.sources import load_sources, merge_sources
from m2io.store.base import ChunkRow, DocRows, ImageRow
from m2io.store.lance import LanceStore
from m2io.store.pgvector import PgVectorStore


def lance_docs(src: Path, manifest: IndexManifest) -> list[DocRows]:
    store = LanceStore(src / "lance", manifest.text_dim, manifest.visual_dim)
    store.pin(Snapshot.of(manifest.snapshot).tables)
    docs = {r["doc_id"]: DocRows(r["doc_id"], r["dataset"], r["hash"]) for r in store.tables["docs"].to_arrow().to_pylist()}
    for r in store.tables["chunks"].to_arrow().to_pylist():
        known = np.asarray(r["known"], np.float32).reshape(-1, manifest.text_dim) if r["known"] else None
        docs[r["doc_id"]].chunks.append(ChunkRow(r["id"], r["doc_id"], r["dataset"], r["text"], r["image_ids"],
                                                 r["search_text"], np.asarray(r["vector"], np.float32), known))
    fields = ImageRow.__dataclass_fields__
    for r in store.tables["images"].to_arrow().to_pylist():
        row = ImageRow(**{k: v for k, v in r.items() if k in fields and k not in ("visual", "semantic", "side")})
        row.visual = np.asarray(r["visual"], np.float32) if r["has_visual"] else None
        row.semantic, row.side = np.asarray(r["semantic"], np.float32), np.asarray(r["side"], np.float32)
        docs[r["doc_id"]].images.append(row)
    store.close()
    return list(docs.values())


def copy(src: Path, out: Path, dsn: str, prefix: str = "m2io") -> dict:
    manifest = IndexManifest.load(src)
    t = time.perf_counter()
    docs = lance_docs(src, manifest)
    store = PgVectorStore(dsn, prefix, manifest.text_dim, manifest.visual_dim)
    store.reset()
    with store.build_transaction():
        for i in range(0, len(docs), 64):
            store.write(docs[i:i + 64])
        keep = {d.doc_id for d in docs}
        sources = merge_sources({}, load_sources(src, Snapshot.of(manifest.snapshot).sources), keep)
        snapshot = publish(out, Snapshot(), store, Bm25Index.build(list(store.iter_chunk_texts())), sources)
    counts = store.counts()
    store.close()
    manifest.backend, manifest.pg_prefix, manifest.snapshot = "pgvector", prefix, snapshot.as_dict()
    out.mkdir(parents=True, exist_ok=True)
    manifest.save(out)
    by_dataset = defaultdict(int)
    for d in docs:
        by_dataset[d.dataset] += 1
    return {"seconds": time.perf_counter() - t, "counts": counts, "documents": dict(by_dataset)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("src", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--pg-dsn", required=True)
    ap.add_argument("--pg-prefix", default="m2io")
    a = ap.parse_args()
    print(copy(a.src, a.out, a.pg_dsn, a.pg_prefix))


if __name__ == "__main__":
    main()
