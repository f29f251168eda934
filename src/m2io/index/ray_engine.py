"""Distributed ingest: encode documents on Ray actors with Ray Data, write them from this process.

A :data:`~m2io.index.build.RowEngine` for :func:`~m2io.index.build.build_index`. The documents to index become a
Ray Dataset of small records (dataset name, document id, text, image ids, hash); ``map_batches`` sends
``cfg.batch_docs`` of them at a time to a pool of actors, each of which loads its own :class:`IndexModels` once,
keeps its own image cache and calls the very ``_doc_rows`` of the local engine, so rows are the same. Dataset-wide
data (image collection, sources) goes to the object store once per dataset; image files are read by path, so
workers on other machines need the corpus at the same path. Rows come back to this process, in order, and
``build_index`` writes them as they arrive (hashes, deletions, BM25 and manifest stay there).

Why Ray Data: it is the field's engine for batch inference on actor pools (streaming, backpressure, actor
restarts), on one machine or a cluster, with the same code. The records carry the documents' text, as
``build_index`` read and hashed it, rather than a folder to read again: a todo knows no folders, and what is
encoded is then exactly what was hashed.

Example (a local cluster of 2 CPUs and 2 actors, shut down afterwards)::

    from pathlib import Path
    from m2io.index.build import IndexConfig, build_index
    from m2io.index.ray_engine import ray_engine

    report = build_index([Path("data/openshot")], Path("/tmp/idx"), IndexConfig(),
                         engine=ray_engine(num_cpus=2, actors=2))

or ``m2io index data/openshot --out /tmp/idx --engine ray --ray-cpus 2``. Ray runs offline: no dashboard, no
usage stats, no upload of the working folder (workers import m2io from the installed environment).
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import socket
import time
import warnings
from collections.abc import Iterator

from m2io.errors import M2IOError

_QUIET_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}


class RayEngineError(M2IOError):
    """Ray could not be started or reached, or lacks what the actors ask for; ``option`` names the setting
    (``address``, ``cpus``, ``gpus-per-actor``)."""

    def __init__(self, message: str, option: str = "address"):
        super().__init__(message)
        self.option = option


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a cluster address nobody answers at (Ray itself retries for minutes)."""
    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise RayEngineError(f"Ray address {address!r}: expected host:port, ray://host:port or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise RayEngineError(f"Ray address {address!r}: nothing answers there ({e})") from e


def start_ray(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Join the cluster at ``address``, or start a local one of ``num_cpus`` CPUs (default: all); quiet and
    offline. Returns False when Ray was already initialised in this process (then it is left as it is)."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    if address:
        _check_reachable(address)
    import ray

    if ray.is_initialized():
        return False
    quiet = dict(logging_level=logging.ERROR, log_to_driver=False)
    try:
        with warnings.catch_warnings():  # Ray forks and at once execs its daemons: no lancedb state is shared
            warnings.filterwarnings("ignore", message="lancedb fork support", category=RuntimeWarning)
            if address:
                ray.init(address=address, **quiet)
            else:
                ray.init(num_cpus=num_cpus, include_dashboard=False, **quiet)
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as e:
        raise RayEngineError(f"Ray {'address ' + repr(address) if address else 'local cluster'}: {e}",
                             "address" if address else "cpus") from e
    return True


class _Encoder:
    """One actor: its own models and image cache; documents in, pickled :class:`DocRows` out."""

    def __init__(self, meta: dict, cfg, text_model, image_model, adapter_path, threads: int):
        import torch

        from m2io.index.build import IndexReport, _ImageCache
        from m2io.index.models import IndexModels

        self.models = IndexModels(text_model, image_model, adapter_path)
        self.models.text, self.models.image  # noqa: B018  (load now, not in the first batch)
        if self.models.adapter is None:
            self.models.bridge  # noqa: B018
        torch.set_num_threads(threads)  # after the text encoder, which asks for every core of the machine
        self.cfg, self.meta, self.datasets = cfg, meta, {}
        self.scratch = IndexReport()
        self.cache = _ImageCache(self.models, self.scratch)

    def __call__(self, batch: dict) -> dict:
        import ray

        from m2io.index.build import _doc_rows
        from m2io.types import Document

        rows, skipped, seconds = [], [], []
        for name, doc_id, content, image_ids, h in zip(batch["dataset"], batch["doc_id"], batch["content"],
                                                       batch["image_ids"], batch["hash"]):
            if str(name) not in self.datasets:
                self.datasets[str(name)] = ray.get(self.meta[str(name)])
            ds, doc = self.datasets[str(name)], Document(str(doc_id), str(content), json.loads(image_ids))
            fresh = [i for i in dict.fromkeys(doc.image_ids) if (ds.name, i) not in self.cache.visual]
            before = len(self.scratch.images_skipped)
            t0 = time.perf_counter()
            with warnings.catch_warnings():  # the driver warns, once per image of the whole run
                warnings.simplefilter("ignore")
                rows.append(pickle.dumps(_doc_rows(ds, doc, str(h), self.cfg, self.models, self.cache)))
            seconds.append(time.perf_counter() - t0)
            bad = [i for i in fresh if self.cache.visual.get((ds.name, i), 0) is None]
            skipped.append(json.dumps([[ds.name, i, m] for i, m in zip(bad, self.scratch.images_skipped[before:])]))
        return {"rows": rows, "skipped": skipped, "seconds": seconds}


class RayEngine:
    """A RowEngine on Ray Data; use :func:`ray_engine`. As a context manager it starts (or joins) Ray on entry
    and shuts down what it started on exit; called without one, it does both around each run."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None, actors: int | None = None,
                 gpus_per_actor: float = 0.0):
        self.address, self.num_cpus, self.actors, self.gpus_per_actor = address, num_cpus, actors, gpus_per_actor
        self._owned = False

    def __enter__(self) -> "RayEngine":
        self._owned = start_ray(self.address, self.num_cpus) or self._owned
        try:
            self._pool()  # the cluster has what the actors ask for
        except RayEngineError:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._owned:
            import ray

            ray.shutdown()
            self._owned = False

    def __call__(self, todo, cfg, models, report) -> Iterator[list]:
        import ray

        with contextlib.nullcontext() if ray.is_initialized() else self:
            yield from self._run(todo, cfg, models, report)

    def _pool(self) -> tuple[int, int]:
        """(actors, CPUs per actor) on this cluster; more actors than CPUs share them."""
        import ray

        resources = ray.cluster_resources()
        cpus = int(resources.get("CPU", 1))
        actors = self.actors or max(1, cpus)
        if self.gpus_per_actor and resources.get("GPU", 0) < self.gpus_per_actor * actors:
            raise RayEngineError(f"{actors} actors x {self.gpus_per_actor:g} GPU: the cluster has "
                                 f"{resources.get('GPU', 0):g} GPUs", "gpus-per-actor")
        return actors, max(1, cpus // actors) if actors <= cpus else cpus / actors

    def _run(self, todo, cfg, models, report) -> Iterator[list]:
        import ray
        from ray.data import ActorPoolStrategy

        from m2io.corpus.mramg import Dataset

        if not todo:
            return
        if models.adapter is None:
            models.bridge  # noqa: B018  (made and cached on disk here, before the actors race to make it)
        meta, records = {}, []
        for ds, doc, h in todo:
            if ds.name not in meta:
                meta[ds.name] = ray.put(Dataset(ds.name, [], images=ds.images, sources=ds.sources))
            records.append({"dataset": ds.name, "doc_id": doc.id, "content": doc.content,
                            "image_ids": json.dumps(doc.image_ids), "hash": h})
        actors, cpus = self._pool()
        data = ray.data.from_items(records, override_num_blocks=-(-len(records) // cfg.batch_docs)).map_batches(
            _Encoder, batch_size=cfg.batch_docs, batch_format="numpy", compute=ActorPoolStrategy(size=actors),
            num_cpus=cpus, num_gpus=self.gpus_per_actor or None,
            fn_constructor_kwargs=dict(meta=meta, cfg=cfg, text_model=models.text_model, image_model=models.image_model,
                                       adapter_path=models.adapter_path, threads=max(1, int(cpus))))
        options = data.context.execution_options  # this run's copy of the context: rows in todo order, no bars
        options.preserve_order, options.verbose_progress, data.context.enable_progress_bars = True, False, False
        data_log, seen = logging.getLogger("ray.data"), set()
        level = data_log.level
        data_log.setLevel(logging.ERROR)  # no notes on progress bars, plans and stats
        try:
            for batch in data.iter_batches(batch_size=cfg.batch_docs, batch_format="numpy"):
                for name, image_id, message in (s for x in batch["skipped"] for s in json.loads(x)):
                    if (name, image_id) not in seen:  # each actor has its own cache: report an image once
                        seen.add((name, image_id))
                        report.images_skipped.append(message)
                        warnings.warn(f"skipping image: {message}", stacklevel=2)
                report.encode_seconds += float(sum(batch["seconds"]))
                yield [pickle.loads(payload) for payload in batch["rows"]]
        finally:
            data_log.setLevel(level)


def ray_engine(address: str | None = None, num_cpus: int | None = None, actors: int | None = None,
               gpus_per_actor: float = 0.0) -> RayEngine:
    """A RowEngine on Ray: joins the cluster at ``address`` (``host:port``, ``ray://host:port``, ``auto``) or
    starts a local one of ``num_cpus`` CPUs; ``actors`` encoders (default: one per CPU), each with
    ``gpus_per_actor`` GPUs reserved (m2io's encoders run on CPU; this only places actors)."""
    return RayEngine(address, num_cpus, actors, gpus_per_actor)
