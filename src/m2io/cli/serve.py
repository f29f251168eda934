"""``m2io serve`` (the HTTP API and web page) and ``m2io serve-lm`` (a local model over HTTP)."""
from __future__ import annotations

import logging
from pathlib import Path

import click

from m2io.cli.base import cli
from m2io.cli.options import _r1_adapter_option, _r1_policy_option, _reranker
from m2io.components import ANSWERERS, INSERTERS, ComponentConfig
from m2io.insert.shipped import AUTO


@cli.command("serve")
@click.option("--index", "index_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--token", default=None, envvar="M2IO_TOKEN", help="Require Authorization: Bearer TOKEN [$M2IO_TOKEN].")
@click.option("--max-body-mb", default=8.0, show_default=True, help="Largest request body.")
@click.option("--max-upload-mb", default=5.0, show_default=True, help="Largest query image.")
@click.option("--max-image-pixels", default=40_000_000, show_default=True,
              help="Query images with more pixels (read from the header, before decoding) are refused with 413.")
@click.option("--default-inserter", type=click.Choice(INSERTERS), default=ComponentConfig.inserter, show_default=True)
@click.option("--answerer", type=click.Choice(ANSWERERS), default=ComponentConfig.answerer, show_default=True)
@click.option("--reranker", default=AUTO, show_default=True, callback=_reranker,
              help="Section ranker folder; auto: models/section-ranker; none: sections in retrieval order.")
@click.option("--lm", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="A transformers model folder [SmolLM2-135M-Instruct from the PyPI GGUF].")
@click.option("--lm-url", default=None, help="An OpenAI-compatible endpoint instead of a local model.")
@click.option("--lm-model", default="SmolLM2-135M-Instruct", show_default=True)
@_r1_policy_option
@_r1_adapter_option
@click.option("--pg-dsn", default="", help="PostgreSQL connection string for a pgvector index.")
@click.option("--unified-model", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="A unified model folder (m2io unified warmup), loaded once the workers are ready [models/unified, "
                   "the one that ships, loaded at the first unified question].")
@click.option("--no-unified", is_flag=True, help="Serve no unified answers (not even with the shipped model).")
@click.option("--snap-threshold", default=0.8, show_default=True,
              help="unified: visual cosine at which the matching corpus figure is shown.")
@click.option("--passage-words", type=click.IntRange(1), default=None,
              help="unified: words of each passage window in the prompt [the model's].")
@click.option("--windows", type=click.IntRange(1), default=None,
              help="unified: passage windows, one prompt each, streamed one after another [6].")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes behind the port, each with its own models and one inference thread.")
@click.option("--threads", default=0, type=click.IntRange(0, 256),
              help="torch threads per worker [cores / workers].")
@click.option("--max-queue", default=8, show_default=True, type=click.IntRange(0, 10_000),
              help="Requests that may wait per worker; beyond, 503 with Retry-After at once.")
@click.option("--refresh-seconds", default=2.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="How often an idle worker looks for a newer index snapshot (a busy one looks before each answer).")
def serve_cmd(index_dir: Path, host: str, port: int, token: str | None, max_body_mb: float, max_upload_mb: float,
              max_image_pixels: int,
              default_inserter: str, answerer: str, reranker: str | None, lm: Path | None, lm_url: str | None,
              lm_model: str, r1_policy: str, r1_adapter: str | None, pg_dsn: str, unified_model: Path | None,
              no_unified: bool, snap_threshold: float, passage_words: int | None, windows: int | None, workers: int,
              threads: int, max_queue: int, refresh_seconds: float) -> None:
    """Serve the HTTP API (/api/ask, /api/images, /health, /metrics, docs at /docs) and the web page at /.

    Any number of these processes (on one machine or several) may serve one pgvector index: see the
    README's deployment recipe. Each moves to the newest index snapshot by itself, without a restart.
    """
    import os
    import shutil
    import tempfile

    import uvicorn

    from m2io.index.manifest import IndexManifest

    IndexManifest.load(index_dir)  # a clear error now, not N workers that never get ready
    opts_components = dict(answerer=answerer, inserter=default_inserter, lm_dir=str(lm) if lm else None, lm_url=lm_url,
                           lm_model=lm_model, r1_adapter=r1_adapter, r1_policy=r1_policy, reranker=reranker)
    serve = dict(token=token, max_body_bytes=int(max_body_mb * 2 ** 20), max_upload_bytes=int(max_upload_mb * 2 ** 20),
                 max_image_pixels=max_image_pixels, default_inserter=default_inserter, max_queue=max_queue,
                 refresh_seconds=refresh_seconds)
    metrics_dir = tempfile.mkdtemp(prefix="m2io-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # before prometheus_client is first imported, anywhere
    from m2io.server.options import ENV, ServeOptions

    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    opts = ServeOptions(index=str(index_dir.resolve()), pg_dsn=pg_dsn, components=opts_components, serve=serve,
                        unified_model="" if no_unified else str(unified_model.resolve()) if unified_model else None,
                        snap_threshold=snap_threshold, threads=threads,
                        unified={k: v for k, v in (("passage_words", passage_words), ("windows", windows)) if v})
    os.environ[ENV] = opts.to_json()
    click.echo(f"m2io serving {index_dir} at http://{host}:{port}/ with {workers} worker(s) of {threads} thread(s)"
               f"{' (token required)' if token else ''}; GET /health says when the models are loaded", err=True)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        uvicorn.run("m2io.server.worker:app_from_env", factory=True, host=host, port=port, log_level="warning",
                    workers=workers if workers > 1 else None)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


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
