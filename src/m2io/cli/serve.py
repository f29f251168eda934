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
              help="A unified model folder (m2io unified warmup): the page then offers unified answers.")
@click.option("--snap-threshold", default=0.8, show_default=True,
              help="unified: visual cosine at which the matching corpus figure is shown.")
def serve_cmd(index_dir: Path, host: str, port: int, token: str | None, max_body_mb: float, max_upload_mb: float,
              max_image_pixels: int,
              default_inserter: str, answerer: str, reranker: str | None, lm: Path | None, lm_url: str | None,
              lm_model: str, r1_policy: str, r1_adapter: str | None, pg_dsn: str, unified_model: Path | None,
              snap_threshold: float) -> None:
    """Serve the HTTP API (/api/ask, /api/images, /health, docs at /docs) and the web page at /."""
    import uvicorn

    from m2io.retrieve import Retriever
    from m2io.server.app import ServeConfig, create_app
    from m2io.server.service import AskService

    retriever = Retriever.open(index_dir, pg_dsn=pg_dsn)
    unified = None
    if unified_model is not None:
        from m2io.unified.answer import UnifiedAnswerer
        from m2io.unified.model import UnifiedModel

        unified = UnifiedAnswerer(UnifiedModel.load(unified_model), retriever, snap_threshold)
    service = AskService(retriever, ComponentConfig(answerer=answerer, inserter=default_inserter,
                                                    lm_dir=str(lm) if lm else None, lm_url=lm_url, lm_model=lm_model,
                                                    r1_adapter=r1_adapter, r1_policy=r1_policy, reranker=reranker),
                          unified=unified)
    service.warm_up()
    config = ServeConfig(token=token, max_body_bytes=int(max_body_mb * 2 ** 20),
                         max_upload_bytes=int(max_upload_mb * 2 ** 20), max_image_pixels=max_image_pixels,
                         default_inserter=default_inserter)
    click.echo(f"m2io serving {index_dir} ({len(service.image_files)} images) at http://{host}:{port}/"
               f"{' (token required)' if token else ''}", err=True)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
