"""GRPO for Inserter-R1: TRL's trainer (with process-level advantages), LoRA, metric rewards.

The rewards are the benchmark's metrics (:mod:`m2io.train.rewards`), one TRL reward function
per term, weighted by :class:`RewardWeights`. Every ``eval_every`` steps the policy as it is
runs the ``insert`` evaluation on dev tasks; everything goes to ``<out>/metrics.jsonl`` and
``<out>/curves.png``. An interrupted run resumes from its last checkpoint.

    run_grpo(train_rows, GRPORunConfig(out="models/r1-grpo", init_adapter="models/r1-sft"),
             dev=(dataset, retriever))                                             # doctest: +SKIP
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from transformers import TrainerCallback

from m2io.train.curves import append_metrics, plot_curves
from m2io.train.rewards import RewardWeights, outcome_rewards
from m2io.train.sft import LoraSettings

TERMS = ("format", "selection", "order", "position")


def _text(completion) -> str:
    return completion[-1]["content"] if isinstance(completion, list) else completion


def reward_function(term: str):
    """A TRL reward function returning one outcome term for each completion."""
    def reward(completions, gold, n_candidates, n_segments, **_):
        return [outcome_rewards(_text(c), {int(k): v for k, v in json.loads(g).items()}, n, s)[term]
                for c, g, n, s in zip(completions, gold, n_candidates, n_segments)]

    reward.__name__ = term
    return reward


@dataclass(frozen=True)
class GRPORunConfig:
    out: str = "models/r1-grpo"
    base: str | None = None
    """Base model folder [SmolLM2-135M-Instruct from the PyPI GGUF]."""
    init_adapter: str | None = None
    """Start from this adapter (the SFT cold start)."""
    steps: int = 200
    group: int = 4
    """Completions per prompt (GRPO's group)."""
    prompts_per_step: int = 2
    max_completion: int = 48
    learning_rate: float = 2e-5
    temperature: float = 1.0
    beta: float = 0.04
    """KL coefficient against the starting policy."""
    weights: RewardWeights = field(default_factory=RewardWeights)
    eval_every: int = 25
    eval_items: int = 40
    save_steps: int = 25
    seed: int = 0
    lora: LoraSettings = LoraSettings()
    full: bool = False
    precision: str = "auto"
    """bf16 autocast where it pays, else fp32 (:mod:`m2io.train.device`)."""


class MetricsLog(TrainerCallback):
    """Every log line of the trainer (rewards, KL, completion length, loss) into metrics.jsonl."""

    def __init__(self, path: Path):
        self.path = path

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs:
            append_metrics(self.path, {"step": state.global_step, **logs})


class TimeBudget(TrainerCallback):
    """Stops training once its steps have taken ``minutes`` (evaluation between steps not counted when this
    callback comes before the evaluating ones); the trainer then saves and ends as at ``max_steps``.

    >>> TimeBudget(60.0).seconds
    3600.0
    """

    def __init__(self, minutes: float):
        self.seconds, self.spent, self._began = minutes * 60.0, 0.0, None

    def on_step_begin(self, args, state, control, **kwargs):
        self._began = time.monotonic()

    def on_step_end(self, args, state, control, **kwargs):
        if self._began is not None:
            self.spent += time.monotonic() - self._began
        if self.spent >= self.seconds:
            control.should_training_stop = True
            control.should_save = True


class StepBudget(TrainerCallback):
    """Stops training after ``steps`` optimizer steps, the learning-rate schedule still that of ``max_steps``: an
    ablation's run stops where a time-capped run of the same schedule did, whatever each step costs.

    >>> StepBudget(19).steps
    19
    """

    def __init__(self, steps: int):
        self.steps = steps

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.steps:
            control.should_training_stop = True
            control.should_save = True


class PeriodicEval(TrainerCallback):
    """``evaluate(model, step)`` at step 0 (the starting policy, for comparison), every ``every`` steps and at the end."""

    every: int = 0
    at_start: bool = True

    def evaluate(self, model, step: int) -> dict:
        raise NotImplementedError

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if self.every and self.at_start and state.global_step == 0:
            self.evaluate(model, 0)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self.every and state.global_step % self.every == 0:
            self.evaluate(model, state.global_step)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if not self.every or state.global_step % self.every:
            self.evaluate(model, state.global_step)


class DevEval(PeriodicEval):
    """The insert evaluation of the policy on dev tasks: at step 0, every ``every`` steps and at the end."""

    def __init__(self, path: Path, dataset, retriever, every: int, items: int, tokenizer, fallback,
                 split: str = "dev"):
        self.path, self.dataset, self.retriever, self.split = path, dataset, retriever, split
        self.every, self.items, self.tokenizer, self.fallback = every, items, tokenizer, fallback

    def evaluate(self, model, step: int) -> dict:
        from m2io.evaluate.finish import finish
        from m2io.evaluate.insertion import evaluate_insertion
        from m2io.insert.r1_lm import R1LMInserter
        from m2io.lm.local import LocalChatModel

        was_training = model.training
        model.eval()
        try:
            inserter = R1LMInserter(LocalChatModel.from_loaded(model, self.tokenizer), self.fallback)
            records = evaluate_insertion(self.dataset, inserter, self.retriever, split=self.split, limit=self.items,
                                         progress=False)
        finally:
            model.train(was_training)
        summary, _ = finish(records)
        row = {"step": step, **{f"dev/{k}": v for k, v in summary.items() if isinstance(v, float)}}
        append_metrics(self.path, row)
        return row



def _policy(config: GRPORunConfig, base: Path):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(base))
    if config.init_adapter:
        from peft import PeftModel

        return PeftModel.from_pretrained(model, config.init_adapter, is_trainable=True), None
    return model, None if config.full else config.lora.peft()


def run_grpo(rows: list[dict], config: GRPORunConfig = GRPORunConfig(), dev=None, fallback=None,
             dev_split: str = "dev", command: str | None = None) -> Path:
    """Train on ``rows``; ``dev``: (dataset, retriever or None) for the periodic insert evaluation.

    ``command``: the command line that ran it, kept in the run record for the adapter card."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import GRPOConfig

    from m2io.encoders.text import offline
    from m2io.lm.local import default_model_dir
    from m2io.train.device import trainer_device_args
    from m2io.train.grpo_trainer import ProcessGRPOTrainer
    from m2io.train.resumable import train_resumable

    offline()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    base = Path(config.base) if config.base else default_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model, peft_config = _policy(config, base)
    w = config.weights
    args = GRPOConfig(output_dir=str(out), max_steps=config.steps, learning_rate=config.learning_rate,
                      per_device_train_batch_size=config.group * config.prompts_per_step,
                      num_generations=config.group, max_completion_length=config.max_completion,
                      temperature=config.temperature, beta=config.beta, seed=config.seed, report_to=[],
                      logging_steps=1, **trainer_device_args(config.precision),
                      gradient_checkpointing=False, save_steps=config.save_steps, save_total_limit=2,
                      reward_weights=[w.format, w.selection, w.order, w.position], disable_tqdm=False)
    metrics = out / "metrics.jsonl"
    callbacks = [MetricsLog(metrics)]
    if dev is not None:
        callbacks.append(DevEval(metrics, dev[0], dev[1], config.eval_every, config.eval_items, tokenizer, fallback,
                                 dev_split))
    data = Dataset.from_list([{k: r[k] for k in ("prompt", "gold", "n_candidates", "n_segments")} for r in rows])
    trainer = ProcessGRPOTrainer(model=model, processing_class=tokenizer, args=args, train_dataset=data,
                                 reward_funcs=[reward_function(t) for t in TERMS], peft_config=peft_config,
                                 callbacks=callbacks, step_weights=w, process_weight=w.process)
    train_resumable(trainer, tokenizer, out, {"kind": "grpo", "base": str(base), "rows": len(rows),
                                              "config": asdict(config), "command": command})
    plot_curves(metrics, out / "curves.png")
    return out
