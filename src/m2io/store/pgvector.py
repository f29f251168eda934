"""PostgreSQL + pgvector backend: the index lives in a server, shared by many processes.

Tables are named ``<prefix>_chunks``, ``<prefix>_images``, ``<prefix>_docs``; a batch of
documents is written in one transaction, and an indexing run in one more around them
(:meth:`PgVectorStore.build_transaction`), with the snapshot it publishes in ``<prefix>_snapshots``
(version, BM25 index, sources): replicas on any machine read rows, BM25 and sources from the server,
and see a run all at once or not at all. Searches are exact (``<=>`` cosine distance) unless
:meth:`PgVectorStore.create_ann_index` built HNSW indexes.

Example (needs a server; the tests start one with ``pgserver``)::

    store = PgVectorStore("postgresql://postgres@/postgres?host=/tmp/pg", "m2io", 384, 1280)
"""
from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import numpy as np

from m2io.errors import M2IOError
from m2io.store.base import SIDE_TEXTS, ChunkRow, DocRows, Hit, ImageRow, Store, chunk_number

_CHUNK_COLS = ["id", "doc_id", "dataset", "text", "image_ids", "search_text"]
_IMAGE_COLS = ["id", "image_id", "doc_id", "chunk_id", "dataset", "caption", "context", "path", "has_visual",
               "above", "below"]


class PgVectorStore(Store):
    def __init__(self, dsn: str, prefix: str, text_dim: int, visual_dim: int):
        import psycopg
        from pgvector.psycopg import register_vector

        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", prefix):
            raise M2IOError(f"table prefix must be a lower-case SQL identifier, got {prefix!r}")
        self.text_dim, self.visual_dim = text_dim, visual_dim
        self.t = {name: f"{prefix}_{name}" for name in ("chunks", "images", "docs")}
        self.snapshots = f"{prefix}_snapshots"
        try:
            self.conn = psycopg.connect(dsn, autocommit=True)
        except psycopg.OperationalError as e:
            raise M2IOError(f"cannot connect to PostgreSQL: {e}") from e
        self.conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        self.conn.execute("SET hnsw.ef_search = 100")  # pgvector's default of 40 loses recall on large tables
        register_vector(self.conn)
        self._create()

    def reset(self) -> None:
        with self.conn.transaction():
            for table in [*self.t.values(), self.snapshots]:
                self.conn.execute(f"DROP TABLE IF EXISTS {table}")
            self._create()

    def _create(self) -> None:
        text_dim, visual_dim = self.text_dim, self.visual_dim
        self.conn.execute(f"""CREATE TABLE IF NOT EXISTS {self.t['chunks']} (
            id text PRIMARY KEY, doc_id text NOT NULL, dataset text, text text, image_ids text[],
            search_text text, vector vector({text_dim}), known real[])""")
        self.conn.execute(f"""CREATE TABLE IF NOT EXISTS {self.t['images']} (
            id text PRIMARY KEY, image_id text, doc_id text NOT NULL, chunk_id text, dataset text, caption text,
            context text, path text, has_visual boolean, above text, below text, visual vector({visual_dim}),
            semantic vector({text_dim}), side real[])""")
        self.conn.execute(f"CREATE TABLE IF NOT EXISTS {self.t['docs']} (doc_id text PRIMARY KEY, dataset text, hash text)")
        for table in ("chunks", "images"):
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS {self.t[table]}_doc ON {self.t[table]} (doc_id)")
        self.conn.execute(f"CREATE INDEX IF NOT EXISTS {self.t['images']}_chunk ON {self.t['images']} (chunk_id)")
        self._create_snapshots()

    def doc_hashes(self) -> dict[str, str]:
        return dict(self.conn.execute(f"SELECT doc_id, hash FROM {self.t['docs']}").fetchall())

    # -- snapshots -----------------------------------------------------------------------
    def _create_snapshots(self) -> None:
        self.conn.execute(f"""CREATE TABLE IF NOT EXISTS {self.snapshots} (version integer PRIMARY KEY,
            created timestamptz NOT NULL DEFAULT now(), bm25 bytea, sources text)""")

    @contextlib.contextmanager
    def build_transaction(self):
        """One transaction for a whole indexing run: readers see all of it at commit, or nothing if it fails
        (its work is then redone by the next run). Batches inside it are savepoints."""
        with self.conn.transaction():
            yield

    @contextlib.contextmanager
    def read_view(self):
        """A read-only REPEATABLE READ transaction: every query inside sees the state of its first one."""
        with self.conn.transaction():
            self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield

    def snapshot_version(self) -> int:
        """The newest published snapshot's version (0: none yet)."""
        row = self.conn.execute(f"SELECT max(version) FROM {self.snapshots}").fetchone()
        return row[0] or 0

    def load_snapshot(self, version: int) -> tuple[bytes | None, str]:
        """The BM25 index (a tar archive of its folder, or None) and sources JSON of snapshot ``version``."""
        row = self.conn.execute(f"SELECT bm25, sources FROM {self.snapshots} WHERE version = %s",
                                (version,)).fetchone()
        if row is None:
            raise M2IOError(f"{self.snapshots}: no snapshot {version}")
        return (bytes(row[0]) if row[0] is not None else None), row[1] or "{}"

    def publish_snapshot(self, version: int, bm25: bytes | None, sources: str) -> None:
        """Record snapshot ``version``; the two newest are kept (a replica may still be loading the one before)."""
        self.conn.execute(f"INSERT INTO {self.snapshots} (version, bm25, sources) VALUES (%s, %s, %s)",
                          (version, bm25, sources))
        self.conn.execute(f"DELETE FROM {self.snapshots} WHERE version < %s", (version - 1,))

    def write(self, docs: list[DocRows]) -> None:
        if not docs:
            return
        ids = [d.doc_id for d in docs]
        with self.conn.transaction(), self.conn.cursor() as cur:
            for table in ("docs", "chunks", "images"):
                cur.execute(f"DELETE FROM {self.t[table]} WHERE doc_id = ANY(%s)", (ids,))
            cur.executemany(
                f"INSERT INTO {self.t['chunks']} ({', '.join(_CHUNK_COLS)}, vector, known) "
                f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [(c.id, c.doc_id, c.dataset, c.text, c.image_ids, c.search_text, np.asarray(c.vector, np.float32),
                  np.asarray(c.known, np.float32).ravel().tolist() if c.known is not None else None)
                 for d in docs for c in d.chunks])
            cur.executemany(
                f"INSERT INTO {self.t['images']} ({', '.join(_IMAGE_COLS)}, visual, semantic, side) "
                f"VALUES ({', '.join(['%s'] * (len(_IMAGE_COLS) + 3))})",
                [(*(getattr(im, k) for k in _IMAGE_COLS),
                  np.asarray(im.visual, np.float32) if im.has_visual else None, np.asarray(im.semantic, np.float32),
                  np.asarray(im.side, np.float32).ravel().tolist() if im.side is not None else None)
                 for d in docs for im in d.images])
            cur.executemany(f"INSERT INTO {self.t['docs']} (doc_id, dataset, hash) VALUES (%s, %s, %s)",
                            [(d.doc_id, d.dataset, d.hash) for d in docs])

    def delete_docs(self, doc_ids: list[str]) -> None:
        with self.conn.transaction():
            for table in ("docs", "chunks", "images"):
                self.conn.execute(f"DELETE FROM {self.t[table]} WHERE doc_id = ANY(%s)", (doc_ids,))

    def purge_unmarked(self) -> int:
        with self.conn.transaction():
            orphans = [r[0] for r in self.conn.execute(
                f"SELECT DISTINCT doc_id FROM {self.t['chunks']} WHERE doc_id NOT IN (SELECT doc_id FROM {self.t['docs']}) "
                f"UNION SELECT DISTINCT doc_id FROM {self.t['images']} "
                f"WHERE doc_id NOT IN (SELECT doc_id FROM {self.t['docs']})").fetchall()]
            for table in ("chunks", "images"):
                self.conn.execute(f"DELETE FROM {self.t[table]} WHERE doc_id = ANY(%s)", (orphans,))
        return len(orphans)

    def _search(self, table: str, column: str, vector: np.ndarray, k: int, where: str = "") -> list[Hit]:
        rows = self.conn.execute(
            f"SELECT id, {column} <=> %s AS d FROM {self.t[table]} {where} ORDER BY d LIMIT %s",
            (np.asarray(vector, np.float32), k)).fetchall()
        return [Hit(i, 1.0 - float(d)) for i, d in rows]

    def search_chunks(self, vector: np.ndarray, k: int) -> list[Hit]:
        return self._search("chunks", "vector", vector, k)

    def search_images(self, vector: np.ndarray, k: int, column: str) -> list[Hit]:
        if column not in ("visual", "semantic"):
            raise ValueError(f"unknown image vector column {column!r}")
        return self._search("images", column, vector, k, "WHERE has_visual" if column == "visual" else "")

    def chunks(self, ids: list[str]) -> dict[str, ChunkRow]:
        rows = self.conn.execute(f"SELECT {', '.join(_CHUNK_COLS)} FROM {self.t['chunks']} WHERE id = ANY(%s)",
                                 (ids,)).fetchall()
        return {r[0]: ChunkRow(*r) for r in rows}

    def images(self, ids: list[str]) -> dict[str, ImageRow]:
        rows = self.conn.execute(f"SELECT {', '.join(_IMAGE_COLS)} FROM {self.t['images']} WHERE id = ANY(%s)",
                                 (ids,)).fetchall()
        return {r[0]: ImageRow(**dict(zip(_IMAGE_COLS, r))) for r in rows}

    def images_of_chunks(self, chunk_ids: list[str], side: bool = False) -> list[ImageRow]:
        cols = _IMAGE_COLS + (["side"] if side else [])
        rows = self.conn.execute(f"SELECT {', '.join(cols)} FROM {self.t['images']} WHERE chunk_id = ANY(%s)",
                                 (chunk_ids,)).fetchall()
        out = []
        for r in rows:
            row = ImageRow(**dict(zip(_IMAGE_COLS, r)))
            if side and r[-1] is not None:
                row.side = np.asarray(r[-1], np.float32).reshape(SIDE_TEXTS, self.text_dim)
            out.append(row)
        return sorted(out, key=lambda r: (r.chunk_id, int(r.id.rsplit("#", 1)[1])))

    def doc_chunks(self, doc_ids: list[str], known: bool = False) -> dict[str, list[ChunkRow]]:
        cols = _CHUNK_COLS + (["known"] if known else [])
        rows = self.conn.execute(f"SELECT {', '.join(cols)} FROM {self.t['chunks']} WHERE doc_id = ANY(%s)",
                                 (list(doc_ids),)).fetchall()
        out: dict[str, list[ChunkRow]] = {d: [] for d in doc_ids}
        for r in rows:
            row = ChunkRow(*r[: len(_CHUNK_COLS)])
            if known and r[-1]:
                row.known = np.asarray(r[-1], np.float32).reshape(-1, self.text_dim)
            out[r[1]].append(row)
        return {d: sorted(chunks, key=lambda c: chunk_number(c.id)) for d, chunks in out.items()}

    def iter_chunk_texts(self) -> Iterator[tuple[str, str]]:
        yield from self.conn.execute(f"SELECT id, search_text FROM {self.t['chunks']}").fetchall()

    def iter_image_files(self) -> Iterator[tuple[str, str, str]]:
        yield from self.conn.execute(f"SELECT dataset, image_id, path FROM {self.t['images']}").fetchall()

    def counts(self) -> dict[str, int]:
        return {name: self.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for name, t in self.t.items()}

    def create_ann_index(self) -> None:
        """HNSW indexes on the vectors (searches become approximate; ``hnsw.ef_search`` is 100)."""
        self.conn.execute(f"CREATE INDEX IF NOT EXISTS {self.t['chunks']}_hnsw ON {self.t['chunks']} "
                          "USING hnsw (vector vector_cosine_ops)")

    def close(self) -> None:
        self.conn.close()
