"""LanceDB backend: the embedded default, one folder, no server.

Searches are exact (flat) unless :meth:`LanceStore.create_ann_index` built an IVF-PQ index.

>>> import tempfile, numpy as np
>>> s = LanceStore(tempfile.mkdtemp(), text_dim=2, visual_dim=2)
>>> s.write([DocRows("d", "demo", "h1", [ChunkRow("d::0", "d", "demo", "hello", [], "hello", np.array([1.0, 0.0]))])])
>>> [(h.id, round(h.score, 3)) for h in s.search_chunks(np.array([1.0, 0.0]), k=1)]
[('d::0', 1.0)]
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from m2io.store.base import SIDE_TEXTS, ChunkRow, DocRows, Hit, ImageRow, Store, chunk_number

_CHUNK_COLS = ["id", "doc_id", "dataset", "text", "image_ids", "search_text"]
_IMAGE_COLS = ["id", "image_id", "doc_id", "chunk_id", "dataset", "caption", "context", "path", "has_visual",
               "above", "below"]


def _quote(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


class LanceStore(Store):
    def __init__(self, folder: str | Path, text_dim: int, visual_dim: int, nprobes: int = 32, refine_factor: int = 5):
        """``nprobes`` and ``refine_factor`` apply once an IVF-PQ index exists (exact re-ranking of
        ``refine_factor * k`` candidates recovers most of what PQ loses)."""
        import lancedb

        self.folder = Path(folder)
        self.nprobes, self.refine_factor = nprobes, refine_factor
        self.text_dim, self.visual_dim = text_dim, visual_dim
        self.db = lancedb.connect(str(self.folder))
        vec = lambda n: pa.list_(pa.float32(), n)  # noqa: E731
        schemas = {
            "chunks": pa.schema([("id", pa.string()), ("doc_id", pa.string()), ("dataset", pa.string()),
                                 ("text", pa.string()), ("image_ids", pa.list_(pa.string())),
                                 ("search_text", pa.string()), ("vector", vec(text_dim)),
                                 ("known", pa.list_(pa.float32()))]),
            "images": pa.schema([("id", pa.string()), ("image_id", pa.string()), ("doc_id", pa.string()),
                                 ("chunk_id", pa.string()), ("dataset", pa.string()), ("caption", pa.string()),
                                 ("context", pa.string()), ("path", pa.string()), ("has_visual", pa.bool_()),
                                 ("visual", vec(visual_dim)), ("semantic", vec(text_dim)),
                                 ("above", pa.string()), ("below", pa.string()),
                                 ("side", vec(SIDE_TEXTS * text_dim))]),
            "docs": pa.schema([("doc_id", pa.string()), ("dataset", pa.string()), ("hash", pa.string())]),
        }
        existing = set(self.db.list_tables().tables)
        self.tables = {name: (self.db.open_table(name) if name in existing else
                              self.db.create_table(name, schema=schema)) for name, schema in schemas.items()}
        self.schemas = schemas

    def reset(self) -> None:
        for name, schema in self.schemas.items():
            self.db.drop_table(name)
            self.tables[name] = self.db.create_table(name, schema=schema)

    # -- writing -------------------------------------------------------------------------
    def doc_hashes(self) -> dict[str, str]:
        return dict(zip(*self._column("docs", "doc_id", "hash")))

    def _delete(self, table: str, doc_ids: list[str]) -> None:
        for i in range(0, len(doc_ids), 500):
            self.tables[table].delete(f"doc_id IN ({_quote(doc_ids[i:i + 500])})")

    def write(self, docs: list[DocRows]) -> None:
        if not docs:
            return
        ids = [d.doc_id for d in docs]
        self._delete("docs", ids)
        self._delete("chunks", ids)
        self._delete("images", ids)
        chunks = [c for d in docs for c in d.chunks]
        images = [im for d in docs for im in d.images]
        if chunks:
            self.tables["chunks"].add(pa.Table.from_pylist(
                [{**{k: getattr(c, k) for k in _CHUNK_COLS}, "vector": np.asarray(c.vector, np.float32),
                  "known": np.asarray(c.known, np.float32).ravel() if c.known is not None else np.zeros(0, np.float32)}
                 for c in chunks], schema=self.schemas["chunks"]))
        if images:
            zeros = np.zeros(self.visual_dim, np.float32)
            no_side = np.zeros(SIDE_TEXTS * self.text_dim, np.float32)
            self.tables["images"].add(pa.Table.from_pylist(
                [{**{k: getattr(im, k) for k in _IMAGE_COLS},
                  "visual": np.asarray(im.visual, np.float32) if im.has_visual else zeros,
                  "semantic": np.asarray(im.semantic, np.float32),
                  "side": np.asarray(im.side, np.float32).ravel() if im.side is not None else no_side}
                 for im in images], schema=self.schemas["images"]))
        self.tables["docs"].add(pa.Table.from_pylist(
            [{"doc_id": d.doc_id, "dataset": d.dataset, "hash": d.hash} for d in docs], schema=self.schemas["docs"]))

    def delete_docs(self, doc_ids: list[str]) -> None:
        self._delete("docs", doc_ids)
        self._delete("chunks", doc_ids)
        self._delete("images", doc_ids)

    def purge_unmarked(self) -> int:
        marked = set(self.doc_hashes())
        stored = set(self._column("chunks", "doc_id")) | set(self._column("images", "doc_id"))
        orphans = sorted(stored - marked)
        if orphans:
            self._delete("chunks", orphans)
            self._delete("images", orphans)
        return len(orphans)

    # -- reading -------------------------------------------------------------------------
    def _search(self, table: str, column: str, vector: np.ndarray, k: int, where: str | None = None) -> list[Hit]:
        if self.tables[table].count_rows() == 0:
            return []
        q = (self.tables[table].search(np.asarray(vector, np.float32), vector_column_name=column)
             .distance_type("cosine").limit(k).select(["id", "_distance"])
             .nprobes(self.nprobes).refine_factor(self.refine_factor))
        if where:
            q = q.where(where, prefilter=True)
        t = q.to_arrow()
        return [Hit(i, 1.0 - float(d)) for i, d in zip(t.column("id").to_pylist(), t.column("_distance").to_pylist())]

    def search_chunks(self, vector: np.ndarray, k: int) -> list[Hit]:
        return self._search("chunks", "vector", vector, k)

    def search_images(self, vector: np.ndarray, k: int, column: str) -> list[Hit]:
        if column not in ("visual", "semantic"):
            raise ValueError(f"unknown image vector column {column!r}")
        return self._search("images", column, vector, k, "has_visual = true" if column == "visual" else None)

    def _rows(self, table: str, column: str, values: list[str], cols: list[str]) -> list[dict]:
        if not values:
            return []
        out = []
        for i in range(0, len(values), 500):
            out += (self.tables[table].search().where(f"{column} IN ({_quote(values[i:i + 500])})")
                    .select(cols).limit(10 ** 9).to_list())
        return out

    def chunks(self, ids: list[str]) -> dict[str, ChunkRow]:
        return {r["id"]: ChunkRow(**{k: r[k] for k in _CHUNK_COLS})
                for r in self._rows("chunks", "id", ids, _CHUNK_COLS)}

    def images(self, ids: list[str]) -> dict[str, ImageRow]:
        return {r["id"]: ImageRow(**{k: r[k] for k in _IMAGE_COLS}) for r in self._rows("images", "id", ids, _IMAGE_COLS)}

    def images_of_chunks(self, chunk_ids: list[str], side: bool = False) -> list[ImageRow]:
        cols = _IMAGE_COLS + (["side"] if side else [])
        rows = []
        for r in self._rows("images", "chunk_id", chunk_ids, cols):
            row = ImageRow(**{k: r[k] for k in _IMAGE_COLS})
            if side:
                row.side = np.asarray(r["side"], np.float32).reshape(SIDE_TEXTS, self.text_dim)
            rows.append(row)
        return sorted(rows, key=lambda r: (r.chunk_id, int(r.id.rsplit("#", 1)[1])))

    def doc_chunks(self, doc_ids: list[str], known: bool = False) -> dict[str, list[ChunkRow]]:
        out: dict[str, list[ChunkRow]] = {d: [] for d in doc_ids}
        for r in self._rows("chunks", "doc_id", list(doc_ids), _CHUNK_COLS + (["known"] if known else [])):
            row = ChunkRow(**{k: r[k] for k in _CHUNK_COLS})
            if known and r["known"]:
                row.known = np.asarray(r["known"], np.float32).reshape(-1, self.text_dim)
            out[r["doc_id"]].append(row)
        return {d: sorted(rows, key=lambda c: chunk_number(c.id)) for d, rows in out.items()}

    def _column(self, table: str, *columns: str):
        """Whole columns of a table (a scan that reads only these columns)."""
        n = self.tables[table].count_rows()
        t = self.tables[table].search().select(list(columns)).limit(max(n, 1)).to_arrow()
        return t.column(columns[0]).to_pylist() if len(columns) == 1 else [t.column(c).to_pylist() for c in columns]

    def iter_chunk_texts(self) -> Iterator[tuple[str, str]]:
        yield from zip(*self._column("chunks", "id", "search_text"))

    def iter_image_files(self) -> Iterator[tuple[str, str, str]]:
        yield from zip(*self._column("images", "dataset", "image_id", "path"))

    def counts(self) -> dict[str, int]:
        return {name: t.count_rows() for name, t in self.tables.items()}

    def create_ann_index(self, num_partitions: int | None = None, num_sub_vectors: int | None = None) -> None:
        """Build an IVF-PQ index on chunk vectors (worth it from ~100k chunks; searches become approximate)."""
        n = self.tables["chunks"].count_rows()
        self.tables["chunks"].create_index(metric="cosine", vector_column_name="vector",
                                           num_partitions=num_partitions or max(1, int(n ** 0.5)),
                                           num_sub_vectors=num_sub_vectors or max(1, self.text_dim // 8),
                                           replace=True)

    def versions(self) -> dict[str, int]:
        return {name: t.version for name, t in self.tables.items()}

    def pin(self, versions: dict[str, int]) -> None:
        """Check out these versions (read-only). A writer never removes them: :meth:`compact` keeps every
        version, and :meth:`cleanup` after a publish keeps the previous snapshot's (a reader may still use it)."""
        for name, version in versions.items():
            self.tables[name].checkout(version)

    def compact(self) -> None:
        """Merge the small fragments that many incremental writes leave; no old version is removed here (a
        reader may be pinned to one: :meth:`cleanup` does that once the new snapshot is published)."""
        for t in self.tables.values():
            if hasattr(t, "optimize"):
                t.optimize(cleanup_older_than=timedelta(days=36500))

    def cleanup(self, keep: dict[str, int]) -> None:
        """Remove the files of versions older than ``keep`` (table -> the oldest version a reader may hold)."""
        now = datetime.now(timezone.utc)
        for name, version in keep.items():
            t = self.tables[name]
            stamps = [v["timestamp"] for v in t.list_versions() if v["version"] == version]
            if stamps:
                stamp = stamps[0] if stamps[0].tzinfo else stamps[0].replace(tzinfo=timezone.utc)
                # a minute of slack: "older than" is measured from optimize's own clock, a moment later than ours
                t.optimize(cleanup_older_than=max(now - stamp, timedelta(0)) + timedelta(minutes=1))
