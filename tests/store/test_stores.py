"""The same behaviour from every backend: LanceDB in a folder, pgvector in a real server."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from m2io.errors import M2IOError
from m2io.store import open_store
from m2io.store.base import ChunkRow, DocRows, ImageRow


def _vec(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def _doc(doc_id: str, text_vec: np.ndarray, visual: np.ndarray | None, h: str = "h") -> DocRows:
    chunk = ChunkRow(f"{doc_id}::0", doc_id, "ds", f"text of {doc_id} <PIC>", ["img-" + doc_id], f"search {doc_id}",
                     text_vec)
    image = ImageRow(f"{doc_id}::0#0", "img-" + doc_id, doc_id, f"{doc_id}::0", "ds", "a caption", "context",
                     "/x.png", visual is not None, visual, text_vec)
    return DocRows(doc_id, "ds", h, [chunk], [image])


@pytest.fixture
def store(backend, tmp_path: Path):
    s = open_store(backend["backend"], tmp_path, text_dim=3, visual_dim=2, pg_dsn=backend["pg_dsn"],
                   pg_prefix=backend["pg_prefix"])
    yield s
    s.close()


def test_write_search_fetch(store):
    store.write([_doc("a", _vec(1, 0, 0), _vec(1, 0)), _doc("b", _vec(0, 1, 0), _vec(0, 1)),
                 _doc("c", _vec(1, 1, 0), None)])
    hits = store.search_chunks(_vec(1, 0.1, 0), k=2)
    assert [h.id for h in hits] == ["a::0", "c::0"]
    assert hits[0].score == pytest.approx(float(_vec(1, 0.1, 0) @ _vec(1, 0, 0)), abs=1e-5)
    # Images without a visual vector are not in visual search, but are in semantic search.
    assert [h.id for h in store.search_images(_vec(1, 0.2), k=5, column="visual")] == ["a::0#0", "b::0#0"]
    assert {h.id for h in store.search_images(_vec(1, 1, 0), k=5, column="semantic")} == {"a::0#0", "b::0#0", "c::0#0"}
    chunks = store.chunks(["b::0", "zzz"])
    assert list(chunks) == ["b::0"] and chunks["b::0"].image_ids == ["img-b"] and chunks["b::0"].doc_id == "b"
    (image,) = store.images_of_chunks(["c::0"])
    assert (image.image_id, image.has_visual, image.caption) == ("img-c", False, "a caption")
    assert store.images(["a::0#0"])["a::0#0"].path == "/x.png"
    assert sorted(store.iter_chunk_texts()) == [("a::0", "search a"), ("b::0", "search b"), ("c::0", "search c")]
    assert sorted(store.iter_image_files()) == [("ds", f"img-{d}", "/x.png") for d in "abc"]
    assert chunks["b::0"].text == "text of b <PIC>" and chunks["b::0"].search_text == "search b"
    assert store.counts() == {"chunks": 3, "images": 3, "docs": 3}
    assert store.doc_hashes() == {"a": "h", "b": "h", "c": "h"}


def test_rewrite_replaces_and_delete_removes(store):
    store.write([_doc("a", _vec(1, 0, 0), _vec(1, 0), "h1"), _doc("b", _vec(0, 1, 0), _vec(0, 1))])
    store.write([_doc("a", _vec(0, 0, 1), _vec(1, 0), "h2")])
    assert store.counts() == {"chunks": 2, "images": 2, "docs": 2}
    assert store.doc_hashes()["a"] == "h2"
    assert store.search_chunks(_vec(0, 0, 1), k=1)[0].id == "a::0"
    store.delete_docs(["a"])
    assert store.counts() == {"chunks": 1, "images": 1, "docs": 1} and list(store.doc_hashes()) == ["b"]


def test_purge_unmarked_rows_of_an_interrupted_write(store):
    store.write([_doc("a", _vec(1, 0, 0), _vec(1, 0))])
    store.delete_docs(["zz"])  # no-op
    # Rows of a document whose marker never got written (a crash between rows and marker).
    orphan = _doc("b", _vec(0, 1, 0), _vec(0, 1))
    store.write([orphan])
    if hasattr(store, "tables"):
        store.tables["docs"].delete("doc_id = 'b'")
    else:
        store.conn.execute(f"DELETE FROM {store.t['docs']} WHERE doc_id = 'b'")
    assert store.purge_unmarked() == 1
    assert store.counts() == {"chunks": 1, "images": 1, "docs": 1}


def test_empty_store_searches_return_nothing(store):
    assert store.search_chunks(_vec(1, 0, 0), k=3) == [] and store.chunks([]) == {}
    assert store.doc_hashes() == {} and list(store.iter_chunk_texts()) == [] and list(store.iter_image_files()) == []


def test_pgvector_needs_a_connection(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("M2IO_PG_DSN", raising=False)
    with pytest.raises(M2IOError, match="needs a connection string"):
        open_store("pgvector", tmp_path, 3, 2)
    with pytest.raises(M2IOError, match="cannot connect to PostgreSQL"):
        open_store("pgvector", tmp_path, 3, 2, pg_dsn="postgresql://nobody@/x?host=/nonexistent")
    with pytest.raises(M2IOError, match="unknown store backend"):
        open_store("redis", tmp_path, 3, 2)
