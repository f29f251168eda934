"""A GRPO run end to end on the tiny Llama: metrics log, dev evaluation, plot, and resume."""
from __future__ import annotations

import json
from pathlib import Path

from m2io.corpus.mramg import read_dataset
from m2io.encoders.text import TextEncoder
from m2io.insert.rule import RuleInserter
from m2io.train.curves import read_metrics
from m2io.train.data import AugmentConfig, training_rows
from m2io.train.grpo import GRPORunConfig, reward_function, run_grpo
from m2io.train.rewards import RewardWeights


def test_reward_functions_take_trl_columns():
    f = reward_function("selection")
    assert f.__name__ == "selection"
    got = f([[{"role": "assistant", "content": "<plan><img1>@1</plan>"}], "<plan></plan>", "junk"],
            gold=[json.dumps({"1": 1, "2": 2})] * 3, n_candidates=[3] * 3, n_segments=[2] * 3)
    assert got == [2 / 3, 0.0, 0.0]


def test_grpo_logs_evaluates_plots_and_resumes(tiny_corpus: Path, tiny_lm_dir: Path, tmp_path: Path):
    ds = read_dataset(tiny_corpus)
    fallback = RuleInserter(TextEncoder())
    rows = training_rows(ds, split="all", augment=AugmentConfig(shuffles=0, more_distractors=0, cuts=0),
                         rule=fallback)
    config = GRPORunConfig(out=str(tmp_path / "grpo"), base=str(tiny_lm_dir), steps=2, group=2, prompts_per_step=1,
                           max_completion=10, eval_every=2, eval_items=2, save_steps=1,
                           weights=RewardWeights(process=0.5))
    out = run_grpo(rows, config, dev=(ds, None), fallback=fallback, dev_split="all")
    rows_logged = read_metrics(out / "metrics.jsonl")
    train_rows = [r for r in rows_logged if "reward" in r]
    assert [r["step"] for r in train_rows] == [1, 2]
    assert {"rewards/format/mean", "rewards/selection/mean", "kl", "completions/mean_length"} <= set(train_rows[0])
    dev = [r for r in rows_logged if "dev/image_f1" in r]
    assert [r["step"] for r in dev] == [0, 2] and all(0.0 <= r["dev/image_f1"] <= 1.0 for r in dev)
    assert (out / "curves.png").stat().st_size > 10_000 and (out / "adapter_config.json").is_file()
    resumed = run_grpo(rows, GRPORunConfig(**{**config.__dict__, "steps": 3}), dev=(ds, None), fallback=fallback,
                       dev_split="all")
    logged = read_metrics(resumed / "metrics.jsonl")
    assert [r["step"] for r in logged if "reward" in r] == [1, 2, 3]  # step 3 only: on from checkpoint-2
    assert [r["step"] for r in logged if "dev/image_f1" in r] == [0, 2, 3]  # no second step-0 evaluation


def test_time_budget_counts_step_time_only_and_stops_with_a_save():
    import time

    from transformers import TrainerControl, TrainerState

    from m2io.train.grpo import TimeBudget

    budget, state, control = TimeBudget(minutes=0.3 / 60), TrainerState(), TrainerControl()
    budget.on_step_begin(None, state, control)
    time.sleep(0.1)
    budget.on_step_end(None, state, control)
    time.sleep(0.4)  # between steps (the benchmark): not counted
    assert not control.should_training_stop and 0.1 <= budget.spent < 0.3
    budget.on_step_begin(None, state, control)
    time.sleep(0.25)
    budget.on_step_end(None, state, control)
    assert control.should_training_stop and control.should_save


def test_step_budget_stops_at_its_step_with_a_save():
    from transformers import TrainerControl, TrainerState

    from m2io.train.grpo import StepBudget

    budget, state, control = StepBudget(2), TrainerState(max_steps=60), TrainerControl()
    state.global_step = 1
    budget.on_step_end(None, state, control)
    assert not control.should_training_stop
    state.global_step = 2
    budget.on_step_end(None, state, control)
    assert control.should_training_stop and control.should_save
