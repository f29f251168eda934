"""Unified GRPO: the warmed-up model writes text steps and images, and learns from hybrid rewards.

One run, top to bottom: with ``indexes`` (grounded, the default of the shipped model) the prompts are
the training manuals' train-split questions with the pipeline's retrieved passage and candidates
(:mod:`m2io.unified.grounded_data`; the warm-up's cached drafts are reused), and the reference is
the target answer (its text, and the gold figures' candidate numbers and slots); without, the
closed-book questions whose section has a figure. The policy is the warmed-up unified model: a LoRA
folder is merged and a fresh LoRA trains on it (TRL's KL reference is that adapter disabled: the
warm-up itself; :meth:`~m2io.unified.model.UnifiedModel.for_grpo` says why not the warm-up's own
adapter), a full model is fine-tuned whole. Completions are sampled under the modality
grammar; the rewards are :mod:`m2io.unified.rewards`'s ``text``, ``visual``, ``structure``, ``reference``
and ``rouge`` terms weighted by :class:`~m2io.unified.rewards.HybridWeights`, with process-level
advantages at ``weights.process``.
Every ``eval_every`` steps (and at step 0) the interleaved benchmark runs on a dev dataset; TRL's log
lines (every reward term, KL, lengths) and the benchmark go to ``metrics.jsonl`` and ``curves.png``.
An interrupted run resumes from its last checkpoint. The result is a unified model folder.

    m2io unified grpo data/gimp data/grass --model runs/unified-warmup --index index/gimp \\
        --dev data/debhandbook --dev-index index/debhandbook --out runs/unified-grpo
"""
from __future__ import annotations

import json
import random
import resource
from dataclasses import asdict, dataclass, field
from pathlib import Path

from m2io.train.curves import append_metrics, plot_curves
from m2io.train.grpo import MetricsLog, PeriodicEval, StepBudget, TimeBudget
from m2io.unified.grounded import marked_references
from m2io.unified.rewards import HybridWeights
from m2io.unified.scorer import Reference


PROMPTS_LOG = "prompts.jsonl"
"""Each generation's prompt items, in the run folder (which prompts a run trained on)."""
PROMPTS = ("all", "decisions", "misses", "text-misses", "any-misses")


@dataclass
class UnifiedGRPOConfig:
    model: Path = Path("runs/unified-warmup")
    """The warmed-up unified model folder."""
    corpora: list[Path] = field(default_factory=list)
    indexes: list[Path] = field(default_factory=list)
    """The corpora's indexes, in order: grounded prompts (empty: closed-book prompts)."""
    split: str = "train"
    """Which questions of the corpora prompt (train, dev or all)."""
    index: Path = Path("index/gimp")
    """An index whose encoders (text, image, adapter) score the rewards."""
    steps: int = 40
    max_minutes: float | None = None
    """Stop once the training steps have taken this long (benchmarking between steps not counted)."""
    stop_after: int | None = None
    """Stop after this many steps, the learning-rate schedule still that of ``steps`` (an ablation matched on
    steps to a time-capped run)."""
    group: int = 4
    """Completions per prompt (GRPO's group)."""
    prompts_per_step: int = 2
    micro_batch: int | None = None
    """Completions per forward and backward pass (TRL's ``per_device_train_batch_size``; the rest by gradient
    accumulation): a step still samples, scores and normalises all ``group * prompts_per_step`` together.
    None: all in one pass. At 4 prompts x 4 one pass peaked at 14 GiB; passes of 8 keep under 12."""
    max_completion: int = 200
    learning_rate: float = 3e-6
    """At 1e-5 the KL reached 0.58 in 12 steps and greedy answers lost their text (bench/RESULTS.md)."""
    temperature: float = 0.5
    """TRL's sampling temperature (its log-probabilities use it too): the warmed-up model writes 42% well-formed
    answers at 0.8 and 79% at 0.4; 0.5 keeps most samples whole and still leaves the group something to tell apart."""
    text_temperature: float | None = None
    """Text and image tokens at their own temperatures (None: TRL's ``temperature`` for both)."""
    image_temperature: float | None = None
    beta: float = 0.04
    """KL coefficient against the warmed-up model (0: no KL, no reference model)."""
    weights: HybridWeights = field(default_factory=HybridWeights)
    image_credit: str = "outcome"
    """``outcome``: every token takes the completion's advantage (plus the process terms); ``own``: the codes of
    an image take that image's group-normalised reward alone (:func:`m2io.unified.process.own_image_credit`)."""
    step_norm: str = "joint"
    """Process step rewards normalised over all steps of a group (``joint``, the paper's form) or over its text
    steps and its images apart (``per_kind``: the two live on different scales)."""
    aggregation: str = "sum_then_normalize"
    """TRL's ``multi_objective_aggregation``: sum the weighted terms then normalise over the group, or
    ``normalize_then_sum`` (GDPO: each term normalised over the group first, so a term with little spread,
    as ``visual``'s ~0.05 beside ``structure``'s ~0.3, still moves the advantages)."""
    scale_rewards: str = "group"
    """TRL's ``scale_rewards``: divide a group's advantages by its own reward std (``group``), by the whole step's
    (``batch``), or not at all (``none``). With ``group``, a group whose completions differ only by text-reward noise
    (a std of 0.01) gets advantages of +-1 like a group that differs in its figures (0.5): ``batch`` keeps the
    noise small beside the choice."""
    top_entropy_quantile: float = 1.0
    """TRL's ``top_entropy_quantile``: the policy loss keeps only this top fraction of tokens by entropy (1: all).
    The warm-up copies its passage at an entropy of ~0.03 per token, and the figure choices are the few uncertain
    tokens; 0.2 (the paper's value) puts the gradient on them instead of on a hundred copied ones."""
    prompts: str = "all"
    """Grounded prompts trained on: ``all``; ``decisions``: those whose passage marks a figure the target leaves
    out; ``misses``: those whose target shows a figure that the starting model shows with odds under
    ``miss_odds`` (:mod:`m2io.unified.odds`). The warm-up copies the rest whole, so all of a group's completions
    score alike there and teach nothing; DAPO's dynamic sampling filters such groups out as they come, these filter
    them out before. ``decisions`` teaches leaving a wrong passage's figures out, which the interleaved benchmark
    (figure questions only, where showing none scores as a wrong figure) cannot reward; ``misses`` teaches showing
    right figures the warm-up leaves out, its real loss (bench/RESULTS.md). ``text-misses``: those whose target
    text the starting model would leave decoding greedily (a skipped line, an early end, a changed word), where
    the ``rouge`` term can teach; ``any-misses``: the prompts of both."""
    miss_odds: float = 0.5
    anchor: float = 0.0
    """Weight of a supervised anchor (:mod:`m2io.unified.anchor`, PPO-ptx), against the GRPO loss: a step's loss adds
    this times the mean likelihood loss of one target a pass, each of a grounded prompt that the starting model
    copies without a text miss and that GRPO does not sample (0: none; the logged ``loss`` includes it). GRPO on the
    copy errors fixed and broke near-ties alike (bench/RESULTS.md, round 13); the anchor holds the clean ones."""
    max_prompt_tokens: int = 1024
    """Prompts longer than this are left out (their count is in the record): a group's four completions are scored
    in passes over prompt + completion, and one 6,000-token prompt took a step from 1 minute to over 15 and its
    memory past 20 GiB."""
    windows: int = 1
    """Grounded prompts of each question's passage windows up to this many (:func:`~m2io.unified.grounded_data.
    grounded_examples`): the answerer's later windows open mid-section, a prompt the first-window warm-up never
    showed, where the model shows its marked figures less readily (bench/RESULTS.md)."""
    eval_every: int = 10
    eval_max_new_tokens: int = 256
    eval_at_start: bool = True
    """Benchmark the starting (warmed-up) model at step 0 too; ablation rows share that one."""
    save_steps: int = 10
    precision: str = "fp32"
    """fp32 for a full model: TRL's bf16 autocast made one of its steps 10x slower on this CPU; ``auto`` for a LoRA
    model (bf16 where the CPU has it, as its warm-up)."""
    seed: int = 0


def grounded_references(corpora: list[Path], indexes: list[Path], split: str, cache: list[Path], cfg=None,
                        windows: int = 1) -> tuple[dict[str, Reference], dict[str, str], dict[str, list]]:
    """``corpus/key`` -> its reference, -> its grounded user message (built with ``cfg``, a
    :class:`~m2io.unified.grounded.GroundedConfig`, the model's own; None: the default settings), and -> its
    target steps; drafts cached
    in the last of ``cache`` (folders), which starts as a copy of the first other one that holds them (the
    warm-up's own drafts are read, never written to); ``windows``: the passage windows of each question (the
    first windows' keys come first, numbered as with one)."""
    import shutil

    from m2io.unified.grounded import GroundedConfig
    from m2io.unified.grounded_data import grounded_examples

    references, users, targets = {}, {}, {}
    for root, index in zip(corpora, indexes):
        name = f"grounded-{split}-{Path(root).name}.jsonl"
        path = cache[-1] / name
        source = next((c / name for c in cache[:-1] if (c / name).is_file()), None)
        if not path.is_file() and source is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, path)
        for k, e in enumerate(grounded_examples(Path(root), Path(index), split, path, cfg or GroundedConfig(),
                                                 windows=windows)):
            texts = 0
            slots = []
            for s in e.steps:
                if s.kind == "text":
                    texts += 1
                elif s.kind == "reference":
                    slots.append((s.ref, texts))
            question = e.user.split("\n", 1)[0].removeprefix("Question: ")
            key = f"{Path(root).name}/{k}"
            references[key] = Reference(question, " ".join(s.text for s in e.steps if s.kind == "text"), (),
                                        tuple(slots), texts)
            users[key] = e.user
            targets[key] = e.steps
    return references, users, targets


def decision_items(references: dict[str, Reference], users: dict[str, str]) -> list[str]:
    """The grounded items whose passage marks a figure that the target does not show (a choice to learn).

    >>> users = {"a": "Question: q\\n\\nPassage:\\nA.\\n<vis><ref_1></vis>\\n<vis><ref_2></vis>\\n\\nFigures:\\n",
    ...          "b": "Question: q\\n\\nPassage:\\nA.\\n<vis><ref_1></vis>\\n\\nFigures:\\n"}
    >>> refs = {"a": Reference("q", "A.", (), ((1, 1),), 1), "b": Reference("q", "A.", (), ((1, 1),), 1)}
    >>> decision_items(refs, users)
    ['a']
    """
    return [k for k, r in references.items() if set(marked_references(users[k])) != {ref for ref, _ in r.gold_slots}]


def training_references(corpora: list[Path], split: str = "train") -> dict[str, Reference]:
    """``dataset/question id`` -> its reference, for every question of ``split`` whose section has a figure."""
    from m2io.corpus.mramg import read_dataset
    from m2io.corpus.split import select_items
    from m2io.evaluate.interleaved import reference_of, section_figures

    out = {}
    for root in corpora:
        ds = read_dataset(Path(root))
        docs = {d.id: d for d in ds.documents}
        for q in select_items(ds.qa, split):
            doc = docs.get(q.provenance[0]) if q.provenance else None
            figures = tuple(str(f.path) for f in section_figures(ds, doc)) if doc else ()
            if figures:
                out[f"{ds.name}/{q.id}"] = Reference(q.question, reference_of(doc.content), figures)
    return out


class BenchEval(PeriodicEval):
    """The interleaved benchmark on every question of a dev dataset: at step 0, every ``every`` steps, at the end."""

    def __init__(self, path: Path, unified, dataset, retriever, every: int, max_new_tokens: int = 256,
                 at_start: bool = True):
        from m2io.metrics.text import BertScore

        self.path, self.unified, self.dataset, self.retriever, self.every = path, unified, dataset, retriever, every
        self.max_new_tokens, self.at_start = max_new_tokens, at_start
        self.bertscore = BertScore()

    def evaluate(self, model, step: int) -> dict:
        from m2io.evaluate.interleaved import InterleavedConfig, evaluate_interleaved, summarize_interleaved
        from m2io.unified.answer import UnifiedAnswerer, UnifiedConfig
        from m2io.unified.model import UnifiedModel

        u = self.unified
        was_training = model.training
        try:
            current = UnifiedModel(model, u.tokenizer, u.codec, u.vocab, u.image_size, u.base)
            current.grounded = u.grounded
            answerer = UnifiedAnswerer(current, self.retriever, UnifiedConfig(max_new_tokens=self.max_new_tokens))
            records = evaluate_interleaved(answerer, self.dataset, cfg=InterleavedConfig(baselines=()),
                                           bertscore=self.bertscore, progress=False)
        finally:
            model.train(was_training)
        summary = summarize_interleaved(records)["systems"].get("template/unified", {})
        kept = {k: v for k, v in summary.items() if isinstance(v, (int, float, list, tuple))}  # intervals too
        row = {"step": step, **{f"dev/{k}": v for k, v in kept.items()}}
        append_metrics(self.path, row)
        return row


def run_unified_grpo(config: UnifiedGRPOConfig, out: Path, dev=None, command: str | None = None) -> dict:
    """Train into ``out`` (resuming from its newest checkpoint); ``dev``: (dataset, retriever) for the
    benchmark every ``eval_every`` steps. Returns the run record (also ``out/m2io-train.json``)."""
    from datasets import Dataset
    from trl import GRPOConfig

    from m2io.index.models import ADAPTER_FILE, IndexModels
    from m2io.index.manifest import IndexManifest
    from m2io.train.device import trainer_device_args
    from m2io.train.resumable import RECORD, train_resumable
    from m2io.unified.grpo_trainer import UnifiedGRPOTrainer
    from m2io.unified.model import SYSTEM, UnifiedModel
    from m2io.unified.scorer import TrajectoryScorer, reward_functions

    out = Path(out)
    if config.prompts not in PROMPTS or (config.prompts != "all" and not config.indexes):
        raise ValueError(f"prompts must be one of {PROMPTS} (all but 'all': grounded prompts only), not {config.prompts!r}"
                         + ("" if config.indexes else " without indexes"))
    if config.scale_rewards not in ("group", "batch", "none"):
        raise ValueError(f"scale_rewards must be 'group', 'batch' or 'none', not {config.scale_rewards!r}")
    completions = config.group * config.prompts_per_step
    if config.micro_batch is not None and (config.micro_batch < 1 or completions % config.micro_batch):
        raise ValueError(f"micro_batch {config.micro_batch} must divide the {completions} completions of a step")
    if config.anchor and not config.indexes:
        raise ValueError("anchor needs grounded prompts (indexes): it anchors their targets")
    out.mkdir(parents=True, exist_ok=True)
    unified = UnifiedModel.for_grpo(config.model)
    unified.lm.train()
    if config.indexes:
        if len(config.indexes) != len(config.corpora):
            raise ValueError(f"{len(config.indexes)} indexes for {len(config.corpora)} corpora: give one per corpus")
        references, users, targets = grounded_references(config.corpora, config.indexes, config.split,
                                                         [Path(config.model), out], unified.grounded_config(),
                                                         config.windows)
    else:
        references = training_references(config.corpora, config.split)
        users = {k: r.question for k, r in references.items()}
    long = {k for k in references if len(unified.prompt_ids(users[k])) > config.max_prompt_tokens}
    references = {k: r for k, r in references.items() if k not in long}
    if long:
        print(f"left out {len(long)} prompts over {config.max_prompt_tokens} tokens")
    # before training, the fresh LoRA is a no-op: these are the starting model's odds (cached, for resuming)
    pool = {k: targets[k] for k in references} if config.indexes else {}
    if config.prompts == "decisions":
        references = {k: references[k] for k in decision_items(references, users)}
    elif config.prompts in ("misses", "text-misses", "any-misses"):
        from m2io.unified.odds import missed_items, missed_text_items

        kept = set()
        if config.prompts != "text-misses":
            kept |= set(missed_items(unified, pool, users, config.miss_odds, out / "figure-odds.jsonl"))
        if config.prompts != "misses":
            kept |= set(missed_text_items(unified, pool, users, out / "text-misses.jsonl"))
        references = {k: references[k] for k in sorted(kept)}
    if not references:
        raise ValueError(f"no {config.split}-split question with a figure in {[str(c) for c in config.corpora]}"
                         + ("" if config.prompts == "all" else f" left after the {config.prompts} filter")
                         + (f" ({len(long)} left out: over {config.max_prompt_tokens} prompt tokens)" if long else ""))
    anchor = []
    if config.anchor:
        from m2io.unified.anchor import anchor_examples
        from m2io.unified.odds import missed_text_items

        # the clean prompts GRPO does not sample: a fix on a sampled prompt then comes from the reward alone
        missed = set(missed_text_items(unified, pool, users, out / "text-misses.jsonl"))
        clean = [k for k, steps in pool.items()
                 if k not in missed and k not in references and any(s.kind == "text" for s in steps)]
        if not clean:
            raise ValueError(f"anchor: no prompt the starting model copies without a text miss is left beside the "
                             f"{len(references)} trained on (prompts {config.prompts!r}; filter them, e.g. text-misses)")
        anchor = anchor_examples(unified, clean, users, targets, config.seed)
        print(f"anchor: {len(anchor)} prompts copied without a text miss, none of them trained on")
    manifest = IndexManifest.load(Path(config.index))
    scorer = TrajectoryScorer(unified, IndexModels(manifest.text_model or None, manifest.image_model,
                                                   Path(config.index) / ADAPTER_FILE), references)
    items = sorted(references)
    random.Random(config.seed).shuffle(items)
    rows = [{"prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": users[i]}],
             "item": i} for i in items]
    w = config.weights
    micro = config.micro_batch or completions
    args = GRPOConfig(output_dir=str(out), max_steps=config.steps, learning_rate=config.learning_rate,
                      per_device_train_batch_size=micro, gradient_accumulation_steps=completions // micro,
                      num_generations=config.group, max_completion_length=config.max_completion,
                      temperature=config.temperature, beta=config.beta, seed=config.seed, report_to=[],
                      logging_steps=1, **trainer_device_args(config.precision), gradient_checkpointing=False,
                      save_steps=config.save_steps, save_total_limit=2, reward_weights=w.outcome(), disable_tqdm=False,
                      multi_objective_aggregation=config.aggregation, scale_rewards=config.scale_rewards,
                      top_entropy_quantile=config.top_entropy_quantile)
    metrics = out / "metrics.jsonl"
    callbacks = [MetricsLog(metrics)]
    if config.max_minutes:
        callbacks.insert(0, TimeBudget(config.max_minutes))  # before the benchmark, so its time is not counted
    if config.stop_after:
        callbacks.insert(0, StepBudget(config.stop_after))
    if dev is not None:
        callbacks.append(BenchEval(metrics, unified, dev[0], dev[1], config.eval_every, config.eval_max_new_tokens,
                                   config.eval_at_start))
    trainer = UnifiedGRPOTrainer(model=unified.lm, processing_class=unified.tokenizer, args=args,
                                 train_dataset=Dataset.from_list(rows), reward_funcs=reward_functions(scorer),
                                 callbacks=callbacks, scorer=scorer, vocab=unified.vocab, process_weight=w.process,
                                 text_temperature=config.text_temperature, image_temperature=config.image_temperature,
                                 image_credit=config.image_credit, step_norm=config.step_norm,
                                 prompts_log=out / PROMPTS_LOG, anchor=anchor, anchor_weight=config.anchor)
    record = train_resumable(trainer, unified.tokenizer, out,
                             {"kind": "unified-grpo", "base": str(config.model), "rows": len(rows),
                              "anchor_prompts": len(anchor),
                              "prompts_too_long": len(long),
                              "config": asdict(config), "command": command})
    unified.save(out)  # the policy as a unified model folder (LM, tokenizer, image tokenizer, vocabulary)
    record["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    (out / RECORD).write_text(json.dumps(record, indent=1, default=str) + "\n")
    plot_curves(metrics, out / "curves.png")
    return record
