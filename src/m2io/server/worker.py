"""One server process ("worker"): its own models, one inference thread, the index shared read-only.

``m2io serve --workers N`` hands :class:`~m2io.server.options.ServeOptions` to uvicorn's worker
processes through the environment (``M2IO_SERVE``), and each builds its app with :func:`app_from_env`:
the app answers ``/health`` at once (503 until ready) and loads the service in a thread as it starts.

>>> app = app_for(ServeOptions(index="index/gimp"))  # nothing is loaded until the app starts
"""
from __future__ import annotations

import os
from pathlib import Path

from m2io.components import ComponentConfig
from m2io.server.app import ServeConfig, create_app
from m2io.server.options import ENV, ServeOptions
from m2io.server.service import AskService

def build_service(opts: ServeOptions) -> AskService:
    """Open the index and load every model the defaults need (what a worker does before it is ready)."""
    from m2io.retrieve import Retriever

    retriever = Retriever.open(Path(opts.index), pg_dsn=opts.pg_dsn)
    from m2io.unified.shipped import resolve_unified

    unified = None
    folder = None if opts.unified_model == "" else resolve_unified(opts.unified_model)  # named, or the shipped one
    if folder:
        def unified():  # loaded after the worker is ready (or at the first unified question)
            from m2io.unified.answer import UnifiedAnswerer, UnifiedConfig
            from m2io.unified.model import UnifiedModel

            # the service's own pipeline (its answerer, ranker and options) drafts for the unified model too
            return UnifiedAnswerer(UnifiedModel.load(Path(folder)), retriever,
                                   UnifiedConfig(snap_threshold=opts.snap_threshold, **opts.unified),
                                   pipeline=service.pipeline("source", 10))
    service = AskService(retriever, ComponentConfig(**opts.components), unified=unified,
                         preload_unified=bool(opts.unified_model))
    service.warm_up(everything=False)  # ready with the defaults; the other inserters load once it is serving
    if opts.threads:  # last: the text encoder and the section ranker ask for every core as they load
        import torch

        torch.set_num_threads(opts.threads)
    return service


def app_for(opts: ServeOptions):
    """The app of one worker; its service loads as it starts."""
    return create_app(lambda: build_service(opts), ServeConfig(**opts.serve))


def app_from_env():
    """uvicorn's factory in each worker process: the options ``m2io serve`` put in ``$M2IO_SERVE``."""
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s")
    return app_for(ServeOptions.from_json(os.environ[ENV]))
