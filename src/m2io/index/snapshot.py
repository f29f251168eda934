"""Index snapshots: the one consistent state of an index that readers answer from while it is re-indexed.

An index is rows (LanceDB tables or PostgreSQL tables), a BM25 index over the chunks and the sources'
labels. ``m2io index`` publishes them together as snapshot ``N + 1`` at the end of a run; a reader
(:class:`m2io.retrieve.Retriever`) answers from one snapshot until it sees a newer one
(:meth:`Retriever.refresh <m2io.retrieve.Retriever.refresh>`), so no request mixes two.

- **LanceDB**: the manifest names the snapshot: the tables' versions (readers check them out, so rows
  written since are invisible), ``bm25.vN/`` and ``sources.vN.json`` in the index folder. Files of all
  but the two newest snapshots are removed.
- **pgvector**: the run is one transaction; its snapshot row (BM25 as a tar archive, sources as JSON) is
  written in it, so tables and snapshot change together at commit, for every replica on any machine.
  Readers query in REPEATABLE READ transactions and check the snapshot version first.

An index from before snapshots (no ``snapshot`` in its manifest) reads as snapshot 0: ``bm25/``,
``sources.json`` and the tables' latest versions.

>>> Snapshot.of({}).version, Snapshot.of({}).bm25
(0, 'bm25')
>>> Snapshot.of({"version": 3, "tables": {"chunks": 7}, "bm25": "bm25.v3", "sources": "sources.v3.json"}).tables
{'chunks': 7}
"""
from __future__ import annotations

import io
import json
import shutil
import tarfile
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from m2io.atomic import atomic_write_text
from m2io.index.lexical import Bm25Index
from m2io.index.manifest import MANIFEST
from m2io.index.sources import SOURCES_FILE, load_sources, parse_sources, sources_json
from m2io.types import DocSource


@dataclass(frozen=True)
class Snapshot:
    version: int = 0
    tables: dict[str, int] = field(default_factory=dict)
    """LanceDB table name -> version ({} for pgvector, or an index from before snapshots: the latest rows)."""
    bm25: str = "bm25"
    sources: str = SOURCES_FILE

    @classmethod
    def of(cls, data: dict) -> "Snapshot":
        """The snapshot a manifest's ``snapshot`` field names ({}: an index from before snapshots)."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__}) if data else cls()

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class View:
    """What a reader answers from: one snapshot's store (pinned), BM25 index and sources."""
    version: int
    bm25: Bm25Index | None
    sources: dict[str, DocSource]


def _tar(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(folder, arcname=".")
    return buf.getvalue()


def _untar_bm25(data: bytes) -> Bm25Index:
    tmp = Path(tempfile.mkdtemp(prefix="m2io-bm25-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(tmp, filter="data")
        return Bm25Index.load(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def previous_sources(out: Path, previous: Snapshot, store) -> dict[str, DocSource]:
    """The source labels of snapshot ``previous`` (an index from before snapshots: the folder's ``sources.json``)."""
    if hasattr(store, "load_snapshot") and previous.version:
        return parse_sources(store.load_snapshot(previous.version)[1])
    return load_sources(out, previous.sources or SOURCES_FILE)


def publish(out: Path, previous: Snapshot, store, bm25: Bm25Index, sources: dict[str, DocSource]) -> Snapshot:
    """Write snapshot ``previous.version + 1`` of the rows ``store`` holds now, with these source labels (inside
    the run's :meth:`~m2io.store.base.Store.build_transaction` for pgvector); the caller saves it in the manifest."""
    version = previous.version + 1
    if hasattr(store, "publish_snapshot"):
        with tempfile.TemporaryDirectory(prefix="m2io-bm25-") as tmp:
            bm25.save(Path(tmp) / "bm25")
            store.publish_snapshot(version, _tar(Path(tmp) / "bm25"), sources_json(sources))
        return Snapshot(version, {}, "", "")
    snapshot = Snapshot(version, store.versions(), f"bm25.v{version}", f"sources.v{version}.json")
    bm25.save(out / snapshot.bm25)
    atomic_write_text(out / snapshot.sources, sources_json(sources))
    return snapshot


def latest_snapshot(manifest_snapshot: dict, store) -> Snapshot:
    """The newest published snapshot: the manifest's, or for pgvector the server's (another machine may have
    published it)."""
    if hasattr(store, "snapshot_version"):
        return Snapshot(store.snapshot_version(), {}, "", "")
    return Snapshot.of(manifest_snapshot)


def prune(out: Path, current: Snapshot, previous: Snapshot, store=None) -> None:
    """Remove the table versions, BM25 folders and sources files of snapshots older than ``previous`` (a reader
    that read the manifest just before ``current`` was published may still be using ``previous``)."""
    if store is not None and hasattr(store, "cleanup") and previous.tables:  # before snapshots: nothing pinned
        store.cleanup(previous.tables)
    keep = {current.bm25, previous.bm25, current.sources, previous.sources}
    for path in [*out.glob("bm25*"), *out.glob("sources*.json")]:
        if path.name not in keep and not path.name.startswith("."):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def published_version(index: Path, store) -> int:
    """The newest published snapshot's version, read cheaply (a file read, or one query)."""
    if hasattr(store, "snapshot_version"):
        return store.snapshot_version()
    try:
        data = json.loads((Path(index) / MANIFEST).read_text())
    except (OSError, ValueError):
        return -1  # being replaced, or damaged: keep answering from what is loaded
    return Snapshot.of(data.get("snapshot") or {}).version


def open_view(index: Path, snapshot: Snapshot, store) -> View:
    """Load snapshot ``snapshot`` of ``index`` (pgvector: the newest in the server) and pin ``store`` to it."""
    if hasattr(store, "snapshot_version"):
        version = store.snapshot_version()
        if version == 0:  # built before snapshots: its BM25 index and sources are in the folder
            return View(0, _folder_bm25(Path(index) / "bm25"), load_sources(index))
        bm25, sources = store.load_snapshot(version)
        return View(version, _untar_bm25(bm25) if bm25 else None, parse_sources(sources))
    store.pin(snapshot.tables)
    return View(snapshot.version, _folder_bm25(Path(index) / snapshot.bm25), load_sources(index, snapshot.sources))


def _folder_bm25(folder: Path) -> Bm25Index | None:
    return Bm25Index.load(folder) if (folder / "ids.json").is_file() else None
