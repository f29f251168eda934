"""The interleaved benchmark on the tiny index with the tiny unified model, and its summary."""
import pytest

from m2io.corpus.mramg import read_dataset
from m2io.evaluate.interleaved import InterleavedConfig, evaluate_interleaved, reference_of, summarize_interleaved
from m2io.retrieve import Retriever
from m2io.unified.model import UnifiedModel


def test_reference_drops_heading_and_marks():
    assert reference_of("Title\nOpen it. <PIC> Then close.") == "Open it. Then close."


def test_every_item_scored(tiny_unified_dir, tiny_index):
    model = UnifiedModel.load(tiny_unified_dir)
    retriever = Retriever.open(tiny_index / "index")
    try:
        ds = read_dataset(tiny_index / "tiny")
        records = evaluate_interleaved(model, ds, retriever, InterleavedConfig(max_new_tokens=12, batch_size=4),
                                       progress=False)
    finally:
        retriever.close()
    assert [r["id"] for r in records] == [q.id for q in ds.qa]
    docs, qa = {d.id: d for d in ds.documents}, {q.id: q for q in ds.qa}
    for r in records:
        assert r["tokens_generated"] <= 12 and r["scores"]["well_formed"] in (0.0, 1.0)
        assert r["reference_images"] == len(docs[qa[r["id"]].provenance[0]].image_ids)
        assert -1.0 <= r["scores"]["text_question_cosine"] <= 1.0
    s = summarize_interleaved(records)
    assert s["n"] == 4 and s["well_formed_n"] == 4
    lo, hi = s["well_formed_ci95"]
    assert lo <= s["well_formed"] <= hi


def test_summary_numbers():
    records = [{"scores": {"well_formed": 1.0, "fidelity": 0.5}, "steps": [{"kind": "image"}], "latency_ms": 10.0,
                "tokens_generated": 70},
               {"scores": {"well_formed": 0.0}, "steps": [], "latency_ms": 30.0, "tokens_generated": 10}]
    s = summarize_interleaved(records)
    assert s["well_formed"] == pytest.approx(0.5) and s["fidelity"] == 0.5 and s["fidelity_n"] == 1
    assert s["images_mean"] == 0.5 and s["latency_ms_p50"] == 20.0 and s["tokens_generated_mean"] == 40.0
