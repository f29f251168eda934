"""Retrieval on the tiny corpus, with every backend."""
from __future__ import annotations

from pathlib import Path

import pytest

from m2io.encoders.image import ImageError
from m2io.errors import M2IOError
from m2io.index.build import IndexConfig, build_index
from m2io.index.manifest import IndexIncompatible
from m2io.retrieve import Retriever, rrf


@pytest.fixture
def retriever(backend, tiny_corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    build_index([tiny_corpus], index, IndexConfig(backend=backend["backend"], pg_dsn=backend["pg_dsn"],
                                                  pg_prefix=backend["pg_prefix"]), progress=False)
    r = Retriever.open(index, pg_dsn=backend["pg_dsn"])
    yield r
    r.close()


@pytest.mark.parametrize("question,doc", [
    ("How do I reorder layers?", "tiny/layers"), ("Which brush size should I pick?", "tiny/brush"),
    ("save my picture as a JPEG file", "tiny/export"), ("frame the subject of a photo", "tiny/crop"),
])
def test_text_queries_find_their_document_first(retriever, question, doc):
    results = retriever.search(text=question, k=4)
    assert results[0].doc_id == doc
    assert set(results[0].ranks) >= {"dense", "bm25"}
    assert len(results) == 4 and results[0].score > results[1].score


def test_results_carry_images_and_provenance(retriever):
    (top,) = retriever.search(text="export dialog file name", k=1)
    assert top.doc_id == "tiny/export" and top.source_doc == "export" and top.dataset == "tiny"
    assert [im.image_id for im in top.images] == ["E1", "E2"]
    assert top.images[0].caption == "The export dialog" and top.images[0].path.endswith("E1.png")
    assert top.text.count("<PIC>") == 2
    assert set(retriever.last_timings) >= {"encode_text", "search_text", "total"}


def test_image_query_finds_the_document_holding_it(retriever, tiny_corpus: Path):
    for image_id, doc in [("C", "tiny/crop"), ("E2", "tiny/export"), ("L", "tiny/layers")]:
        results = retriever.search(image=tiny_corpus / "images" / "TINY" / f"{image_id}.png", k=3)
        assert results[0].doc_id == doc
        assert next(im for im in results[0].images if im.image_id == image_id).score == pytest.approx(1.0, abs=1e-4)


def test_text_and_image_together(retriever, tiny_corpus: Path):
    results = retriever.search(text="brush tip", image=tiny_corpus / "images" / "TINY" / "B.png", k=2)
    assert results[0].doc_id == "tiny/brush" and {"dense", "image_visual"} <= set(results[0].ranks)


def test_bad_queries(retriever, tmp_path: Path):
    (tmp_path / "q.png").write_text("not an image")
    with pytest.raises(ImageError, match="q.png: not a readable image"):
        retriever.search(image=tmp_path / "q.png")
    with pytest.raises(M2IOError, match="needs text, an image, or both"):
        retriever.search(text="  ")


def test_rrf_weights_and_ranks():
    scores, ranks = rrf({"a": ["x", "y", "z"], "b": ["z"]}, {"a": 1.0, "b": 2.0}, k=1)
    assert scores == pytest.approx({"x": 1 / 2, "y": 1 / 3, "z": 1 / 4 + 2 / 2})
    assert ranks["z"] == {"a": 3, "b": 1}


def test_stale_adapter_is_refused(tiny_corpus: Path, tmp_path: Path):
    import numpy as np

    from m2io.encoders.bridge import ImageAdapter

    index = tmp_path / "index"
    build_index([tiny_corpus], index, IndexConfig(), progress=False)
    ImageAdapter(np.zeros((384, 1280), np.float32), {}).save(index / "image_adapter.npz")
    with pytest.raises(IndexIncompatible, match="image adapter changed"):
        Retriever.open(index)


def test_index_and_search_with_a_clip_image_encoder(tiny_corpus: Path, tmp_path: Path):
    from conftest import tiny_clip

    model = tiny_clip(tmp_path / "clip")
    index = tmp_path / "index"
    build_index([tiny_corpus], index, IndexConfig(image_model=str(model)), progress=False)
    r = Retriever.open(index)
    try:
        assert r.manifest.image_encoder == "clip:clip" and r.manifest.visual_dim == 16
        results = r.search(image=tiny_corpus / "images" / "TINY" / "C.png", k=2)
        assert results[0].doc_id == "tiny/crop"
        assert r.search(text="crop a photo", k=1)[0].doc_id == "tiny/crop"
    finally:
        r.close()


def test_results_list_each_image_once(tmp_path: Path):
    from conftest import pattern_png, write_mramg

    pattern_png(tmp_path / "c" / "images" / "REP" / "x.png", seed=5)
    pattern_png(tmp_path / "c" / "images" / "REP" / "y.png", seed=6)
    corpus = write_mramg(tmp_path / "c", name="rep",
                         docs=[["d", "Steps\nFirst step shown here. <PIC>\nSecond step. <PIC>\nThird again. <PIC>",
                                ["x", "y", "x"]]],
                         collection={i: {"image_path": f"images/REP/{i}.png", "image_caption": f"{i} shot"}
                                     for i in ("x", "y")})
    build_index([corpus], tmp_path / "index", IndexConfig(), progress=False)
    r = Retriever.open(tmp_path / "index")
    (top,) = r.search(text="first step", k=1)
    r.close()
    assert [im.image_id for im in top.images] == ["x", "y"] and top.text.count("<PIC>") == 3
