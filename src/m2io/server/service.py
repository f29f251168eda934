"""What the server holds for its whole life: the index, the models (loaded once) and the image registry.

Requests may come concurrently; the pipeline's models are not re-entrant, so answers are made
one at a time under a lock (retrieval and generation are CPU-bound here: threads would only
contend for the same cores). Images are served only through :attr:`AskService.image_files`:
a key per image of the index, nothing else on disk is reachable.

>>> image_key("gimp", "a/b.png") == image_key("gimp", "a/b.png") != image_key("kicad", "a/b.png")
True
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from m2io.components import INSERTERS, ComponentConfig, Components
from m2io.errors import M2IOError
from m2io.pipeline import AskResult, Draft, Pipeline, PipelineConfig
from m2io.index.sources import source_label
from m2io.render import to_json
from m2io.server.metrics import INDEX_VERSION, CacheCounts

NO_UNIFIED = "this server has no unified model (start it with m2io serve --unified-model DIR)"
log = logging.getLogger("m2io.server")


def image_key(dataset: str, image_id: str) -> str:
    """The public id of an image: opaque, URL-safe, unique per (dataset, image id)."""
    return hashlib.sha256(f"{dataset}\0{image_id}".encode()).hexdigest()[:24]


class AskService:
    def __init__(self, retriever, config: ComponentConfig = ComponentConfig(), max_k: int = 20, unified=None,
                 preload_unified: bool = True):
        """``unified``: a :class:`m2io.unified.answer.UnifiedAnswerer`, a function that loads one (called once, at
        the background warm-up, with ``preload_unified``, or the first unified question), or None (no unified
        answers)."""
        self.retriever, self.max_k = retriever, max_k
        loaded = unified is None or hasattr(unified, "ask")
        self.unified = unified if loaded else None
        self._unified_loader = None if loaded else unified
        self._unified_error: M2IOError | None = None
        self.preload_unified = preload_unified
        self.components = Components(config, retriever.models.text)
        self.lock = threading.Lock()
        self._load_images()
        self._inserters: dict[str, object] = {}
        self._loading = threading.RLock()  # re-entrant: the unified loader builds a pipeline, which loads an inserter
        self._answerer = None
        self._cache_counts = CacheCounts()
        INDEX_VERSION.set(retriever.version)

    def _load_images(self) -> None:
        """The registry of servable images: those of the snapshot answered from, and no others."""
        key_of: dict[tuple[str, str], str] = {}
        files: dict[str, Path] = {}
        for dataset, image_id, path in self.retriever.store.iter_image_files():
            if path and (dataset, image_id) not in key_of:
                key = key_of[(dataset, image_id)] = image_key(dataset, image_id)
                files[key] = Path(path).resolve()
        self._previous_files = getattr(self, "image_files", {})
        self._key_of, self.image_files, self.images_version = key_of, files, self.retriever.version

    def image_file(self, key: str) -> Path | None:
        """The file of an image key: of this snapshot, or of the one before (another worker, or a replica, may
        have answered from a newer or older snapshot than this one holds)."""
        return self.image_files.get(key) or self._previous_files.get(key)

    @contextlib.contextmanager
    def answering(self):
        """One answer at a time, from the index's newest snapshot, read in one consistent state; the answer's
        cache lookups are counted afterwards."""
        with self.lock, self.retriever.reading():
            self._follow_snapshot()
            try:
                yield
            finally:
                sections = getattr(self.retriever, "_sections", None)
                self._cache_counts.record({"sections": sections.lookups if sections else {},
                                           "text_vectors": getattr(self.retriever.models.text, "lookups", {})})

    def refresh_when_idle(self) -> bool:
        """Move to a newer snapshot now if no answer is being made (an idle worker's poll); True if it moved."""
        if not self.lock.acquire(blocking=False):
            return False
        try:
            with self.retriever.reading():
                return self._follow_snapshot()
        finally:
            self.lock.release()

    def _follow_snapshot(self) -> bool:
        """After the retriever moved to a new snapshot: its images become the servable ones. True if it moved."""
        if self.images_version == self.retriever.version:
            return False
        self._load_images()
        INDEX_VERSION.set(self.retriever.version)
        log.warning("answering from index snapshot %s", self.retriever.version)
        return True

    def warm_up(self, everything: bool = True) -> None:
        """Load the models now, so that no request pays for them: the answerer and the default inserter, and
        with ``everything`` the other inserters too (a worker loads those after it is ready).

        An inserter whose model is missing (no r1 policy in this install) is left out; asking for it
        answers 422 with the reason.
        """
        self._answerer = self._answerer or self.components.answerer(self.retriever)
        default = self.components.config.inserter
        for name in [default, *(n for n in INSERTERS if n != default)] if everything else [default]:
            try:
                self._inserter(name)
            except M2IOError as e:
                log.warning("inserter %s is not available: %s", name, e)
        if everything and self._unified_loader is not None and self.preload_unified:
            try:
                self._unified()
            except M2IOError:  # logged; a unified question then answers 422 with the reason
                pass

    def _unified(self):
        """The unified answerer, loaded once; a load that failed is remembered and named on every later ask."""
        if self.unified is None and self._unified_loader is not None and self._unified_error is None:
            with self._loading:
                if self.unified is None and self._unified_error is None:
                    try:
                        self.unified = self._unified_loader()
                    except Exception as e:  # noqa: BLE001 - any failure to load is the model's, not the request's
                        log.warning("the unified model could not be loaded: %s", e)
                        self._unified_error = M2IOError(f"the unified model could not be loaded: "
                                                        f"{type(e).__name__}: {e}")
        if self._unified_error is not None:
            raise self._unified_error
        return self.unified

    def _inserter(self, name: str):
        if name not in self._inserters:
            with self._loading:  # a request and the background warm-up never load one model twice
                if name not in self._inserters:
                    self._inserters[name] = self.components.inserter(name)
        return self._inserters[name]

    def pipeline(self, inserter: str, k: int) -> Pipeline:
        self._answerer = self._answerer or self.components.answerer(self.retriever)
        return Pipeline(self.retriever, self._answerer, self._inserter(inserter), PipelineConfig(k=k))

    @property
    def has_unified(self) -> bool:
        return self.unified is not None or self._unified_loader is not None

    def ask_unified(self, question: str, image_path: Path | None) -> dict:
        """The unified model's answer as JSON: generated images inline, corpus figures by URL."""
        *_, answer = self.stream_unified(question, image_path)
        return answer

    def stream_unified(self, question: str, image_path: Path | None) -> Iterator[dict]:
        """:meth:`ask_unified` window by window: the answer so far after each passage window (``partial``), then
        the whole answer."""
        from m2io.unified.render import to_json as unified_json

        if not self.has_unified:
            raise M2IOError(NO_UNIFIED)
        unified = self._unified()
        with self.answering():
            for answer in unified.stream(question, image_path):
                data = unified_json(answer)
                for step in data["steps"]:
                    figure = step.get("figure")
                    if figure:
                        key = self._key_of.get((figure["dataset"], figure["image_id"]))
                        figure.pop("file", None)
                        figure["url"] = f"/api/images/{key}" if key else None
                yield data

    def key_of(self, result: AskResult | Draft, image_id: str) -> str | None:
        datasets = [r.dataset for r in result.results if any(im.image_id == image_id for im in r.images)]
        return self._key_of.get((datasets[0], image_id)) if datasets else None

    def answer_json(self, result: AskResult, inserter: str) -> dict:
        """The answer as the API returns it: image URLs instead of server file paths, sources with text."""
        data = to_json(result, inserter, "onepass" if inserter == "onepass" else self.components.config.answerer)
        for item in data["placements"] + data["candidates"]:
            key = self.key_of(result, item["image_id"])
            item.pop("file", None)
            item["url"] = f"/api/images/{key}" if key else None
        data["sources"] = source_list(result.results, self.retriever.sources, result.answer.sources,
                                      result.answer.provenance)
        data.pop("source_labels", None)
        data.pop("image", None)
        return data


def source_list(results, sources: dict | None = None, order: list[str] | None = None,
                provenance: list | None = None) -> list[dict]:
    """Each source document once (in ``order`` where given: the answer's own sections first): its id, its label
    (manual and heading path), a snippet, and whether the answer's text comes from it (``in_answer``)."""
    used = {o.section for o in provenance or [] if o is not None}
    first: dict[str, object] = {}
    for r in results:
        first.setdefault(r.doc_id, r)
    out = []
    for doc_id in order if order is not None else list(first):
        r = first.get(doc_id)
        text = " ".join(r.text.replace("<PIC>", " ").split()) if r is not None else ""
        out.append({"doc_id": doc_id, "label": source_label(sources or {}, doc_id),
                    "chunk_id": r.chunk_id if r is not None else None, "snippet": text[:240],
                    "in_answer": doc_id in used})
    return out


def draft_json(service: AskService, draft: Draft) -> dict:
    """What a streaming client gets first: the text, its sources and the stage times so far."""
    order = list(dict.fromkeys([*(o.section for o in draft.provenance if o is not None),
                                *(r.doc_id for r in draft.results)]))
    return {"question": draft.question, "segments": draft.segments,
            "sources": source_list(draft.results, service.retriever.sources, order, draft.provenance),
            "provenance": [None if o is None else {"source": order.index(o.section), "section": o.section,
                                                   "position": o.position, "score": o.score}
                           for o in draft.provenance],
            "timings_ms": {k: round(v * 1000, 1) for k, v in draft.timings.items()}}
