"""Index MRAMG datasets: chunks with text vectors, images with visual and text-space vectors.

Incremental and crash-safe. Every document has a hash of what was indexed (its text, images,
captions, image bytes and the index settings); unchanged documents are skipped, changed ones
replaced, vanished ones deleted. A document's marker is written after its rows, and rows
without a marker are purged at the start of the next run, so an interrupted run resumes
without duplicates or loss.

Example::

    report = build_index([Path("data/gimp")], Path("index/gimp"), IndexConfig())
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from m2io.corpus.chunk import ChunkConfig, chunk_document, image_context_halves
from m2io.corpus.mramg import Dataset, dataset_names, read_dataset
from m2io.corpus.problems import Problems
from m2io.encoders.bridge import ImageMix, mix_vectors
from m2io.encoders.image import ImageError, load_image
from m2io.errors import DatasetError, M2IOError
from m2io.index.lexical import Bm25Index
from m2io.insert.side import side_texts, side_vectors
from m2io.sections.read import known_texts, read_section
from m2io.index.snapshot import latest_snapshot, previous_sources, prune, publish
from m2io.index.sources import merge_sources
from m2io.index.manifest import FORMAT_VERSION, MANIFEST, IndexManifest
from m2io.index.models import ADAPTER_FILE, IndexModels
from m2io.store import open_store
from m2io.store.base import SIDE_TEXTS, ChunkRow, DocRows, ImageRow
from m2io.types import PIC, Document


@dataclass
class IndexConfig:
    text_model: str | None = None
    """A sentence-transformers model folder; None = the bundled all-MiniLM-L6-v2."""
    image_model: str = "efficientnet-lite0"
    """``efficientnet-lite0`` or a CLIP/SigLIP model folder."""
    backend: str = "lancedb"
    pg_dsn: str = ""
    pg_prefix: str = "m2io"
    chunk: ChunkConfig = field(default_factory=ChunkConfig)
    mix: ImageMix = field(default_factory=ImageMix)
    adapter: Path | None = None
    """An image adapter (``m2io train image-adapter``); default: ``<index>/image_adapter.npz`` if present."""
    batch_docs: int = 16
    max_docs: int | None = None
    """Stop after this many documents were written (for tests of interrupted runs)."""


@dataclass
class IndexReport:
    documents: int = 0
    indexed: int = 0
    unchanged: int = 0
    deleted: int = 0
    purged: int = 0
    chunks: int = 0
    images: int = 0
    images_skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    encode_seconds: float = 0.0


def embedding_text(chunk_text: str, captions: list[str], heading: str, first: bool) -> str:
    """What the text encoder reads for a chunk: heading for context, captions where images stand."""
    it = iter(captions)
    text = re.sub(re.escape(PIC), lambda _: f"[image: {next(it, '')}]", chunk_text)
    return text if first or not heading else f"{heading}\n{text}"


def _doc_hash(ds: Dataset, doc: Document, signature: dict, image_sha: dict[str, str]) -> str:
    images = [[i, ds.images[i].caption if i in ds.images else "", image_sha.get(i, "")] for i in doc.image_ids]
    payload = json.dumps([signature, ds.name, doc.id, doc.content, images], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _image_sha(ds: Dataset) -> dict[str, str]:
    out = {}
    for image in ds.images.values():
        if image.path is not None and image.path.is_file():
            out[image.id] = hashlib.sha1(image.path.read_bytes()).hexdigest()
    return out


def _load_datasets(folders: list[Path], report: IndexReport) -> list[tuple[Path, Dataset]]:
    datasets = []
    for folder in folders:
        for name in dataset_names(folder) or [None]:
            if name is None:
                raise DatasetError("no doc_<name>.jsonl here: not an MRAMG dataset, or an empty folder", folder)
            problems = Problems(strict=False)
            ds = read_dataset(folder, name, problems)
            for kind, err in problems.errors:
                if kind in ("missing_image", "unreadable_image"):
                    continue  # reported once, when the image is skipped
                report.problems.append(str(err))
            if not ds.documents:
                raise DatasetError("empty corpus: no documents to index", folder)
            datasets.append((folder, ds))
    names = [d.name for _, d in datasets]
    if len(set(names)) != len(names):
        raise M2IOError(f"two datasets share a name: {names}")
    return datasets


class _ImageCache:
    """Visual features and text-space vectors of each image file, computed once per run."""

    def __init__(self, models: IndexModels, report: IndexReport):
        self.models, self.report = models, report
        self.visual: dict[tuple[str, str], np.ndarray | None] = {}
        self.text: dict[tuple[str, str], np.ndarray | None] = {}

    def fill(self, ds: Dataset, image_ids: list[str]) -> None:
        todo = [i for i in dict.fromkeys(image_ids) if (ds.name, i) not in self.visual]
        loaded, keys = [], []
        for image_id in todo:
            image = ds.images.get(image_id)
            key = (ds.name, image_id)
            try:
                if image is None or image.path is None:
                    raise ImageError(f"{ds.name}: image {image_id!r}: file missing")
                loaded.append(load_image(image.path))
                keys.append(key)
            except ImageError as e:
                self.visual[key] = self.text[key] = None
                self.report.images_skipped.append(str(e))
                warnings.warn(f"skipping image: {e}", stacklevel=2)
        if loaded:
            feats = self.models.image.encode(loaded)
            text = self.models.image_text_vectors(feats)
            for n, key in enumerate(keys):
                self.visual[key] = feats.visual[n]
                self.text[key] = None if text is None else text[n]


def _doc_rows(ds: Dataset, doc: Document, doc_hash: str, cfg: IndexConfig, models: IndexModels,
              cache: _ImageCache) -> DocRows:
    key = f"{ds.name}/{doc.id}"
    chunks = chunk_document(doc, cfg.chunk)
    halves = image_context_halves(doc, cfg.chunk)
    contexts = {i: f"{a} {b}".strip() for i, (a, b) in halves.items()}
    heading = doc.content.split("\n", 1)[0][:200]
    captions = {i: ds.images[i].caption if i in ds.images else "" for i in doc.image_ids}
    cache.fill(ds, doc.image_ids)
    rows = DocRows(key, ds.name, doc_hash)
    texts = [embedding_text(c.text, [captions[i] for i in c.image_ids], heading, n == 0) for n, c in enumerate(chunks)]
    for c, text in zip(chunks, texts):
        rows.chunks.append(ChunkRow(f"{ds.name}/{c.id}", key, ds.name, c.text, list(c.image_ids), text))
    # What depends on the image, not the occurrence, is embedded once per distinct image: its side texts (caption,
    # context, ...), with the chunks' texts in one encoder call.
    distinct = list(dict.fromkeys(doc.image_ids))
    flat = [t for i in distinct for t in side_texts(captions[i], contexts.get(i, ""), *halves.get(i, ("", "")))]
    # What answers read of the section (its sentences, title and opening), exactly as the section reader will
    # rebuild it from these rows, is embedded now too.
    source = ds.sources.get(doc.id)
    section = read_section(key, rows.chunks, [], source.heading_path if source is not None else None)
    known = known_texts(section, len(rows.chunks))
    both = side_vectors(models.text, texts + flat + [t for group in known for t in group])
    vectors, sides = both[:len(texts)], both[len(texts):len(texts) + len(flat)].reshape(
        len(distinct), SIDE_TEXTS, models.text.dim)
    at = len(texts) + len(flat)
    for row, vec, group in zip(rows.chunks, vectors, known):
        row.vector, row.known = vec, both[at:at + len(group)]
        at += len(group)
    semantic_of, side_vecs = {}, {}
    for n, image_id in enumerate(distinct):
        cap_vec = sides[n, 0] if captions[image_id].strip() else None
        ctx_vec = sides[n, 1] if contexts.get(image_id, "").strip() else None
        side_vecs[image_id] = sides[n]
        parts = [cache.text.get((ds.name, image_id)), cap_vec, ctx_vec]
        semantic_of[image_id] = mix_vectors(parts, cfg.mix) if any(p is not None for p in parts) else np.zeros(
            models.text.dim, np.float32)
    occurrences = [(c, k, i) for c in chunks for k, i in enumerate(c.image_ids)]
    for c, k, image_id in occurrences:
        ck = (ds.name, image_id)
        semantic = semantic_of[image_id]
        image = ds.images.get(image_id)
        visual = cache.visual.get(ck)
        rows.images.append(ImageRow(
            id=f"{ds.name}/{c.id}#{k}", image_id=image_id, doc_id=key, chunk_id=f"{ds.name}/{c.id}", dataset=ds.name,
            caption=captions[image_id], context=contexts.get(image_id, ""),
            above=halves.get(image_id, ("", ""))[0], below=halves.get(image_id, ("", ""))[1],
            path=str(image.path.resolve()) if image and image.path else "", has_visual=visual is not None,
            visual=visual, semantic=semantic, side=side_vecs[image_id]))
    return rows


def _upgrade_in_place(out: Path, version: int, models: IndexModels, cfg: IndexConfig) -> None:
    """An index of an older format: its rows are dropped (every document is indexed again, into the same folder
    or tables); the manifest is rewritten by the run that follows."""
    import shutil

    warnings.warn(f"{out}: index format {version} -> {FORMAT_VERSION}, upgrading in place: every document is "
                  "indexed again", stacklevel=3)
    data = json.loads((out / MANIFEST).read_text())
    backend = data.get("backend", "lancedb")
    if backend == "lancedb":
        shutil.rmtree(out / "lance", ignore_errors=True)
    else:
        store = open_store(backend, out, models.text.dim, models.image.visual_dim, cfg.pg_dsn,
                           data.get("pg_prefix") or cfg.pg_prefix)
        try:
            store.reset()
        finally:
            store.close()
    for old in [*out.glob("bm25*"), *out.glob("sources*.json")]:
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    (out / MANIFEST).unlink()


class _StoppedEarly(Exception):
    """``IndexConfig.max_docs`` reached: the run ends as an interrupted one would."""


Todo = list[tuple[Dataset, Document, str]]
"""The documents to (re)index: their dataset, the document and its hash."""
RowEngine = Callable[[Todo, IndexConfig, IndexModels, IndexReport], Iterator[list[DocRows]]]
"""What turns the documents to index into rows, batch by batch (in any order; each batch is written as it comes).
It adds its encoding time and skipped images to the report."""


def encode_local(todo: Todo, cfg: IndexConfig, models: IndexModels, report: IndexReport) -> Iterator[list[DocRows]]:
    """The single-process engine: ``cfg.batch_docs`` documents at a time, in this process."""
    cache = _ImageCache(models, report)
    for i in range(0, len(todo), cfg.batch_docs):
        t0 = time.perf_counter()
        rows = [_doc_rows(ds, doc, h, cfg, models, cache) for ds, doc, h in todo[i:i + cfg.batch_docs]]
        report.encode_seconds += time.perf_counter() - t0
        yield rows


def build_index(folders: list[Path], out: Path, cfg: IndexConfig, progress: bool = True,
                models: IndexModels | None = None, engine: RowEngine | None = None) -> IndexReport:
    """Index the MRAMG datasets in ``folders`` into the index folder ``out``.

    ``models`` lets a long-lived process reuse loaded encoders (they must match ``cfg``); ``engine`` encodes
    the documents (default :func:`encode_local`; :mod:`m2io.index.ray_engine` spreads them over Ray actors).
    """
    start = time.perf_counter()
    out = Path(out)
    report = IndexReport()
    sources = _load_datasets([Path(f) for f in folders], report)
    datasets = [ds for _, ds in sources]
    adapter = cfg.adapter or (out / ADAPTER_FILE)
    if models is None:
        models = IndexModels(cfg.text_model, cfg.image_model, adapter)
    if cfg.adapter is not None and models.adapter_path is None:
        raise M2IOError(f"{cfg.adapter}: image adapter not found")
    wanted = IndexManifest(text_encoder=models.text.name, text_dim=models.text.dim, image_encoder=models.image.name,
                           visual_dim=models.image.visual_dim, backend=cfg.backend,
                           pg_prefix=cfg.pg_prefix if cfg.backend == "pgvector" else "",
                           max_tokens=cfg.chunk.max_tokens, context_words=cfg.chunk.context_words,
                           mix=vars(cfg.mix).copy(), adapter_sha256=models.adapter_sha256,
                           text_model=str(cfg.text_model or ""), image_model=str(cfg.image_model))
    old = IndexManifest.stored_version(out)
    if old is not None and old < FORMAT_VERSION:
        _upgrade_in_place(out, old, models, cfg)
    if (out / MANIFEST).exists():
        manifest = IndexManifest.load(out)
        manifest.check_compatible(wanted)
        for key in IndexManifest.SETTINGS + ("text_model", "image_model"):  # new settings re-index every document
            setattr(manifest, key, getattr(wanted, key))
    else:
        out.mkdir(parents=True, exist_ok=True)
        manifest = wanted
    manifest.complete = False
    manifest.datasets.update({ds.name: str(folder.resolve()) for folder, ds in sources})
    manifest.save(out)

    store = open_store(cfg.backend, out, models.text.dim, models.image.visual_dim, cfg.pg_dsn, cfg.pg_prefix)
    try:
        with contextlib.suppress(_StoppedEarly), store.build_transaction():  # pgvector: readers see the whole run at commit; LanceDB: snapshots pin
            report.purged = store.purge_unmarked()
            stored = store.doc_hashes()
            signature = manifest.signature()
            todo, current = [], set()
            for ds in datasets:
                shas = _image_sha(ds)
                for doc in ds.documents:
                    key = f"{ds.name}/{doc.id}"
                    current.add(key)
                    h = _doc_hash(ds, doc, signature, shas)
                    if stored.get(key) == h:
                        report.unchanged += 1
                    else:
                        todo.append((ds, doc, h))
            report.documents = len(current)
            names = {ds.name for ds in datasets}
            gone = [k for k in stored if k.split("/", 1)[0] in names and k not in current]
            bar = tqdm(total=len(todo), desc="index", unit="doc", disable=not progress, file=sys.stderr)
            for rows in (engine or encode_local)(todo, cfg, models, report):
                if cfg.max_docs is not None and report.indexed >= cfg.max_docs:
                    break
                store.write(rows)
                report.indexed += len(rows)
                report.chunks += sum(len(r.chunks) for r in rows)
                report.images += sum(len(r.images) for r in rows)
                bar.update(len(rows))
                bar.set_postfix(chunks=report.chunks, images=report.images)
            bar.close()
            if cfg.max_docs is not None and report.indexed < len(todo):
                raise _StoppedEarly  # as a crash would: pgvector rolls the run back; no snapshot is published
            if gone:
                store.delete_docs(gone)
                report.deleted = len(gone)
            keep = (set(stored) | current) - set(gone)  # what the store holds now, without scanning it again
            new_sources = {f"{ds.name}/{doc_id}": src for ds in datasets for doc_id, src in ds.sources.items()}
            previous = latest_snapshot(manifest.snapshot, store)
            old_sources = previous_sources(out, previous, store)
            sources = merge_sources(old_sources, new_sources, keep)
            published = None
            if (report.indexed or report.deleted or report.purged or not previous.version
                    or store.versions() != previous.tables  # rows an interrupted run wrote after the last snapshot
                    or sources != {k: v for k, v in old_sources.items() if k in keep}):  # relabelled pages
                if hasattr(store, "compact"):
                    store.compact()
                published = publish(out, previous, store, Bm25Index.build(list(store.iter_chunk_texts())), sources)
                manifest.snapshot = published.as_dict()
        if cfg.max_docs is not None and report.indexed < len(todo):
            return report  # the index stays marked incomplete
        manifest.complete = True
        manifest.save(out)
        if published is not None and cfg.backend == "lancedb":
            prune(out, published, previous, store)
    finally:
        store.close()
        report.seconds = time.perf_counter() - start
    return report
