"""``m2io eval --task interleaved``: the unified model on every question of a dataset folder."""
from __future__ import annotations

from pathlib import Path

import click


def eval_interleaved(folder: Path, retriever, unified_model: Path | None, json_out: Path | None, bertscore: bool,
                     cfg, answer_cfg, questions: Path | None = None, limit: int | None = None, seed: int = 0) -> dict:
    """Every question with gold figures of every dataset in ``folder`` (and its user-phrased questions)."""
    from m2io.corpus.mramg import dataset_names, read_dataset
    from m2io.corpus.problems import Problems
    from m2io.corpus.questions import question_kinds, read_questions, user_qa
    from m2io.evaluate.finish import write_run
    from m2io.evaluate.interleaved import evaluate_interleaved, summarize_interleaved
    from m2io.unified.answer import UnifiedAnswerer
    from m2io.unified.model import UnifiedModel
    from m2io.unified.shipped import resolve_unified

    found = resolve_unified(unified_model)
    if found is None:
        raise click.UsageError("--task interleaved needs --unified-model: this install has no models/unified")
    answerer = UnifiedAnswerer(UnifiedModel.load(Path(found)), retriever, answer_cfg)
    scorer = None
    if bertscore:
        from m2io.metrics.text import BertScore

        scorer = BertScore()
    records = []
    for name in dataset_names(folder):
        ds = read_dataset(folder, name, Problems(strict=False))
        if limit is not None:
            from m2io.corpus.split import select_items

            ds.qa = select_items(ds.qa, "all", limit=limit, seed=seed)
        records += evaluate_interleaved(answerer, ds, cfg=cfg, bertscore=scorer)
        asked = Path(questions) / f"{name}.jsonl" if questions and Path(questions).is_dir() else questions
        if asked is not None and Path(asked).is_file():
            rows = read_questions(Path(asked))
            records += evaluate_interleaved(answerer, ds, user_qa(ds, rows, Path(asked)), question_kinds(rows),
                                            cfg=cfg, bertscore=scorer)
    summary = summarize_interleaved(records)
    for system, row in summary["systems"].items():
        click.echo(f"{system} (n {row['n']}, p50 {row['latency_ms_p50']:.0f} ms)")
        for key, value in row.items():
            ci = row.get(f"{key}_ci95")
            if isinstance(value, float) and ci:
                click.echo(f"  {key:<24} {value:8.3f}  [{ci[0]:.3f}, {ci[1]:.3f}]")
    for pair, row in summary["paired"].items():
        click.echo(f"{pair} (n {row['n']}): " + ", ".join(
            f"{k} {row[k]:+.3f} [{row[k + '_ci95'][0]:+.3f}, {row[k + '_ci95'][1]:+.3f}]"
            for k in row if not k.endswith("_ci95") and k != "n" and row.get(k + "_ci95")))
    if json_out:
        meta = {"task": "interleaved", "dataset": str(folder), "model": found, "config": cfg.__dict__,
                "answer_config": answer_cfg.__dict__}
        items = write_run(json_out, summary, records, meta)
        click.echo(f"wrote {json_out} and {items}")
    return summary


def unified_config(**options):
    """The answerer's :class:`~m2io.unified.answer.UnifiedConfig` from CLI options, an option left unset (None)
    keeping the config's default."""
    from m2io.unified.answer import UnifiedConfig

    return UnifiedConfig(**{k: v for k, v in options.items() if v is not None})


def ask_unified(question: str, image: Path | None, index_dir: Path, fmt: str, out: Path | None,
                unified_model: Path | None, snap_threshold: float, pg_dsn: str, passage_words: int | None = None,
                windows: int | None = None) -> None:
    """``m2io ask --generator unified``."""
    from m2io.atomic import atomic_write_text
    from m2io.retrieve import Retriever
    from m2io.unified.answer import UnifiedAnswerer
    from m2io.unified.model import UnifiedModel
    from m2io.unified.render import render_unified
    from m2io.unified.shipped import resolve_unified

    folder = resolve_unified(unified_model)
    if folder is None:
        raise click.UsageError("--generator unified needs --unified-model (a folder written by m2io unified warmup): "
                               "this install has no models/unified")
    model = UnifiedModel.load(Path(folder))
    retriever = Retriever.open(index_dir, pg_dsn=pg_dsn)
    try:
        config = unified_config(snap_threshold=snap_threshold, passage_words=passage_words, windows=windows)
        answer = UnifiedAnswerer(model, retriever, config).ask(question, image)
    finally:
        retriever.close()
    text = render_unified(answer, fmt)
    if out:
        atomic_write_text(out, text)
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)
    images = sum(s.kind == "image" for s in answer.steps)
    refs = sum(s.kind == "reference" for s in answer.steps)
    shown = sum(1 for s in answer.steps if s.kind == "image" and s.figure is not None and s.figure.shown)
    click.echo(f"({refs} retrieved figures referenced; {images} images drawn, {shown} shown as corpus figures; "
               f"{answer.tokens_generated} tokens; "
               f"{answer.timings['total'] * 1000:.0f} ms"
               f"{'; damaged: ' + '; '.join(answer.damage) if answer.damage else ''})", err=True)
