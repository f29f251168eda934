"""Section ranking: retrieval order, a real cross-encoder reranker (trained a few steps here), save and load."""
from __future__ import annotations

from pathlib import Path

import pytest

from m2io.corpus.mramg import read_dataset
from m2io.sections.rank import RankConfig, SectionRanker, rank_by_scores, sections_of
from m2io.sections.reranker import Reranker, RerankerConfig, RerankerNotFound, base_cross_encoder
from m2io.train.reranker import RerankerTrainConfig, corpus_queries, top1, train_reranker, validation_report


@pytest.fixture(scope="module")
def retriever(tiny_retriever):
    return tiny_retriever


def test_prior_breaks_near_ties_and_retrieval_order_stands_alone():
    assert [r.key for r in rank_by_scores(["a", "b"], [1.0, 1.2], prior=1.0)] == ["a", "b"]  # 2.0 vs 1.7
    assert [r.key for r in rank_by_scores(["a", "b"], [1.0, 1.2], prior=0.0)] == ["b", "a"]
    assert [r.key for r in rank_by_scores(["a", "b"], None, prior=1.0)] == ["a", "b"]


def test_ranker_reads_sections_and_orders_by_the_rerankers_logits(retriever):
    results = retriever.search("How do I export my image as a PNG file?", k=10)
    keys = sections_of(results)

    class Fixed:  # a stand-in scorer for the order logic only; the real reranker is tested below
        def score(self, question, sections, results=()):
            return [10.0 if s.key == keys[-1] else 0.0 for s in sections]

    ranking = SectionRanker(retriever.sections, Fixed(), RankConfig(sections=len(keys), prior=1.0)).rank("q", results)
    assert ranking[0].key == keys[-1] and ranking[0].rerank == 10.0
    plain = SectionRanker(retriever.sections, None).rank("q", results)
    assert [r.key for r in plain] == keys and all(r.rerank is None for r in plain)


def test_a_trained_reranker_saves_a_delta_and_loads_to_the_same_scores(retriever, tiny_index: Path, tmp_path: Path):
    ds = read_dataset(tiny_index / "tiny", "tiny")
    queries = corpus_queries(ds, retriever, "all", k=10)
    assert {q.gold for q in queries} == {f"tiny/{d.id}" for d in ds.documents}
    config = RerankerTrainConfig(model=RerankerConfig(layers=1, max_length=64, passage_words=30), epochs=2,
                                 batch_size=2, hard_negatives=1, in_batch_negatives=1, user_weight=1)
    record = train_reranker(queries, queries, lambda name: retriever.sections, tmp_path / "rr", config, progress=False)
    assert record["examples"] == len(queries) and record["losses"]
    assert record["validation"]["n"] == len(queries) and record["prior"] in (0.0, 0.5, 1.0, 2.0, 3.0, 5.0)
    files = {p.name: p.stat().st_size for p in (tmp_path / "rr").iterdir()}
    assert set(files) == {"reranker.json", "delta.safetensors"}
    assert files["delta.safetensors"] < 4_000_000  # one layer and the head in fp16; the embeddings are not repeated
    loaded = Reranker.load(tmp_path / "rr")
    sections = list(retriever.sections.read([f"tiny/{d.id}" for d in ds.documents]).values())
    again = loaded.score("How do I export?", sections)
    fresh = Reranker(base_cross_encoder(RerankerConfig(layers=1, max_length=64, passage_words=30)),
                     RerankerConfig(layers=1, max_length=64, passage_words=30)).score("How do I export?", sections)
    assert len(again) == 4 and again != pytest.approx(fresh)  # the delta was applied
    assert loaded.prior == record["prior"]


def test_validation_report_counts_hits_per_kind():
    from m2io.train.reranker import Query

    qs = [Query("d", "1", "template", "q", "d/a", ["d/a", "d/b"]), Query("d", "2", "task", "q", "d/b", ["d/a", "d/b"])]
    assert top1(qs, [None, None], 1.0, 5) == [1.0, 0.0]
    report = validation_report(qs, [[0.0, 2.0], [0.0, 2.0]])  # prior 5: "a" 5.0 beats "b" 2 + 2.5
    assert report["by_prior"]["0.0"]["template"] == 0.0 and report["by_prior"]["0.0"]["task"] == 1.0
    assert report["by_prior"]["5.0"]["template"] == 1.0 and report["by_prior"]["5.0"]["user"] == 0.0


def test_a_folder_that_is_no_reranker_is_a_clear_error(tmp_path: Path):
    with pytest.raises(RerankerNotFound, match="not a reranker folder"):
        Reranker.load(tmp_path)


def test_the_learned_section_ranker_trains_saves_loads_and_ranks(retriever, tiny_index: Path, tmp_path: Path):
    """Features of real retrieval results and sections; listwise training; the saved ranker scores the same."""
    import numpy as np

    from m2io.encoders.text import TextEncoder
    from m2io.sections.features import FEATURES, section_features
    from m2io.sections.scorer import SectionScorer, load_scorer
    from m2io.train.section_ranker import SectionRankerTrainConfig, train_section_ranker

    encoder = TextEncoder()
    ds = read_dataset(tiny_index / "tiny", "tiny")
    queries = corpus_queries(ds, retriever, "all", k=10)
    q = next(q for q in queries if q.gold == "tiny/export")
    got = retriever.sections.read(q.retrieved)
    x = section_features(q.question, q.retrieved, got, q.results, encoder)
    assert x.shape == (len(q.retrieved), len(FEATURES))
    row = dict(zip(FEATURES, x[q.retrieved.index("tiny/export")]))
    assert row["title_cover"] == 1.0 and row["title_in_q"] == 1.0  # "Exporting" in "How do I use exporting?"
    assert np.isclose(x[:, FEATURES.index("inv_rank")], 1 / np.arange(1, len(q.retrieved) + 1)).all()

    record = train_section_ranker(queries, queries, lambda name: retriever.sections, encoder, tmp_path / "sr",
                                  SectionRankerTrainConfig(epochs=60), progress=False)
    assert record["validation"]["all"] == 1.0 and record["examples"] == 4
    assert {p.name for p in (tmp_path / "sr").iterdir()} == {"ranker.pt", "ranker.json"}
    scorer = load_scorer(tmp_path / "sr", encoder)
    assert isinstance(scorer, SectionScorer) and scorer.prior == 0.0
    ranking = SectionRanker(retriever.sections, scorer, RankConfig(prior=0.0)).rank(q.question, q.results)
    assert ranking[0].key == "tiny/export" and ranking[0].rerank is not None
