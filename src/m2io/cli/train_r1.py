"""``m2io train r1 examples | cold | grpo | export``: the r1 placement policy from corpora to ``models/``.

Corpora are given as ``DATASET_FOLDER=INDEX_FOLDER`` (distractors come from that index, as in
``m2io eval --task insert``), or a bare folder (distractors: other documents' images).

    m2io train r1 cold data/gimp=index/gimp data/hugin=index/hugin --val data/kicad=index/kicad --out runs/r1-cold
    m2io train r1 grpo data/gimp=index/gimp --val data/kicad=index/kicad --init runs/r1-cold --out runs/r1-grpo
    m2io train r1 export runs/r1-grpo --out models/inserter-r1
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from m2io.cli.base import _command_line, _export, _with
from m2io.cli.train import train
from m2io.errors import M2IOError


def _corpus_arg(ctx, param, values):
    pairs = []
    for value in values:
        folder, _, index = value.partition("=")
        if not Path(folder).is_dir():
            raise click.BadParameter(f"{folder} is not a dataset folder", ctx, param)
        if index and not (Path(index) / "m2io-index.json").is_file():
            raise click.BadParameter(f"{index} is not an index folder (no m2io-index.json)", ctx, param)
        pairs.append((Path(folder), Path(index) if index else None))
    return pairs


def _pipelines_of(encoder, reranker, llm_cache: Path | None):
    """The named pipelines of the ``ask-`` copies over one retriever: one section ranker shared by every answerer,
    LLM answers kept in ``llm_cache``."""
    from m2io.answer.extractive import ExtractiveAnswerer
    from m2io.answer.section import FocusedAnswerer, SectionAnswerer
    from m2io.insert.source import SourceInserter
    from m2io.pipeline import Pipeline, PipelineConfig
    from m2io.sections.rank import RankConfig, SectionRanker

    def make(retriever) -> dict:
        ranker = SectionRanker(retriever.sections, reranker, RankConfig(prior=reranker.prior if reranker else 1.0))
        config = PipelineConfig(k=10)
        answerers = {"focused": FocusedAnswerer(ranker, encoder), "section": SectionAnswerer(ranker, encoder),
                     "extractive": ExtractiveAnswerer(encoder)}
        if llm_cache is not None:
            from m2io.answer.llm import LLMAnswerer
            from m2io.lm.local import LocalChatModel
            from m2io.train.policy.pipeline_tasks import CachedAnswerer

            answerers["llm"] = CachedAnswerer(LLMAnswerer(_LazyLM(LocalChatModel), ranker=ranker), llm_cache,
                                              "SmolLM2-135M-Instruct")
        # The inserter is never called: only the drafts (answer, provenance, candidates) are used.
        return {name: Pipeline(retriever, a, SourceInserter(), config) for name, a in answerers.items()}
    return make


class _LazyLM:
    """A chat model loaded on first use (cached LLM answers need none)."""

    def __init__(self, factory):
        self.factory, self.model = factory, None

    def chat(self, *args, **kwargs):
        if self.model is None:
            self.model = self.factory()
        return self.model.chat(*args, **kwargs)


def _examples(corpora, split: str, cache: Path | None, variants, seed: int, encoder, questions: Path | None = None,
              reranker: str | None = None):
    """Featurised examples of ``corpora`` (cached in ``cache``, keyed by everything they depend on)."""
    from m2io.corpus.mramg import dataset_names, read_dataset
    from m2io.corpus.questions import read_questions, user_qa
    from m2io.insert.policy.features import FeatureConfig
    from m2io.retrieve import Retriever
    from m2io.sections.scorer import load_scorer
    from m2io.train.policy.data import build_examples, cached_examples, describe

    features = FeatureConfig()
    llm_cache = cache.parent / "llm-answers.jsonl" if cache is not None and "llm" in variants.answerers else None
    key = {"corpora": [[str(f.resolve()), str(i.resolve()) if i else None] for f, i in corpora], "split": split,
           "seed": seed, "encoder": encoder.name, "questions": str(questions.resolve()) if questions else None,
           "reranker": str(Path(reranker).resolve()) if reranker else None, **describe(variants, features)}

    def build():
        opened, user = [], {}
        for folder, index in corpora:
            retriever = Retriever.open(index) if index else None
            if retriever is not None:
                retriever.models.__dict__["text"] = encoder  # one text encoder for every index (same model)
            for name in dataset_names(folder):
                ds = read_dataset(folder, name)
                opened.append((ds, retriever))
                if questions is not None and (questions / f"{name}.jsonl").is_file():
                    user[name] = user_qa(ds, read_questions(questions / f"{name}.jsonl"), questions / f"{name}.jsonl")
        ranker_model = load_scorer(reranker, encoder) if reranker else None
        return build_examples(opened, split, encoder, variants, features, seed,
                              _pipelines_of(encoder, ranker_model, llm_cache), user_items=user)

    examples = cached_examples(cache, key, build)
    counts: dict[str, int] = {}
    for e in examples:
        counts[e.source.split("/")[0]] = counts.get(e.source.split("/")[0], 0) + 1
    click.echo(f"{split}: {len(examples)} examples (" + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")",
               err=True)
    return examples


def _data(corpora, val, dev, examples_dir: Path, seed: int, no_variants: bool, questions: Path | None = None,
          reranker: str | None = None, llm: bool = False, unsourced: float = 0.0):
    from m2io.encoders.text import TextEncoder
    from m2io.train.policy.data import Variants, with_unsourced

    if not corpora:
        raise click.UsageError("give at least one training corpus")
    encoder = TextEncoder()
    answerers = Variants.answerers + (("llm",) if llm else ())
    variants = Variants.none() if no_variants else Variants(answerers=answerers)
    train_ex = _examples(corpora, "train", examples_dir / "train.pkl", variants, seed, encoder, questions, reranker)
    # Judged as used: the gold text (insert), the default answer and the answers where placing takes judgement
    # (extractive sentences from several sections; with --llm, paraphrases), each task once.
    judged = Variants(shuffles=0, more=0, fewer=0, cuts=0, answerers=("focused", "extractive", *answerers[3:]),
                      reorder=0, llm_items=10 ** 6)
    val_ex = _examples(val, "all", examples_dir / "val.pkl", judged, seed, encoder, questions, reranker) if val else []
    dev_ex = _examples(dev, "dev", examples_dir / "dev.pkl", judged, seed, encoder, None, reranker) if dev else []
    if not train_ex:
        raise M2IOError("no insertion tasks in the train split of the training corpora")
    if unsourced > 0:  # copies without provenance; validation judges the gold text that way too
        train_ex = with_unsourced(train_ex, unsourced, seed)
        val_ex = with_unsourced(val_ex, 1.0, seed, variants=("base",))
    return train_ex, val_ex, dev_ex


_data_options = [
    click.argument("corpora", nargs=-1, callback=_corpus_arg),
    click.option("--val", multiple=True, callback=_corpus_arg,
                 help="FOLDER[=INDEX] never trained on, every item: chooses the kept epoch or step (repeatable)."),
    click.option("--dev", multiple=True, callback=_corpus_arg,
                 help="FOLDER[=INDEX] whose dev split is only logged, e.g. the training corpus's (repeatable)."),
    click.option("--examples", "examples_dir", type=click.Path(file_okay=False, path_type=Path),
                 default=Path("runs/r1-examples"), show_default=True,
                 help="Featurised examples are kept here (train.pkl, val.pkl, dev.pkl) and reused."),
    click.option("--no-variants", is_flag=True, help="Train on the base tasks only (no shuffled, more / fewer "
                                                     "distractor, cut or pipeline copies)."),
    click.option("--questions", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
                 help="A folder of user-phrased question files (<dataset name>.jsonl): they join the pipeline copies."),
    click.option("--reranker", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
                 help="The section ranker the pipeline copies rank sections with [retrieval order]."),
    click.option("--llm", is_flag=True, help="Pipeline copies with LLM answers too (bundled SmolLM2; seconds each, "
                                             "kept in <examples>/llm-answers.jsonl)."),
    click.option("--unsourced", default=0.25, show_default=True,
                 help="Share of training examples copied without provenance (the policy must place by content "
                      "alone when nothing says where the text came from); validation adds the gold text so."),
    click.option("--seed", default=0, show_default=True),
]


@train.group("r1")
def train_r1() -> None:
    """Train the r1 placement policy: examples, cold start, GRPO, export."""


@train_r1.command("examples")
@_with(_data_options)
def examples_cmd(corpora, val, dev, examples_dir, no_variants, questions, reranker, llm, unsourced, seed) -> None:
    """Build (or check) the featurised examples that cold and grpo read."""
    _data(corpora, val, dev, examples_dir, seed, no_variants, questions, reranker, llm)


@train_r1.command("cold")
@_with(_data_options)
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/r1-cold"), show_default=True)
@click.option("--epochs", default=15, show_default=True)
@click.option("--batch-size", default=64, show_default=True)
@click.option("--lr", default=2e-3, show_default=True)
@click.option("--dim", default=64, show_default=True, help="Width of the policy's layers.")
@click.option("--no-embeddings", is_flag=True, help="Similarity features only (no caption / context vectors).")
def cold_cmd(corpora, val, dev, examples_dir, no_variants, questions, reranker, llm, unsourced, seed, out, epochs, batch_size,
             lr, dim, no_embeddings) -> None:
    """Cold start: cross-entropy on the gold decisions; the best epoch on --val is kept; resumes."""
    from m2io.insert.policy.model import PolicyConfig
    from m2io.train.policy.cold_start import ColdStartConfig, run_cold_start
    from m2io.train.policy.evaluate import score_examples

    train_ex, val_ex, dev_ex = _data(corpora, val, dev, examples_dir, seed, no_variants, questions, reranker, llm,
                                     unsourced)
    config = ColdStartConfig(out=str(out), epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                             policy=PolicyConfig(dim=dim, use_embeddings=not no_embeddings))
    net = run_cold_start(train_ex, val_ex, config, command=_command_line(), record=_sources(corpora, val, dev))
    _report(net, val_ex, dev_ex, score_examples)
    click.echo(f"wrote {out / 'policy.pt'} (metrics.jsonl, curves.png)")


@train_r1.command("grpo")
@_with(_data_options)
@click.option("--init", type=click.Path(exists=True, path_type=Path), required=True,
              help="The cold-start run folder or policy.pt (start and KL reference).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/r1-grpo"), show_default=True)
@click.option("--steps", default=300, show_default=True)
@click.option("--tasks-per-step", default=64, show_default=True)
@click.option("--group", default=16, show_default=True, help="Plans sampled per task.")
@click.option("--updates", default=2, show_default=True, help="Clipped gradient steps per batch of samples.")
@click.option("--lr", default=3e-4, show_default=True)
@click.option("--beta", default=0.02, show_default=True, help="KL coefficient to the cold start.")
@click.option("--temperature", default=1.0, show_default=True)
@click.option("--w-selection", default=1.0, show_default=True, help="Weight of image F1.")
@click.option("--w-order", default=0.5, show_default=True, help="Weight of the ordering score.")
@click.option("--w-position", default=0.5, show_default=True, help="Weight of soft position accuracy.")
@click.option("--w-exact", default=0.5, show_default=True, help="Weight of exact position accuracy.")
@click.option("--w-clump", default=0.5, show_default=True,
              help="Subtracted per figure at one slot beyond the longest run of figures the sources had.")
@click.option("--process-weight", default=0.0, show_default=True,
              help="Weight of per-decision process rewards (0.5 measured no better: bench/RESULTS.md).")
@click.option("--eval-every", default=25, show_default=True)
def grpo_cmd(corpora, val, dev, examples_dir, no_variants, questions, reranker, llm, unsourced, seed, init, out, steps,
             tasks_per_step, group, updates, lr, beta, temperature, w_selection, w_order, w_position, w_exact, w_clump,
             process_weight, eval_every) -> None:
    """GRPO with the benchmark's metrics as rewards (and process rewards); the best step on --val is kept."""
    from m2io.train.policy.evaluate import score_examples
    from m2io.train.policy.grpo import GRPOConfig, policy_weights, run_grpo

    train_ex, val_ex, dev_ex = _data(corpora, val, dev, examples_dir, seed, no_variants, questions, reranker, llm,
                                     unsourced)
    base = policy_weights()
    weights = type(base)(**{**asdict(base), "selection": w_selection, "order": w_order, "position": w_position,
                            "exact": w_exact, "clump": w_clump, "process": process_weight})
    init_file = init / "policy.pt" if init.is_dir() else init
    config = GRPOConfig(out=str(out), init=str(init_file), steps=steps, tasks_per_step=tasks_per_step, group=group,
                        updates=updates, lr=lr, beta=beta, temperature=temperature, weights=weights,
                        eval_every=eval_every, seed=seed)
    net = run_grpo(train_ex, val_ex, config, dev=dev_ex, command=_command_line(), record=_sources(corpora, val, dev))
    _report(net, val_ex, dev_ex, score_examples)
    click.echo(f"wrote {out / 'policy.pt'} (metrics.jsonl, curves.png)")


def _sources(corpora, val, dev) -> dict:
    """Which corpora (and Debian packages, with versions) a run trained on, validated on and logged."""
    from m2io.corpus.manual.debian import read_source

    def describe(pairs, split: str) -> list[dict]:
        return [{"corpus": str(folder), "index": str(index) if index else None, "split": split,
                 **(read_source(folder) or {})} for folder, index in pairs]

    return {"corpora": describe(corpora, "train split") + describe(val, "validation, every item")
                       + describe(dev, "dev split, logged")}


def _report(net, val_ex, dev_ex, score) -> None:
    for name, examples in (("validation", val_ex), ("dev", dev_ex)):
        if examples:
            s = score(net, examples)
            click.echo(f"{name} (n={s['n']}): image F1 {s['image_f1']:.3f}, ordering {s['ordering']:.3f}, "
                       f"exact position {s['position_accuracy']:.3f}, soft {s['position_accuracy_soft']:.3f}")


@train_r1.command("export")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=Path("models/inserter-r1"), show_default=True)
@click.option("--note", default=None, help="A paragraph for the card that the run records cannot give.")
def export_cmd(run: Path, out: Path, note: str | None) -> None:
    """Copy a trained policy (policy.pt, records, metrics, curves) and write its card, e.g. to models/inserter-r1."""
    from m2io.train.policy.export import export_policy

    _export(export_policy, run, out, note)
