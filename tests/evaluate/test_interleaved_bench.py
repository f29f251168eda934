"""The interleaved benchmark on the tiny index: the unified model and pipeline baselines on the same drafts,
scored with the inserters' metrics, summarised with intervals and paired differences."""
import pytest

from m2io.corpus.mramg import read_dataset
from m2io.evaluate.interleaved import InterleavedConfig, evaluate_interleaved, reference_of, summarize_interleaved
from m2io.retrieve import Retriever
from m2io.unified.answer import UnifiedAnswerer, UnifiedConfig
from m2io.unified.model import UnifiedModel


def test_reference_drops_heading_and_marks():
    assert reference_of("Title\nOpen it. <PIC> Then close.") == "Open it. Then close."


def test_every_item_scored_beside_the_pipeline(tiny_unified_dir, tiny_index):
    model = UnifiedModel.load(tiny_unified_dir)
    retriever = Retriever.open(tiny_index / "index")
    try:
        ds = read_dataset(tiny_index / "tiny")
        answerer = UnifiedAnswerer(model, retriever, UnifiedConfig(max_new_tokens=24))
        records = evaluate_interleaved(answerer, ds, cfg=InterleavedConfig(baselines=("rule", "source")),
                                       progress=False)
    finally:
        retriever.close()
    asked = [q.id for q in ds.qa if q.image_ids]
    for system in ("unified", "pipeline:rule", "pipeline:source"):
        assert [r["qa_id"] for r in records if r["system"] == system] == asked
    for r in records:
        s = r["scores"]
        assert 0.0 <= s["image_f1"] <= 1.0 and 0.0 <= s["rouge_l"] <= 1.0 and 0.0 <= s["oracle_f1"] <= 1.0
        if r["system"] == "unified":
            assert r["tokens_generated"] <= 24 and s["well_formed"] in (0.0, 1.0)
            assert s["reference_steps"] == sum(x["kind"] == "reference" for x in r["steps"])
            assert s["drawn_steps"] == sum(x["kind"] == "image" for x in r["steps"])
    # the source inserter keeps each figure of the answer's section where it stood: F1 1 where the section is right
    source = [r for r in records if r["system"] == "pipeline:source"]
    assert max(r["scores"]["image_f1"] for r in source) == 1.0
    s = summarize_interleaved(records)
    row = s["systems"]["template/unified"]
    assert row["n"] == len(asked) and row["well_formed_n"] == len(asked)
    lo, hi = row["image_f1_ci95"]
    assert lo <= row["image_f1"] <= hi
    paired = s["paired"]["template/unified - pipeline:rule"]
    assert paired["n"] == len(asked)
    rule = s["systems"]["template/pipeline:rule"]
    assert paired["image_f1"] == pytest.approx(row["image_f1"] - rule["image_f1"])


def test_summary_numbers():
    def rec(system, qa, f1, kind="template"):
        return {"system": system, "qa_id": qa, "dataset": "d", "kind": kind, "latency_ms": 10.0 * qa,
                "tokens_generated": 5, "scores": {"image_f1": f1, "rouge_l": 0.5}}

    records = [rec("unified", 1, 1.0), rec("pipeline:rule", 1, 0.5), rec("unified", 2, 0.0), rec("pipeline:rule", 2, 0.5),
               rec("unified", 3, 1.0, "user")]
    s = summarize_interleaved(records)
    assert s["systems"]["template/unified"]["image_f1"] == 0.5 and s["systems"]["template/unified"]["n"] == 2
    assert s["systems"]["user/unified"]["n"] == 1 and s["systems"]["template/unified"]["latency_ms_p50"] == 15.0
    assert s["paired"]["template/unified - pipeline:rule"]["image_f1"] == 0.0
    assert s["paired"]["template/unified - pipeline:rule"]["n"] == 2 and "user/unified - pipeline:rule" not in s["paired"]
