"""Hybrid retrieval over an m2io index: text, image, or both in one query.

Ranked lists of chunks, fused by weighted reciprocal rank fusion (RRF,
``score = sum_i w_i / (rrf_k + rank_i)``, ranks from 1; weights in :class:`RetrievalConfig`):

- ``dense``: the query text's vector against chunk vectors;
- ``bm25``: the query text against chunk texts;
- ``text_to_image``: the query text against images' text-space vectors (caption + context +
  visual), each image voting for its chunk;
- ``image_visual``: the query image's visual vector against images' visual vectors;
- ``image_semantic``: the query image's text-space vector against chunk vectors;
- ``document``: every candidate chunk ranked by the best rank of its document in the fusion
  of the lists above (parent-document boosting: the other chunks of the best documents, and
  their images, come up together).

A query image that *is* a corpus image (visual cosine >= ``same_image``, near-duplicates
included) puts the chunks that hold it first: whoever shows a corpus image wants its source.

>>> r = Retriever.open("index/gimp")                                # doctest: +SKIP
>>> [h.doc_id for h in r.search("How do I align layers?", k=3)]     # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from m2io.encoders.image import load_image
from m2io.errors import M2IOError
from m2io.index.lexical import Bm25Index
from m2io.index.snapshot import Snapshot, open_view, published_version
from m2io.index.manifest import MANIFEST, IndexIncompatible, IndexManifest
from m2io.index.models import ADAPTER_FILE, IndexModels
from m2io.store import open_store
from m2io.store.base import ChunkRow, Hit, ImageRow, Store

log = logging.getLogger("m2io.retrieve")


@dataclass(frozen=True)
class RetrievalConfig:
    # Weights tuned on 300 GIMP questions (seed 0); bench/RESULTS.md reports all of GIMP and KiCad.
    depth: int = 50
    """How many candidates each list contributes to the fusion."""
    rrf_k: float = 20.0
    dense: float = 1.0
    bm25: float = 1.0
    text_to_image: float = 1.0
    image_visual: float = 1.0
    image_semantic: float = 0.5
    document: float = 0.5
    same_image: float = 0.97
    """Visual cosine at or above which a query image counts as the corpus image itself."""


@dataclass
class RetrievedImage:
    image_id: str
    caption: str
    context: str
    path: str
    score: float | None = None
    """Best similarity of this image to the query (text-to-image or visual), where measured."""
    above: str = ""
    """The halves of ``context``: the text above the image in its document, and below it."""
    below: str = ""


@dataclass
class Result:
    chunk_id: str
    doc_id: str
    dataset: str
    text: str
    score: float
    images: list[RetrievedImage] = field(default_factory=list)
    """The chunk's distinct images, in order of first appearance (``text`` keeps every ``<PIC>``)."""
    ranks: dict[str, int] = field(default_factory=dict)
    """This chunk's rank in each list that found it (provenance of the score)."""
    pic_ids: list[str] = field(default_factory=list)
    """The image of each ``<PIC>`` mark of ``text``, in order (an image may stand more than once)."""

    @property
    def source_doc(self) -> str:
        """The document id inside its dataset (without the ``<dataset>/`` prefix)."""
        return self.doc_id.split("/", 1)[1]


def rrf(lists: dict[str, list[str]], weights: dict[str, float], k: float) -> tuple[dict[str, float], dict[str, dict]]:
    """Weighted reciprocal rank fusion of ranked id lists.

    >>> scores, ranks = rrf({"a": ["x", "y"], "b": ["y"]}, {"a": 1.0, "b": 1.0}, k=60)
    >>> sorted(scores, key=scores.get, reverse=True), ranks["y"]
    (['y', 'x'], {'a': 2, 'b': 1})
    """
    scores: dict[str, float] = {}
    ranks: dict[str, dict] = {}
    for name, ids in lists.items():
        for rank, item in enumerate(ids, 1):
            scores[item] = scores.get(item, 0.0) + weights.get(name, 0.0) / (k + rank)
            ranks.setdefault(item, {})[name] = rank
    return scores, ranks


def _document_order(scores: dict[str, float]) -> list[str]:
    """Chunks ordered by their document's best-ranked chunk, then by their own rank.

    >>> _document_order({"d1::0": 0.5, "d2::0": 0.9, "d1::1": 0.1, "d2::3": 0.2})
    ['d2::0', 'd2::3', 'd1::0', 'd1::1']
    """
    order = sorted(scores, key=lambda c: (-scores[c], c))
    position = {c: n for n, c in enumerate(order)}
    doc_rank: dict[str, int] = {}
    for n, chunk_id in enumerate(order):
        doc_rank.setdefault(chunk_id.rsplit("::", 1)[0], n)
    return sorted(order, key=lambda c: (doc_rank[c.rsplit("::", 1)[0]], position[c]))


class Retriever:
    def __init__(self, store: Store, bm25: Bm25Index | None, models: IndexModels, manifest: IndexManifest,
                 config: RetrievalConfig = RetrievalConfig()):
        self.store, self.bm25, self.models, self.manifest, self.config = store, bm25, models, manifest, config
        self.last_timings: dict[str, float] = {}
        self.sources: dict = {}  # document key -> DocSource, for people (answers' source lists)
        self.version = 0
        """The index snapshot answered from (:mod:`m2io.index.snapshot`)."""
        self.index: Path | None = None
        self._manifest_seen: tuple | None = None  # the manifest file's (inode, mtime, size) when last read

    @classmethod
    def open(cls, index: str | Path, config: RetrievalConfig = RetrievalConfig(), pg_dsn: str = "",
             text_model: str | None = None) -> "Retriever":
        """Open an index folder with the models its manifest names (``text_model`` overrides the path)."""
        index = Path(index)
        manifest = IndexManifest.load(index)
        models = IndexModels(text_model or manifest.text_model or None, manifest.image_model, index / ADAPTER_FILE)
        if models.text.name != manifest.text_encoder or models.text.dim != manifest.text_dim:
            raise IndexIncompatible(f"{index}: built with text encoder {manifest.text_encoder!r} "
                                    f"({manifest.text_dim}-d), but {models.text.name!r} ({models.text.dim}-d) is loaded")
        if models.adapter_sha256 != manifest.adapter_sha256:
            raise IndexIncompatible(f"{index}: the image adapter changed since this index was built; run m2io index again")
        snapshot = Snapshot.of(manifest.snapshot)
        if not manifest.complete:
            warnings.warn(f"{index}: an indexing run is writing, or did not finish; answering from snapshot "
                          f"{snapshot.version} (run m2io index again if none is running)", stacklevel=2)
        store = open_store(manifest.backend, index, manifest.text_dim, manifest.visual_dim, pg_dsn,
                           manifest.pg_prefix or "m2io")
        view = open_view(index, snapshot, store)
        retriever = cls(store, view.bm25, models, manifest, config)
        retriever.sources, retriever.version, retriever.index = view.sources, view.version, index
        return retriever

    def refresh(self) -> bool:
        """Answer from the index's newest published snapshot from now on (True: it changed).

        Not thread-safe: call it between searches (:meth:`reading` does). A snapshot that cannot be loaded
        (removed meanwhile by two newer runs) is logged, and this one kept until the next call.
        """
        if self.index is None:
            return False
        seen = None
        if not hasattr(self.store, "snapshot_version"):  # LanceDB: the manifest is parsed only when its file changed
            try:
                st = (self.index / MANIFEST).stat()
            except OSError:
                return False
            seen = (st.st_ino, st.st_mtime_ns, st.st_size)
            if seen == self._manifest_seen:
                return False
        latest = published_version(self.index, self.store)
        if latest < 0:
            return False
        if latest == self.version:
            self._manifest_seen = seen
            return False
        store = None
        try:
            if hasattr(self.store, "snapshot_version"):  # pgvector: the same connection, a new BM25 index and sources
                store, view = self.store, open_view(self.index, Snapshot(), self.store)
            else:
                manifest = IndexManifest.load(self.index)
                store = open_store(manifest.backend, self.index, manifest.text_dim, manifest.visual_dim)
                view = open_view(self.index, Snapshot.of(manifest.snapshot), store)
        except Exception as e:  # noqa: BLE001 (whatever a half-removed snapshot raises: keep answering)
            if store is not None and store is not self.store:
                store.close()
            log.warning("%s: snapshot %s not loaded (%s); answering from snapshot %s", self.index, latest, e,
                        self.version)
            return False
        old = self.store
        self.store, self.bm25, self.sources, self.version = store, view.bm25, view.sources, view.version
        self._manifest_seen = seen
        if getattr(self, "_sections", None) is not None:  # the answerers hold this reader: point it at the new rows
            self._sections.store, self._sections.sources = store, view.sources
            self._sections._cache.clear()
        if old is not store:
            old.close()
        return True

    @contextlib.contextmanager
    def reading(self):
        """Refresh to the newest snapshot, then read one consistent state of it (pgvector: one REPEATABLE READ
        transaction, whatever commits meanwhile) until the block ends."""
        with self.store.read_view():
            self.refresh()
            yield self

    def search(self, text: str | None = None, image: str | Path | None = None, k: int = 10) -> list[Result]:
        """Top-``k`` chunks for a text, an image file, or both."""
        if not (text and text.strip()) and image is None:
            raise M2IOError("a query needs text, an image, or both")
        cfg, timings = self.config, {}
        lists: dict[str, list[str]] = {}
        image_scores: dict[str, float] = {}
        first: list[str] = []
        t0 = time.perf_counter()
        if text and text.strip():
            qvec = self.models.text.encode([text])[0]
            timings["encode_text"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            lists["dense"] = [h.id for h in self.store.search_chunks(qvec, cfg.depth)]
            if self.bm25 is not None:
                lists["bm25"] = [h.id for h in self.bm25.search(text, cfg.depth)]
            if cfg.text_to_image:
                hits = self._image_hits(qvec, "semantic", image_scores)
                lists["text_to_image"] = list(dict.fromkeys(row.chunk_id for _, row in hits))
            timings["search_text"] = time.perf_counter() - t1
        if image is not None:
            t2 = time.perf_counter()
            feats = self.models.image.encode([load_image(image)])
            timings["encode_image"] = time.perf_counter() - t2
            t3 = time.perf_counter()
            hits = self._image_hits(feats.visual[0], "visual", image_scores)
            lists["image_visual"] = list(dict.fromkeys(row.chunk_id for _, row in hits))
            first = list(dict.fromkeys(row.chunk_id for h, row in hits if h.score >= cfg.same_image))
            semantic = self.models.image_text_vectors(feats)
            if semantic is not None and cfg.image_semantic:
                lists["image_semantic"] = [h.id for h in self.store.search_chunks(semantic[0], cfg.depth)]
            timings["search_image"] = time.perf_counter() - t3
        weights = {"dense": cfg.dense, "bm25": cfg.bm25, "text_to_image": cfg.text_to_image,
                   "image_visual": cfg.image_visual, "image_semantic": cfg.image_semantic}
        scores, ranks = rrf(lists, weights, cfg.rrf_k)
        if cfg.document:
            lists["document"] = _document_order(scores)
            weights["document"] = cfg.document
            scores, ranks = rrf(lists, weights, cfg.rrf_k)
        boost = max(scores.values(), default=0.0) + 1.0
        for n, chunk_id in enumerate(first):  # the query image itself: its chunks first, in visual order
            scores[chunk_id] = boost + (len(first) - n)
        top = sorted(scores, key=lambda c: (-scores[c], c))[:k]
        t4 = time.perf_counter()
        results = self._results(top, scores, ranks, image_scores)
        timings["fetch"] = time.perf_counter() - t4
        timings["total"] = time.perf_counter() - t0
        self.last_timings = timings
        return results

    def _image_hits(self, vector, column: str, image_scores: dict[str, float]) -> list[tuple[Hit, ImageRow]]:
        """Image rows nearest ``vector`` (best first); each image's best similarity goes into ``image_scores``."""
        hits = self.store.search_images(vector, self.config.depth, column)
        rows = self.store.images([h.id for h in hits])
        found = [(h, rows[h.id]) for h in hits if h.id in rows]
        for h, row in found:
            image_scores[row.image_id] = max(image_scores.get(row.image_id, -1.0), h.score)
        return found

    def _results(self, ids: list[str], scores: dict, ranks: dict, image_scores: dict) -> list[Result]:
        chunks: dict[str, ChunkRow] = self.store.chunks(ids)
        by_chunk: dict[str, list[ImageRow]] = {}
        for row in self.store.images_of_chunks(ids):
            by_chunk.setdefault(row.chunk_id, []).append(row)
        out = []
        for cid in ids:
            c = chunks.get(cid)
            if c is None:
                continue
            distinct: dict[str, ImageRow] = {}
            for r in by_chunk.get(cid, []):  # rows come in order of appearance; the first of each image wins
                distinct.setdefault(r.image_id, r)
            images = [RetrievedImage(r.image_id, r.caption, r.context, r.path, image_scores.get(r.image_id),
                                     r.above, r.below)
                      for r in distinct.values()]
            out.append(Result(cid, c.doc_id, c.dataset, c.text, float(scores[cid]), images, ranks.get(cid, {}),
                              list(c.image_ids)))
        return out

    @property
    def sections(self):
        """A :class:`m2io.sections.read.SectionReader` of this index (made once; it keeps recent sections)."""
        if getattr(self, "_sections", None) is None:
            from m2io.sections.read import SectionReader

            self._sections = SectionReader(self.store, self.sources, encoder=self.models.text)
        return self._sections

    def close(self) -> None:
        self.store.close()

