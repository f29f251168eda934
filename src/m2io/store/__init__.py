"""Vector stores behind one interface (:class:`m2io.store.base.Store`): LanceDB and pgvector."""
from __future__ import annotations

import os
from pathlib import Path

from m2io.errors import M2IOError
from m2io.store.base import Store

PG_DSN_ENV = "M2IO_PG_DSN"


def open_store(backend: str, index_dir: Path, text_dim: int, visual_dim: int, pg_dsn: str = "",
               pg_prefix: str = "m2io") -> Store:
    """The store of an index: ``lancedb`` keeps it in ``<index>/lance``; ``pgvector`` in a server."""
    if backend == "lancedb":
        from m2io.store.lance import LanceStore

        return LanceStore(Path(index_dir) / "lance", text_dim, visual_dim)
    if backend == "pgvector":
        from m2io.store.pgvector import PgVectorStore

        dsn = pg_dsn or os.environ.get(PG_DSN_ENV, "")
        if not dsn:
            raise M2IOError(f"the pgvector backend needs a connection string: --pg-dsn or ${PG_DSN_ENV}")
        return PgVectorStore(dsn, pg_prefix, text_dim, visual_dim)
    raise M2IOError(f"unknown store backend {backend!r}: lancedb or pgvector")
