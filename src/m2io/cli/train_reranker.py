"""``m2io train section-ranker`` (the learned section ranker, the default) and ``m2io train reranker`` (the
cross-encoder alternative): from the training manuals' own questions and sections."""
from __future__ import annotations

from pathlib import Path

import click

from m2io.cli.base import _with
from m2io.cli.train import train
from m2io.cli.train_r1 import _corpus_arg


def _queries(corpora, split: str, questions: Path | None, k: int):
    """Queries of every ``DATA=INDEX`` corpus, and a reader per dataset name."""
    from m2io.corpus.mramg import dataset_names, read_dataset
    from m2io.corpus.questions import question_kinds, read_questions, user_qa
    from m2io.retrieve import Retriever
    from m2io.train.reranker import corpus_queries

    queries, readers = [], {}
    for folder, index in corpora:
        if index is None:
            raise click.BadParameter(f"{folder}: the reranker needs each corpus's index (DATA=INDEX)")
        retriever = Retriever.open(index)
        for name in dataset_names(folder):
            ds = read_dataset(folder, name)
            readers[name] = retriever.sections
            user, kinds = [], {}
            if questions is not None and (questions / f"{name}.jsonl").is_file():
                asked = read_questions(questions / f"{name}.jsonl")
                user, kinds = user_qa(ds, asked, questions / f"{name}.jsonl"), question_kinds(asked)
            queries += corpus_queries(ds, retriever, split, user, kinds, k, progress=True)
    return queries, readers


def _train_and_val(corpora, val, questions: Path | None):
    """Training queries (train split), validation queries (every question) and a section reader per dataset."""
    train_q, readers = _queries(corpora, "train", questions, 10)
    val_q, val_readers = _queries(val, "all", questions, 10) if val else ([], {})
    return train_q, val_q, {**readers, **val_readers}


_data_options = [
    click.argument("corpora", nargs=-1, required=True, callback=_corpus_arg),
    click.option("--val", multiple=True, callback=_corpus_arg,
                 help="DATA=INDEX never trained on: every question scored; chooses the kept epoch (or prior)."),
    click.option("--questions", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
                 help="A folder of user-phrased question files, <dataset name>.jsonl (m2io.corpus.questions)."),
    click.option("--out", required=True, type=click.Path(path_type=Path)),
]


@train.command("reranker")
@_with(_data_options)
@click.option("--epochs", default=1.0, show_default=True)
@click.option("--layers", default=6, show_default=True, help="Layers of the bundled MiniLM kept.")
@click.option("--max-length", default=192, show_default=True)
@click.option("--batch-size", default=16, show_default=True)
@click.option("--lr", default=4e-5, show_default=True)
@click.option("--user-weight", default=4, show_default=True)
@click.option("--seed", default=0, show_default=True)
def train_reranker_cmd(corpora, val, questions: Path | None, out: Path, epochs: float, layers: int, max_length: int,
                       batch_size: int, lr: float, user_weight: int, seed: int) -> None:
    """Fine-tune the section reranker (a cross-encoder on the bundled MiniLM) on (question, section) pairs."""
    from m2io.sections.reranker import RerankerConfig
    from m2io.train.reranker import RerankerTrainConfig, train_reranker

    train_q, val_q, readers = _train_and_val(corpora, val, questions)
    config = RerankerTrainConfig(model=RerankerConfig(layers=layers, max_length=max_length), epochs=epochs,
                                 batch_size=batch_size, learning_rate=lr, user_weight=user_weight, seed=seed)
    record = train_reranker(train_q, val_q, readers.__getitem__, out, config)
    click.echo(f"{record['examples']} examples; {record['seconds']:.0f} s")
    if record["validation"]:
        for label, rep in (("retrieval order", record["validation_retrieval_order"]), ("reranked", record["validation"])):
            best = rep["by_prior"][str(rep["best_prior"])]
            click.echo(f"{label}: top-1 " + ", ".join(f"{k} {v:.3f}" for k, v in best.items() if not k.endswith("ci95"))
                       + f" (prior {rep['best_prior']}, n {rep['n']})")
    click.echo(f"wrote {out}")


@train.command("section-ranker")
@_with(_data_options)
@click.option("--epochs", default=300, show_default=True)
@click.option("--hidden", default=32, show_default=True)
@click.option("--user-weight", default=3, show_default=True)
@click.option("--seed", default=0, show_default=True)
def train_section_ranker_cmd(corpora, val, questions: Path | None, out: Path, epochs: int, hidden: int,
                             user_weight: int, seed: int) -> None:
    """Train the learned section ranker (retrieval evidence + title and opening features, listwise)."""
    from m2io.encoders.text import TextEncoder
    from m2io.train.section_ranker import SectionRankerTrainConfig, train_section_ranker

    train_q, val_q, readers = _train_and_val(corpora, val, questions)
    encoder = TextEncoder()
    config = SectionRankerTrainConfig(epochs=epochs, hidden=hidden, user_weight=user_weight, seed=seed)
    record = train_section_ranker(train_q, val_q, readers.__getitem__, encoder, out, config)
    click.echo(f"{record['examples']} examples, best epoch {record['best_epoch']}; {record['seconds']:.0f} s")
    for label in ("validation_retrieval_order", "validation"):
        rep = record.get(label)
        if rep:
            click.echo(f"{label}: top-1 " + ", ".join(f"{k} {v:.3f}" for k, v in rep.items()
                                                      if not k.endswith("ci95") and k != "n") + f" (n {rep['n']})")
    click.echo(f"wrote {out}")
