"""``m2io index`` and ``m2io search``."""
from __future__ import annotations

import contextlib
import json
import textwrap
import warnings
from dataclasses import asdict
from pathlib import Path

import click

from m2io.cli.base import cli


def _index_config(backend: str, pg_dsn: str, pg_prefix: str, text_model: str | None, image_model: str,
                  adapter: Path | None, max_tokens: int, batch_docs: int):
    from m2io.corpus.chunk import ChunkConfig
    from m2io.index.build import IndexConfig

    return IndexConfig(text_model=text_model, image_model=image_model, backend=backend, pg_dsn=pg_dsn,
                       pg_prefix=pg_prefix, chunk=ChunkConfig(max_tokens=max_tokens), adapter=adapter,
                       batch_docs=batch_docs)


def _no_ray(address, cpus, actors, gpus) -> None:
    given = [n for n, v in [("--ray-address", address), ("--ray-cpus", cpus), ("--ray-actors", actors),
                            ("--ray-gpus-per-actor", gpus)] if v]
    if given:
        raise click.UsageError(f"{', '.join(given)}: only with --engine ray")


@contextlib.contextmanager
def _ray_engine(address: str | None, cpus: int | None, actors: int | None, gpus: float):
    """Ray started (or joined) before indexing, so that a bad address is a usage error; shut down afterwards."""
    from m2io.index.ray_engine import RayEngineError, ray_engine

    if address and cpus:
        raise click.UsageError("--ray-cpus sizes a local cluster: not with --ray-address")
    engine = ray_engine(address, cpus, actors, gpus)
    try:
        engine.__enter__()
    except RayEngineError as e:
        raise click.BadParameter(str(e), param_hint=f"--ray-{e.option}") from e
    try:
        yield engine
    finally:
        engine.__exit__(None, None, None)


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
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Encode in this process, or on Ray actors (m2io.index.ray_engine).")
@click.option("--ray-address", default=None, help="Join this Ray cluster (host:port, ray://host:port, auto) "
              "[start a local one].")
@click.option("--ray-cpus", type=click.IntRange(min=1), default=None, help="CPUs of the local Ray cluster [all].")
@click.option("--ray-actors", type=click.IntRange(min=1), default=None, help="Encoder actors [one per CPU].")
@click.option("--ray-gpus-per-actor", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="GPUs reserved per actor.")
def index_cmd(folders: tuple[Path, ...], out: Path, backend: str, pg_dsn: str, pg_prefix: str, text_model: str | None,
              image_model: str, adapter: Path | None, max_tokens: int, batch_docs: int, engine: str,
              ray_address: str | None, ray_cpus: int | None, ray_actors: int | None,
              ray_gpus_per_actor: float) -> None:
    """Index MRAMG dataset folders (incremental: unchanged documents are skipped; resumes after a crash).

    \b
    m2io index data/gimp --out index/gimp
    m2io index data/gimp --out index/gimp --engine ray --ray-cpus 8 --ray-actors 4
    """
    from m2io.index.build import build_index

    cfg = _index_config(backend, pg_dsn, pg_prefix, text_model, image_model, adapter, max_tokens, batch_docs)
    if engine == "local":
        _no_ray(ray_address, ray_cpus, ray_actors, ray_gpus_per_actor)
    with _ray_engine(ray_address, ray_cpus, ray_actors, ray_gpus_per_actor) if engine == "ray" else \
            contextlib.nullcontext() as row_engine:
        with warnings.catch_warnings():  # the report lists skipped images below, once each
            warnings.simplefilter("ignore", UserWarning)
            report = build_index(list(folders), out, cfg, progress=True, engine=row_engine)
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
    speed = (f"{rate:.1f} docs/s while encoding" if engine == "local" else
             f"{report.indexed / report.seconds if report.seconds else 0.0:.1f} docs/s in all, "
             f"{rate:.1f} docs/s per actor while encoding")
    click.echo(f"chunks {report.chunks}, image occurrences {report.images}, images skipped "
               f"{len(report.images_skipped)}; {report.seconds:.1f} s ({speed})")
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
