"""Indexing the tiny corpus: counts, incremental runs, interrupted runs, bad input, compatibility."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import write_tiny_corpus
from m2io.index.build import IndexConfig, build_index, embedding_text
from m2io.index.manifest import IndexIncompatible, IndexManifest
from m2io.store import open_store
from m2io.store.base import ChunkRow, DocRows


def _cfg(backend: dict, **kw) -> IndexConfig:
    return IndexConfig(backend=backend["backend"], pg_dsn=backend["pg_dsn"], pg_prefix=backend["pg_prefix"], **kw)


def _counts(backend: dict, index: Path) -> dict:
    m = IndexManifest.load(index)
    store = open_store(m.backend, index, m.text_dim, m.visual_dim, backend["pg_dsn"], backend["pg_prefix"])
    try:
        return store.counts()
    finally:
        store.close()


def test_index_incremental_and_resume(backend, tiny_corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    first = build_index([tiny_corpus], index, _cfg(backend), progress=False)
    assert (first.documents, first.indexed, first.chunks, first.images) == (4, 4, 4, 5)
    assert _counts(backend, index) == {"chunks": 4, "images": 5, "docs": 4}
    manifest = IndexManifest.load(index)
    assert manifest.complete and manifest.text_encoder == "all-MiniLM-L6-v2" and manifest.visual_dim == 1280

    again = build_index([tiny_corpus], index, _cfg(backend), progress=False)
    assert (again.indexed, again.unchanged) == (0, 4)

    # One document edited, one removed: only they change.
    docs = (tiny_corpus / "doc_tiny.jsonl").read_text().splitlines()
    edited = json.loads(docs[1])
    edited[1] = edited[1].replace("tip shape", "round tip shape")
    (tiny_corpus / "doc_tiny.jsonl").write_text("\n".join([docs[0], json.dumps(edited), docs[2]]) + "\n")
    (tiny_corpus / "tiny_mqa.jsonl").write_text("")
    third = build_index([tiny_corpus], index, _cfg(backend), progress=False)
    assert (third.indexed, third.unchanged, third.deleted) == (1, 2, 1)
    assert _counts(backend, index) == {"chunks": 3, "images": 4, "docs": 3}


def test_interrupted_run_resumes_without_duplicates(backend, tiny_corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    partial = build_index([tiny_corpus], index, _cfg(backend, batch_docs=1, max_docs=2), progress=False)
    assert partial.indexed == 2 and not IndexManifest.load(index).complete
    # The crash window: rows of a third document written, its marker not. A pgvector run is one transaction:
    # an interrupted one leaves nothing, its two documents are indexed again.
    m = IndexManifest.load(index)
    store = open_store(m.backend, index, m.text_dim, m.visual_dim, backend["pg_dsn"], backend["pg_prefix"])
    kept = 2 if m.backend == "lancedb" else 0
    assert len(store.doc_hashes()) == kept
    missing = sorted({"tiny/layers", "tiny/brush", "tiny/export", "tiny/crop"} - set(store.doc_hashes()))[0]
    vec = np.ones(384, np.float32) / np.sqrt(384)
    store.write([DocRows(missing, "tiny", "partial", [ChunkRow(f"{missing}::0", missing, "tiny", "half", [], "half", vec)])])
    store.delete_docs([])  # no-op
    if m.backend == "lancedb":
        store.tables["docs"].delete(f"doc_id = '{missing}'")
    else:
        store.conn.execute(f"DELETE FROM {store.t['docs']} WHERE doc_id = %s", (missing,))
    store.close()
    resumed = build_index([tiny_corpus], index, _cfg(backend), progress=False)
    assert (resumed.purged, resumed.indexed, resumed.unchanged) == (1, 4 - kept, kept)
    assert _counts(backend, index) == {"chunks": 4, "images": 5, "docs": 4}
    assert IndexManifest.load(index).complete


def test_unreadable_image_is_skipped_with_a_warning(tiny_corpus: Path, tmp_path: Path):
    bad = tiny_corpus / "images" / "TINY" / "B.png"
    bad.write_bytes(bad.read_bytes()[:100])  # truncated
    with pytest.warns(UserWarning, match=r"B.png: not a readable image"):
        report = build_index([tiny_corpus], tmp_path / "index", IndexConfig(), progress=False)
    assert report.indexed == 4 and report.images == 5
    assert len(report.images_skipped) == 1 and "B.png" in report.images_skipped[0]


def test_incompatible_or_foreign_index_folders(tiny_corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    build_index([tiny_corpus], index, IndexConfig(), progress=False)
    manifest = json.loads((index / "m2io-index.json").read_text())
    (index / "m2io-index.json").write_text(json.dumps({**manifest, "text_encoder": "bge-small-en"}))
    with pytest.raises(IndexIncompatible, match="built with text_encoder 'bge-small-en', this run uses "
                                                "'all-MiniLM-L6-v2'"):
        build_index([tiny_corpus], index, IndexConfig(), progress=False)
    (index / "m2io-index.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(IndexIncompatible, match="index format version 99"):
        IndexManifest.load(index)
    with pytest.raises(IndexIncompatible, match="not an m2io index"):
        IndexManifest.load(tmp_path)


def test_empty_corpus_is_an_error(tmp_path: Path):
    from m2io.errors import DatasetError

    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="empty folder"):
        build_index([tmp_path / "empty"], tmp_path / "index", IndexConfig(), progress=False)
    assert not (tmp_path / "index").exists()


def test_embedding_text_puts_captions_where_images_stand():
    assert embedding_text("See <PIC> and <PIC>.", ["a dialog", "a menu"], "Layers", first=False) == \
        "Layers\nSee [image: a dialog] and [image: a menu]."
    assert embedding_text("Intro <PIC>", ["x"], "Layers", first=True) == "Intro [image: x]"


def test_two_datasets_in_one_index(tmp_path: Path):
    a = write_tiny_corpus(tmp_path / "a", name="alpha")
    b = write_tiny_corpus(tmp_path / "b", name="beta")
    report = build_index([a, b], tmp_path / "index", IndexConfig(), progress=False)
    assert report.documents == 8 and set(IndexManifest.load(tmp_path / "index").datasets) == {"alpha", "beta"}


def test_an_older_index_is_named_then_upgraded_in_place(tiny_corpus: Path, tmp_path: Path, backend: dict):
    """Format 3 (no side or sentence vectors): opening it says how to upgrade; `m2io index` on it re-indexes every
    document."""
    from m2io.retrieve import Retriever

    index = tmp_path / "index"
    build_index([tiny_corpus], index, IndexConfig(**backend), progress=False)
    manifest = json.loads((index / "m2io-index.json").read_text())
    (index / "m2io-index.json").write_text(json.dumps({**manifest, "format_version": 3}))
    with pytest.raises(IndexIncompatible, match="format version 3, this m2io reads version 5; run m2io index on its "
                                                "datasets with this --out again: it upgrades the index in place"):
        Retriever.open(index, pg_dsn=backend["pg_dsn"])
    with pytest.warns(UserWarning, match="index format 3 -> 5, upgrading in place"):
        report = build_index([tiny_corpus], index, IndexConfig(**backend), progress=False)
    assert report.indexed == 4 and report.unchanged == 0 and report.purged == 0
    retriever = Retriever.open(index, pg_dsn=backend["pg_dsn"])
    rows = retriever.store.images_of_chunks(["tiny/export::0"], side=True)
    assert [r.image_id for r in rows] == ["E1", "E2"] and rows[0].side.shape == (5, 384)
    assert retriever.store.counts()["chunks"] == 4
    known = retriever.store.doc_chunks(["tiny/export"], known=True)["tiny/export"]
    assert known[0].known is not None and known[0].known.shape[1] == 384
    retriever.close()


def test_side_vectors_are_the_encoders_vectors_of_the_side_texts(tiny_index: Path):
    """What r1 and rule would encode at answer time is already in the index, vector for vector."""
    import numpy as np

    from m2io.encoders.text import TextEncoder
    from m2io.insert.side import side_texts, side_vectors
    from m2io.retrieve import Retriever

    retriever = Retriever.open(tiny_index / "index")
    (row,) = [r for r in retriever.store.images_of_chunks(["tiny/layers::0"], side=True) if r.image_id == "L"]
    expected = side_vectors(TextEncoder(), side_texts(row.caption, row.context, row.above, row.below))
    assert np.allclose(row.side, expected, atol=1e-5)
    retriever.close()
