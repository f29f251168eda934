"""Cold start, GRPO, resume and export of the placement policy on the tiny corpus, with the real MiniLM."""
import json

import numpy as np
import pytest
import torch

from m2io.corpus.mramg import read_dataset
from m2io.encoders.text import TextEncoder
from m2io.insert.policy.inserter import R1Inserter
from m2io.insert.policy.model import PlacementPolicy, PolicyConfig
from m2io.insert.score import score_plan
from m2io.insert.task import build_tasks
from m2io.train.curves import read_metrics
from m2io.train.policy.cold_start import ColdStartConfig, run_cold_start
from m2io.train.policy.data import Variants, build_examples, cached_examples
from m2io.train.policy.evaluate import score_examples
from m2io.train.policy.export import export_policy
from m2io.train.policy.grpo import GRPOConfig, run_grpo


@pytest.fixture(scope="module")
def encoder():
    return TextEncoder()


@pytest.fixture
def examples(tiny_corpus, encoder):
    ds = read_dataset(tiny_corpus, "tiny")
    return build_examples([(ds, None)], "all", encoder, Variants(shuffles=2, more=0, fewer=1, cuts=0, answerers=()),
                          progress=False)


def test_examples_hold_gold_decisions(examples):
    assert len(examples) == 4 * 4  # 4 QA items: base, 2 shuffles, 1 fewer
    for e in examples:
        placed = {i + 1: int(a) - 1 for i, a in enumerate(e.actions) if a}
        assert placed == e.gold and e.features.slot.shape[1] == e.n_segments + 1


def test_examples_cache_is_keyed(tmp_path, examples):
    path = tmp_path / "ex.pkl"
    assert len(cached_examples(path, {"a": 1}, lambda: examples)) == len(examples)
    assert len(cached_examples(path, {"a": 1}, lambda: 1 / 0)) == len(examples)   # read back, not rebuilt
    assert cached_examples(path, {"a": 2}, lambda: []) == []                       # another key: rebuilt
    path.write_bytes(b"not a pickle")
    assert cached_examples(path, {"a": 2}, lambda: [1]) == [1]                     # a corrupt file: rebuilt


def test_cold_start_learns_the_gold_decisions_and_grpo_runs_and_resumes(tmp_path, examples, tiny_corpus, encoder):
    cold = run_cold_start(examples, examples, ColdStartConfig(out=str(tmp_path / "cold"), epochs=40, batch_size=8,
                                                             policy=PolicyConfig(dim=32)), progress=False)
    scores = score_examples(cold, examples)
    assert scores["image_f1"] >= 0.9 and scores["position_accuracy"] >= 0.9
    record = json.loads((tmp_path / "cold" / "m2io-train.json").read_text())
    assert record["kind"] == "r1-cold" and record["best_epoch"] is not None and (tmp_path / "cold" / "curves.png").is_file()
    # the leave-out bias was chosen on validation and saved with the policy
    assert record["leave_out_bias"] in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
    assert PlacementPolicy.load(tmp_path / "cold" / "policy.pt").config.leave_out_bias == record["leave_out_bias"]

    config = GRPOConfig(out=str(tmp_path / "grpo"), init=str(tmp_path / "cold" / "policy.pt"), steps=4,
                        tasks_per_step=8, group=8, eval_every=2)
    run_grpo(examples, examples, config, dev=examples[:4], progress=False)
    rows = read_metrics(tmp_path / "grpo" / "metrics.jsonl")
    assert [r["step"] for r in rows] == [0, 1, 2, 3, 4]
    assert all(0 <= r["rewards/selection/mean"] <= 1 for r in rows[1:]) and "val/image_f1" in rows[2]
    assert "dev/image_f1" in rows[0] and rows[1]["kl"] >= 0
    # resume: 2 more steps continue from the checkpoint at step 4, the log keeps one line per step
    run_grpo(examples, examples, GRPOConfig(**{**config.__dict__, "steps": 6}), progress=False)
    assert [r["step"] for r in read_metrics(tmp_path / "grpo" / "metrics.jsonl")] == [0, 1, 2, 3, 4, 5, 6]
    assert json.loads((tmp_path / "grpo" / "m2io-train.json").read_text())["plans_per_minute_sampling"] > 0

    shipped = export_policy(tmp_path / "grpo", tmp_path / "ship", note="A test policy.")
    card = (shipped / "README.md").read_text()
    assert "A test policy." in card and "r1-cold" in card and "r1-grpo" in card and (shipped / "cold-start.json").is_file()

    # the exported policy places the tiny corpus's images as the inserter, 0 tokens, one call
    inserter = R1Inserter.from_file(encoder, shipped)
    task = build_tasks(read_dataset(tiny_corpus, "tiny"))[2]
    result = inserter.insert(task.query, task.segments, task.candidates, task.provenance)
    assert result.model_calls == 1 and result.tokens_generated == 0
    assert score_plan(task.gold, result.placements)["image_f1"] == 1.0


def test_inserter_on_bad_input_gives_valid_plans(tmp_path, encoder, tiny_corpus):
    from m2io.types import Candidate, Image

    torch.manual_seed(0)
    PlacementPolicy(PolicyConfig(dim=16)).save(tmp_path / "p.pt")
    inserter = R1Inserter.from_file(encoder, tmp_path / "p.pt")
    blank = [Candidate(k, Image(f"i{k}", None, ""), "") for k in range(1, 51)]
    assert inserter.insert("q", ["One segment only."], []).placements == []          # no candidates: no call
    for segments, cands in ((["One segment only."], blank[:3]), (["A.", "B."], blank), ([], blank[:2])):
        result = inserter.insert("q", segments, cands)
        slots = [p.slot for p in result.placements]
        assert all(0 <= s <= len(segments) for s in slots) and len({p.image_id for p in result.placements}) == len(slots)
    with pytest.raises(ValueError, match="384-d"):
        R1Inserter(type("Enc", (), {"dim": 8})(), PlacementPolicy())


def test_pipeline_copies_carry_provenance_and_structural_gold(tiny_index, encoder):
    """Tasks as `ask` makes them: the section answer, its provenance, its sections' figures first, structural gold."""
    from m2io.answer.section import FocusedAnswerer
    from m2io.insert.source import SourceInserter
    from m2io.pipeline import Pipeline, PipelineConfig
    from m2io.retrieve import Retriever
    from m2io.sections.rank import SectionRanker

    retriever = Retriever.open(tiny_index / "index")
    ds = read_dataset(tiny_index / "tiny", "tiny")

    def pipelines(r):
        return {"focused": Pipeline(r, FocusedAnswerer(SectionRanker(r.sections), encoder), SourceInserter(),
                                    PipelineConfig(k=10))}

    examples = build_examples([(ds, retriever)], "all", encoder, Variants.none().__class__(
        shuffles=0, more=0, fewer=0, cuts=0, answerers=("focused",), reorder=1), pipelines_of=pipelines,
        progress=False)
    asked = [e for e in examples if e.variant == "ask-focused"]
    assert len(asked) >= 3  # the questions whose best section is their own
    export = next(e for e in asked if e.source == "tiny/3")
    assert export.gold == {1: 1, 2: 2} and export.n_segments >= 2   # E1 after segment 1, E2 after segment 2
    assert export.features.slot[0, 1, -7] == 1.0                    # the structural-slot feature of E1 at slot 1
    assert any(e.variant.startswith("ask-focused-reordered") for e in examples) or all(e.n_segments < 3 for e in asked)
    retriever.close()


def test_unsourced_copies_look_like_tasks_without_provenance(tiny_corpus, encoder):
    from m2io.insert.policy.features import task_features
    from m2io.train.policy.data import with_unsourced

    ds = read_dataset(tiny_corpus, "tiny")
    tasks = build_tasks(ds)
    examples = build_examples([(ds, None)], "all", encoder, Variants.none(), progress=False)
    assert all(t.provenance for t in tasks) and len(examples) == len(tasks) == 4
    out = with_unsourced(examples, 0.5, seed=1)
    assert len(out) == 6 and out[:4] == examples and {e.variant for e in out[4:]} == {"base/unsourced"}
    for copy in out[4:]:
        task = next(t for t in tasks if f"tiny/{t.qa_id}" == copy.source)
        bare = task_features(task.query, task.segments, task.candidates, encoder)  # no provenance given
        assert np.allclose(copy.features.slot, bare.slot) and np.allclose(copy.features.cand, bare.cand)
        original = next(e for e in examples if e.source == copy.source)
        assert copy.features.max_run == bare.max_run == 1 and copy.actions.tolist() == original.actions.tolist()
    assert with_unsourced(examples, 0.0) == examples
