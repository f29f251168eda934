"""``m2io corpus manual | check``: build and validate MRAMG-format corpora.

    m2io corpus manual --package gimp-help-en --name gimp --out data/gimp
    m2io corpus check data/gimp --samples 1
"""
from __future__ import annotations

import json
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path

import click

from m2io.cli.base import cli
from m2io.corpus.check import CheckReport, check_folder
from m2io.corpus.manual.build import ManualConfig, build_manual_dataset
from m2io.corpus.manual.debian import default_cache_dir, fetch_package, write_source
from m2io.corpus.manual.decor import DecorRules
from m2io.corpus.manual.formats import SOURCES
from m2io.corpus.mramg import dataset_names, read_dataset, write_dataset


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
@click.option("--html-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of the manual: HTML pages, DocBook XML, PDF, Markdown or reST sources (see --source).")
@click.option("--pdf", "pdfs", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A PDF manual (repeat for several); each is read as one book.")
@click.option("--name", required=True, help="Dataset name (doc_<name>.jsonl ...).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output dataset folder (replaced atomically).")
@click.option("--lang", default="en", show_default=True, help="Language of the pages to keep.")
@click.option("--title", default="", help="Manual name used in questions (default: from the pages).")
@click.option("--min-words", default=ManualConfig.min_words, show_default=True, help="Fewest words of text a section needs.")
@click.option("--max-answer-words", default=ManualConfig.max_answer_words, show_default=True,
              help="Sections with more words get no QA item.")
@click.option("--min-image-px", default=DecorRules.min_side, show_default=True,
              help="Images whose longer side is smaller are icons and left out.")
@click.option("--source", type=click.Choice(list(SOURCES)), default="auto", show_default=True,
              help="The reader: auto picks Markdown for a MkDocs/Docusaurus tree, reST for a Sphinx tree, "
                   "else HTML where there is any, then DocBook, Markdown, reST, PDF.")
@click.option("--cache", type=click.Path(path_type=Path), default=None, help="Cache folder for packages [~/.cache/m2io].")
def corpus_manual(package: str | None, html_dir: Path | None, pdfs: tuple[Path, ...], name: str, out: Path, lang: str,
                  title: str, min_words: int, max_answer_words: int, min_image_px: int, source: str,
                  cache: Path | None) -> None:
    """Turn a manual (HTML, DocBook, PDF, Markdown or reST; a Debian package, a folder or PDF files) into an MRAMG dataset."""
    if sum(map(bool, (package, html_dir, pdfs))) != 1:
        raise click.UsageError("give exactly one of --package, --html-dir and --pdf")
    if package:
        click.echo(f"fetching Debian package {package} ...", err=True)
        html_dir = fetch_package(package, cache or default_cache_dir())
    config = ManualConfig(name=name, lang=lang, title=title, min_words=min_words, max_answer_words=max_answer_words,
                          decor=DecorRules(min_side=min_image_px, min_area=min_image_px * min_image_px), source=source,
                          cache=cache)
    ds, report = build_manual_dataset(html_dir, config, progress=True, files=list(pdfs) or None)
    write_dataset(ds, out)
    if package:  # which package and version the corpus came from (model cards list it)
        write_source(out, package, html_dir)
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


@corpus.command("strip-headings")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder for the variant (replaced).")
def corpus_strip_headings(folder: Path, out: Path) -> None:
    """Write a copy of a dataset whose documents do not open with their heading line (a harder retrieval test)."""
    from m2io.corpus.variant import strip_headings

    ds = read_dataset(folder)
    variant, n = strip_headings(ds)
    write_dataset(variant, out)
    click.echo(f"{n} of {len(ds.documents)} documents lost their heading line; written to {out}")
