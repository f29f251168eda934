from __future__ import annotations

from pathlib import Path

import pytest

from m2io.evaluate.retrieval import _score, evaluate_retrieval
from m2io.index.build import IndexConfig, build_index
from m2io.retrieve import Retriever


def _rec(rank, gold, at10, latency):
    return {"first_gold_rank": rank, "gold_images": gold, "images_at": {"1": at10[:1], "5": at10, "10": at10},
            "latency_ms": latency}


def test_scores_by_hand():
    s = _score([_rec(1, ["a", "b"], ["a", "x"], 10.0), _rec(3, ["c"], ["x", "c"], 20.0), _rec(None, [], [], 30.0)])
    assert s.n == 3 and s.n_visual == 2
    assert (s.doc_recall[1], s.doc_recall[5], s.doc_recall[10]) == pytest.approx((1 / 3, 2 / 3, 2 / 3))
    assert s.visual_recall[1] == pytest.approx((0.5 + 0.0) / 2)  # "c" is not the first image at k=1
    assert s.visual_recall[10] == pytest.approx((0.5 + 1.0) / 2)
    assert s.mrr == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert (s.latency_ms_p50, s.latency_ms_p95) == pytest.approx((20.0, 29.0))


def test_evaluate_on_the_tiny_corpus(tiny_corpus: Path, tmp_path: Path):
    build_index([tiny_corpus], tmp_path / "index", IndexConfig(), progress=False)
    retriever = Retriever.open(tmp_path / "index")
    scores, records = evaluate_retrieval(retriever, tiny_corpus, queries="both", progress=False)
    text, image = scores["text"], scores["image"]
    assert text["n"] == 4 and text["doc_recall@1"] == 1.0 and text["visual_recall@10"] == 1.0 and text["mrr"] == 1.0
    assert image["n"] == 4 and image["doc_at_1"] == 1.0
    assert text["doc_recall@10_ci95"] == [1.0, 1.0] and "visual_recall@10_ci95" not in image
    from m2io.evaluate.retrieval import _score
    mixed = _score([{"first_gold_rank": r, "gold_images": [], "images_at": {}, "latency_ms": 1.0}
                    for r in (1, None, 3, None)]).as_dict()
    assert mixed["doc_recall@1"] == 0.25 and mixed["doc_recall@10"] == 0.5
    lo, hi = mixed["doc_recall@10_ci95"]
    assert 0.0 <= lo < 0.5 < hi <= 1.0 and mixed["mrr_ci95"][0] <= mixed["mrr"] <= mixed["mrr_ci95"][1]
    assert {r["kind"] for r in records} == {"text", "image"} and all(r["retrieved"] for r in records)
    limited, _ = evaluate_retrieval(retriever, tiny_corpus, queries="text", limit=2, progress=False)
    assert limited["text"]["n"] == 2
