"""The shipped policy (models/inserter-r1) is what --inserter r1, the default, runs; it places real images."""
import pytest

from m2io.components import ComponentConfig, Components
from m2io.corpus.mramg import read_dataset
from m2io.insert.policy.inserter import R1Inserter, resolve_policy, shipped_policy
from m2io.insert.score import score_plan
from m2io.insert.task import build_tasks


@pytest.mark.skipif(shipped_policy() is None, reason="no policy in models/inserter-r1")
def test_the_default_inserter_is_the_shipped_policy_and_it_beats_a_random_guess(tiny_corpus):
    comps = Components(ComponentConfig())
    inserter = comps.inserter()
    assert isinstance(inserter, R1Inserter) and resolve_policy("auto") == shipped_policy()
    tasks = build_tasks(read_dataset(tiny_corpus), distractors=4)
    f1 = []
    for t in tasks:
        r = inserter.insert(t.query, t.segments, t.candidates, t.provenance)
        assert r.model_calls == 1 and r.tokens_generated == 0 and not r.fallback
        f1.append(score_plan(t.gold, r.placements)["image_f1"])
    # 4 tasks of 1-2 gold images among 5 candidates; the gold text holds each image's context
    assert sum(f1) / len(f1) >= 0.75
