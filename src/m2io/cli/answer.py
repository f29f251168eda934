"""``m2io eval`` and ``m2io ask``."""
from __future__ import annotations

from pathlib import Path

import click

from m2io.cli.base import cli
from m2io.cli.options import _components, _model_options


@cli.command("eval")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--task", type=click.Choice(["retrieval", "insert", "e2e", "interleaved"]), required=True)
@click.option("--index", "index_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--queries", type=click.Choice(["text", "image", "both"]), default="both", show_default=True,
              help="retrieval: which queries.")
@click.option("--split", type=click.Choice(["dev", "train", "all"]), default="dev", show_default=True,
              help="insert / e2e: QA items of this split (by document).")
@click.option("--limit", type=int, default=None, help="Evaluate a random sample of this many QA items per dataset.")
@click.option("--seed", default=0, show_default=True)
@click.option("--no-bertscore", is_flag=True, help="insert / e2e: skip BERTScore.")
@click.option("--judge-url", default=None, help="insert / e2e: OpenAI-compatible endpoint of an LLM judge.")
@click.option("--judge-model", default="SmolLM2-135M-Instruct", show_default=True)
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Write scores here, and every item (prompt, candidates, raw output, scores) to <json>.items.jsonl.")
@click.option("--unified-model", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="interleaved: a unified model folder [models/unified, the one that ships].")
@click.option("--max-new-tokens", type=click.IntRange(1), default=None,
              help="interleaved: generation budget [320 tokens per 110 passage words, at least 320].")
@click.option("--passage-words", type=click.IntRange(1), default=None,
              help="interleaved: words of the pipeline's answer in the unified prompt [the model's default].")
@click.option("--windows", type=click.IntRange(1), default=None,
              help="interleaved: passage windows, one prompt each, answered one after another [6].")
@click.option("--loop-break/--no-loop-break", default=None,
              help="interleaved: forbid the token that would begin a loop the prompt does not hold [off: it turns loops into near-loops].")
@click.option("--passage-end/--no-passage-end", default=None,
              help="interleaved: no new text step once a window's last passage line is written [on].")
@click.option("--line-budget/--no-line-budget", default=None,
              help="interleaved: no text step begins a passage line already written as often as the passage holds it [on].")
@click.option("--gen-image-temperature", type=float, default=1.0, show_default=True,
              help="interleaved: drawn images' sampling temperature (text is greedy).")
@click.option("--snap-threshold", default=0.8, show_default=True,
              help="interleaved: visual cosine at which a drawn image is shown as the corpus figure it matches.")
@click.option("--baselines", default="rule,r1", show_default=True,
              help="interleaved: pipeline inserters placed in the same drafts, scored beside the unified model.")
@click.option("--questions", type=click.Path(exists=True, path_type=Path), default=None,
              help="e2e: ask user-phrased questions (a JSONL file, or a folder of <dataset name>.jsonl) instead of the "
                   "corpus's own; their gold answers are their sections.")
@_model_options
def eval_cmd(folder: Path, task: str, index_dir: Path, queries: str, split: str, limit: int | None, seed: int,
             no_bertscore: bool, judge_url: str | None, judge_model: str, json_out: Path | None,
             unified_model: Path | None, max_new_tokens: int | None, passage_words: int | None,
             windows: int | None, loop_break: bool | None, passage_end: bool | None, line_budget: bool | None, gen_image_temperature: float, snap_threshold: float, baselines: str,
             questions: Path | None, inserter: str, answerer: str, reranker: str | None, max_words: int | None,
             candidates: str, lm: Path | None, lm_url: str | None, lm_model: str,
             rule_threshold: float | None, think_tokens: int | None, unconstrained: bool, r1_policy: str,
             r1_adapter: str | None, k: int, pg_dsn: str) -> None:
    """Evaluate retrieval, an inserter alone (insert), the whole pipeline (e2e), or a unified model's interleaved
    answers (interleaved: every question of the folder) on a dataset folder."""
    from m2io.retrieve import Retriever

    retriever = Retriever.open(index_dir, pg_dsn=pg_dsn)
    try:
        if task == "interleaved":
            from m2io.cli.interleaved import eval_interleaved
            from m2io.evaluate.interleaved import InterleavedConfig
            from m2io.cli.interleaved import unified_config

            cfg = InterleavedConfig(baselines=tuple(b for b in baselines.split(",") if b))
            answer_cfg = unified_config(max_new_tokens=max_new_tokens, passage_words=passage_words, windows=windows,
                                        loop_break=loop_break, passage_end=passage_end, line_budget=line_budget, image_temperature=gen_image_temperature, snap_threshold=snap_threshold,
                                        seed=seed)
            eval_interleaved(folder, retriever, unified_model, json_out, not no_bertscore, cfg, answer_cfg,
                             questions, limit, seed)
            return
        if task == "retrieval":
            _eval_retrieval(retriever, folder, index_dir, queries, limit, seed, json_out)
            return
        from m2io.evaluate.run import format_ci_row, format_row, header, run_eval

        from m2io.pipeline import PipelineConfig

        components = _components(inserter, answerer, lm, lm_url, lm_model, rule_threshold, think_tokens, unconstrained,
                                 r1_adapter, r1_policy, reranker, max_words, retriever.models.text)
        judge = None
        if judge_url:
            from m2io.judge import Judge
            from m2io.lm.openai import OpenAIChatModel

            judge = Judge(OpenAIChatModel(judge_url, judge_model))
        summary = run_eval(folder, task, retriever, components, split=split, limit=limit, seed=seed, k=k,
                           bertscore=not no_bertscore, judge=judge, json_out=json_out, questions=questions,
                           pipeline_config=PipelineConfig(candidates=candidates))
        click.echo(header())
        click.echo(format_row(inserter, summary))
        click.echo(format_ci_row(summary))
        if task == "e2e" and summary.get("n"):
            click.echo(f"sections per answer {summary['answer_sections']:.2f}, first section right "
                       f"{summary['section_top1']:.3f}, words {summary['answer_words']:.0f}, oracle-selection F1 "
                       f"{summary['oracle_f1']:.3f}")
            for kind, s in summary.get("by_kind", {}).items():
                click.echo(format_row(kind[:10], s))
        click.echo("stage p50 ms: " + ", ".join(f"{s} {v:.0f}" for s, v in summary["stage_ms_p50"].items()))
        for key in ("judge_image_relevance", "judge_image_effectiveness", "judge_image_position", "judge_overall",
                    "judge_unparsed_rate"):
            if summary.get(key) is not None:
                click.echo(f"{key} {summary[key]:.2f}")
        if json_out:
            click.echo(f"wrote {json_out} and {json_out.with_name(json_out.stem + '.items.jsonl')}")
    finally:
        retriever.close()


def _eval_retrieval(retriever, folder: Path, index_dir: Path, queries: str, limit: int | None, seed: int,
                    json_out: Path | None) -> None:
    from m2io.evaluate.retrieval import KS, evaluate_retrieval

    scores, records = evaluate_retrieval(retriever, folder, queries=queries, limit=limit, seed=seed)

    def cell(s: dict, name: str) -> str:
        ci = s.get(f"{name}_ci95")
        return f"{s[name]:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")

    for kind, s in scores.items():
        click.echo(f"{kind} queries (n={s['n']}; 95% bootstrap intervals):")
        for k in KS:
            click.echo(f"  doc_recall@{k:<2d} {cell(s, f'doc_recall@{k}')}   visual_recall@{k:<2d} "
                       f"{cell(s, f'visual_recall@{k}')}" if kind == "text" else
                       f"  doc_recall@{k:<2d} {cell(s, f'doc_recall@{k}')}")
        click.echo(f"  MRR {cell(s, 'mrr')}   latency p50 {s['latency_ms_p50']:.1f} ms, p95 {s['latency_ms_p95']:.1f} ms")
    if json_out:
        from m2io.evaluate.finish import write_run

        items = write_run(json_out, scores, records, {"task": "retrieval", "index": str(index_dir),
                                                      "dataset": str(folder)})
        click.echo(f"wrote {json_out} and {items}")


@cli.command("ask")
@click.argument("question", required=False, default="")
@click.option("--image", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A query image.")
@click.option("--index", "index_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the answer here instead of printing it.")
@click.option("--generator", type=click.Choice(["pipeline", "unified"]), default="pipeline", show_default=True,
              help="pipeline: retrieve, answer, place retrieved images; unified: the unified model writes text and "
                   "images, each image matched against the index's figures.")
@click.option("--unified-model", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="unified: the model folder (m2io unified warmup).")
@click.option("--snap-threshold", default=0.8, show_default=True,
              help="unified: visual cosine at which the matching corpus figure is shown.")
@click.option("--passage-words", type=click.IntRange(1), default=None,
              help="unified: words of the pipeline's answer in the prompt (at most these are copied) [the model's].")
@click.option("--windows", type=click.IntRange(1), default=None,
              help="unified: passage windows, one prompt each, answered one after another [6].")
@_model_options
def ask_cmd(question: str, image: Path | None, index_dir: Path, fmt: str, out: Path | None, generator: str,
            unified_model: Path | None, snap_threshold: float, passage_words: int | None, windows: int | None,
            inserter: str, answerer: str, reranker: str | None,
            max_words: int | None, candidates: str, lm: Path | None, lm_url: str | None, lm_model: str,
            rule_threshold: float | None,
            think_tokens: int | None, unconstrained: bool, r1_policy: str, r1_adapter: str | None, k: int,
            pg_dsn: str) -> None:
    """Answer a question (text, image or both) with the retrieved images placed in the answer, or with the
    unified model's own images (--generator unified)."""
    from m2io.atomic import atomic_write_text
    from m2io.pipeline import Pipeline, PipelineConfig
    from m2io.render import render
    from m2io.retrieve import Retriever

    if not question.strip() and image is None:
        raise click.UsageError("give a question, an --image, or both")
    if generator == "unified":
        from m2io.cli.interleaved import ask_unified

        ask_unified(question, image, index_dir, fmt, out, unified_model, snap_threshold, pg_dsn, passage_words,
                    windows)
        return
    retriever = Retriever.open(index_dir, pg_dsn=pg_dsn)
    components = _components(inserter, answerer, lm, lm_url, lm_model, rule_threshold, think_tokens, unconstrained,
                             r1_adapter, r1_policy, reranker, max_words, retriever.models.text)
    try:
        pipeline = Pipeline(retriever, components.answerer(retriever), components.inserter(),
                            PipelineConfig(k=k, candidates=candidates))
        result = pipeline.ask(question, image)
    finally:
        retriever.close()
    text = render(result, fmt, inserter, answerer if inserter != "onepass" else "onepass")
    if out:
        atomic_write_text(out, text)
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)
    timings = ", ".join(f"{s} {v * 1000:.0f} ms" for s, v in result.timings.items())
    click.echo(f"({len(result.answer.placements)} of {len(result.candidates)} images placed; {timings}; "
               f"{result.model_calls} model calls, {result.tokens_generated} tokens"
               f"{'; r1 output did not parse, rule placed the images' if result.insert.fallback else ''})", err=True)
