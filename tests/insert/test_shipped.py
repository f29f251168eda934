"""Which r1-lm adapter loads: explicit folders, the shipped one for auto on the bundled base, none otherwise."""
from pathlib import Path

import pytest

from m2io.components import ComponentConfig, Components
from m2io.corpus.mramg import read_dataset
from m2io.insert.score import score_plan
from m2io.insert.shipped import resolve_adapter, shipped_adapter
from m2io.insert.task import build_tasks


def test_resolve_adapter():
    assert resolve_adapter("runs/x", lm_dir="m", lm_url=None) == "runs/x"
    assert resolve_adapter(None, lm_dir=None, lm_url=None) is None
    assert resolve_adapter("auto", lm_dir="other-model", lm_url=None) is None  # trained on another base
    assert resolve_adapter("auto", lm_dir=None, lm_url="http://h/v1") is None
    found = shipped_adapter()
    assert resolve_adapter("auto", lm_dir=None, lm_url=None) == (str(found) if found else None)


@pytest.mark.skipif(shipped_adapter() is None, reason="no adapter in models/inserter-r1-lm")
def test_the_shipped_adapter_is_what_r1_lm_runs_by_default(tiny_corpus: Path):
    """The default r1-lm loads models/inserter-r1-lm, and the adapter changes its plans on real tasks."""
    comps = Components(ComponentConfig())
    trained, zero_shot = comps.inserter("r1-lm"), Components(ComponentConfig(r1_adapter=None)).inserter("r1-lm")
    assert trained.model.name.endswith("+inserter-r1-lm") and "+" not in zero_shot.model.name
    tasks = build_tasks(read_dataset(tiny_corpus), distractors=4)
    outputs, f1 = [], []
    for t in tasks:
        a = trained.insert(t.query, t.segments, t.candidates)
        b = zero_shot.insert(t.query, t.segments, t.candidates)
        assert not a.fallback and a.model_calls == 1
        outputs.append((a.raw_output, b.raw_output))
        f1.append((score_plan(t.gold, a.placements)["image_f1"], score_plan(t.gold, b.placements)["image_f1"]))
    assert any(a != b for a, b in outputs)
    assert sum(a for a, _ in f1) >= sum(b for _, b in f1)
