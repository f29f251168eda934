"""``m2io train retriever``: fine-tune the text encoder on manuals' own sections (title -> content)."""
from __future__ import annotations

from pathlib import Path

import click

from m2io.cli.train import train


@train.command("retriever")
@click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Model folder (then: m2io index ... --text-model OUT).")
@click.option("--epochs", default=1.0, show_default=True)
@click.option("--batch-size", default=32, show_default=True)
@click.option("--lr", default=3e-5, show_default=True)
@click.option("--max-pairs", type=int, default=None, help="Train on at most this many pairs (a quick run).")
@click.option("--hard-negatives/--no-hard-negatives", default=False, show_default=True,
              help="Pair each title with the BM25-nearest chunk of another section as a negative.")
@click.option("--base", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Start from this sentence-transformers folder (e.g. an earlier run) [bundled all-MiniLM-L6-v2].")
@click.option("--seed", default=0, show_default=True)
def train_retriever_cmd(folders: tuple[Path, ...], out: Path, epochs: float, batch_size: int, lr: float,
                        max_pairs: int | None, hard_negatives: bool, base: Path | None, seed: int) -> None:
    """Fine-tune the encoder so section titles find section content (train split only; headings removed)."""
    from m2io.corpus.mramg import dataset_names, read_dataset
    from m2io.train.retriever import RetrieverTrainConfig, train_retriever

    datasets = [read_dataset(folder, name) for folder in folders for name in dataset_names(folder)]
    config = RetrieverTrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=lr, seed=seed,
                                  max_pairs=max_pairs, hard_negatives=hard_negatives)
    card = train_retriever(datasets, out, config, base_model=str(base) if base else None)
    click.echo(f"pairs {card['pairs']} from {card['datasets']}; loss {card['losses'][0][1]:.3f} -> "
               f"{card['losses'][-1][1]:.3f}; {card['seconds']:.0f} s" if card["losses"] else
               f"pairs {card['pairs']}; {card['seconds']:.0f} s")
    click.echo(f"wrote {out}")
