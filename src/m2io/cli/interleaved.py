"""``m2io eval --task interleaved``: the unified model on every question of a dataset folder."""
from __future__ import annotations

from pathlib import Path

import click


def eval_interleaved(folder: Path, retriever, unified_model: Path | None, base_unified: Path | None,
                     json_out: Path | None, bertscore: bool, judge_url: str | None, judge_model: str,
                     cfg, limit: int | None = None) -> dict:
    from m2io.corpus.mramg import dataset_names, read_dataset
    from m2io.corpus.problems import Problems
    from m2io.evaluate.finish import write_run
    from m2io.evaluate.interleaved import evaluate_interleaved, summarize_interleaved

    model = _load(unified_model, base_unified)
    scorer = None
    if bertscore:
        from m2io.metrics.text import BertScore

        scorer = BertScore()
    judge = None
    if judge_url:
        from m2io.lm.openai import OpenAIChatModel
        from m2io.unified.judge import AspectJudge

        judge = AspectJudge(OpenAIChatModel(judge_url, judge_model))
    records = []
    for name in dataset_names(folder):
        ds = read_dataset(folder, name, Problems(strict=False))
        if limit is not None:
            from m2io.corpus.split import select_items

            ds.qa = select_items(ds.qa, "all", limit=limit, seed=cfg.seed)
        records += evaluate_interleaved(model, ds, retriever, cfg, bertscore=scorer, judge=judge)
    summary = summarize_interleaved(records)
    for key, value in summary.items():
        if isinstance(value, float) and not key.endswith("_ci95"):
            ci = summary.get(f"{key}_ci95")
            click.echo(f"{key:<26} {value:8.3f}" + (f"  [{ci[0]:.3f}, {ci[1]:.3f}] n={summary[key + '_n']}" if ci else ""))
    click.echo(f"n {summary['n']}")
    if json_out:
        meta = {"task": "interleaved", "dataset": str(folder), "model": str(unified_model or base_unified or "base"),
                "config": cfg.__dict__}
        items = write_run(json_out, summary, records, meta)
        click.echo(f"wrote {json_out} and {items}")
    return summary


def _load(unified_model: Path | None, base_unified: Path | None):
    from m2io.unified.model import UnifiedModel
    from m2io.unified.tokenizer import ImageTokenizer

    if unified_model is not None:
        return UnifiedModel.load(unified_model)
    if base_unified is None:
        raise click.UsageError("--task interleaved needs --unified-model (a warmed-up model folder) or "
                               "--base-with-tokenizer (the base LM with an image tokenizer's codes added, no warm-up)")
    import torch

    torch.manual_seed(0)  # the new embedding rows are drawn: the same base model every run
    return UnifiedModel.from_base(None, ImageTokenizer.load(base_unified))


def ask_unified(question: str, image: Path | None, index_dir: Path, fmt: str, out: Path | None,
                unified_model: Path | None, snap_threshold: float, pg_dsn: str) -> None:
    """``m2io ask --generator unified``."""
    from m2io.atomic import atomic_write_text
    from m2io.retrieve import Retriever
    from m2io.unified.answer import UnifiedAnswerer
    from m2io.unified.model import UnifiedModel
    from m2io.unified.render import render_unified

    if unified_model is None:
        raise click.UsageError("--generator unified needs --unified-model (a folder written by m2io unified warmup)")
    model = UnifiedModel.load(unified_model)
    retriever = Retriever.open(index_dir, pg_dsn=pg_dsn)
    try:
        answer = UnifiedAnswerer(model, retriever, snap_threshold).ask(question, image)
    finally:
        retriever.close()
    text = render_unified(answer, fmt)
    if out:
        atomic_write_text(out, text)
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)
    images = sum(s.kind == "image" for s in answer.steps)
    shown = sum(1 for s in answer.steps if s.figure is not None and s.figure.shown)
    click.echo(f"({images} images generated, {shown} shown as corpus figures; {answer.tokens_generated} tokens; "
               f"{answer.timings['total'] * 1000:.0f} ms"
               f"{'; damaged: ' + '; '.join(answer.damage) if answer.damage else ''})", err=True)
