"""Read and write the MRAMG-Bench on-disk format.

A dataset folder holds, for a dataset called ``name``::

    doc_<name>.jsonl                       one [doc_id, content, images_list] per line
                                           (or {"id", "content", "images_list"})
    <name>_mqa.jsonl                       {id, question, provenance, ground_truth, images_list}
    images_info/<name>_imgs_collection.json   {image_id: {"image_path", "image_caption"}}
    images/<NAME>/<file>                   the image files
    <name>_sources.jsonl                   optional: each document's manual, page and heading path
                                           (:mod:`m2io.corpus.sources`)

Example (a round trip through a temporary folder):

>>> import tempfile, pathlib
>>> from m2io.types import Document, Image, QAItem
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.png").write_bytes(b"not checked here")
>>> ds = Dataset(name="demo",
...     documents=[Document("1", "Intro <PIC> end", ["7"])],
...     qa=[QAItem("1", "What?", ["1"], "Intro <PIC> end", ["7"])],
...     images={"7": Image("7", d / "a.png", "a caption")})
>>> write_dataset(ds, d / "out")
>>> back = read_dataset(d / "out")
>>> back.documents == ds.documents and back.qa == ds.qa
True
"""
from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from m2io.atomic import atomic_dir
from m2io.corpus.problems import Problems
from m2io.corpus.sources import read_sources, write_sources
from m2io.errors import DatasetError
from m2io.types import PIC, DocSource, Document, Image, QAItem

_DOC_FILE = re.compile(r"^doc_(.+)\.jsonl$")


@dataclass(frozen=True)
class IdStyle:
    """Whether each kind of id was written as a JSON int (MRAMG-Bench uses both)."""

    doc_int: bool = False
    image_int: bool = False
    qa_int: bool = False


@dataclass
class Dataset:
    """One MRAMG dataset: documents, QA items and the image collection."""

    name: str
    documents: list[Document]
    qa: list[QAItem] = field(default_factory=list)
    images: dict[str, Image] = field(default_factory=dict)
    id_style: IdStyle = field(default_factory=IdStyle)
    sources: dict[str, DocSource] = field(default_factory=dict)
    """Where each document comes from (page title, heading path), for people; may be empty."""


def doc_path(root: Path, name: str) -> Path:
    return Path(root) / f"doc_{name}.jsonl"


def qa_path(root: Path, name: str) -> Path:
    return Path(root) / f"{name}_mqa.jsonl"


def collection_path(root: Path, name: str) -> Path:
    return Path(root) / "images_info" / f"{name}_imgs_collection.json"


def image_dir(root: Path, name: str) -> Path:
    return Path(root) / "images" / name.upper()


def dataset_names(root: Path) -> list[str]:
    """Names of the datasets in ``root`` (one per ``doc_<name>.jsonl``), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError("not a folder", path=root)
    return sorted(m.group(1) for p in root.iterdir() if (m := _DOC_FILE.match(p.name)))


def _id(value: object, path: Path, line: int | None, fld: str) -> tuple[str, bool]:
    """Return an id as str, and whether it was an int; reject other JSON types."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise DatasetError(f"id must be a string or an int, got {value!r}", path, line, fld)
    return str(value), isinstance(value, int)


def _jsonl(path: Path, problems: Problems) -> Iterator[tuple[int, object]]:
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as e:
                problems.error("encoding", DatasetError(f"not UTF-8 (byte {e.start}: {raw[e.start:e.start + 1]!r})",
                                                        path, lineno))
                continue
            if not text.strip():
                continue
            try:
                yield lineno, json.loads(text)
            except json.JSONDecodeError as e:
                problems.error("malformed_json", DatasetError(f"malformed JSON ({e.msg})", path, lineno))


def _parse_doc(obj: object, path: Path, line: int) -> tuple[Document, bool, bool]:
    if isinstance(obj, list):
        if len(obj) != 3:
            raise DatasetError(f"a document array needs 3 items [id, content, images_list], got {len(obj)}",
                               path, line)
        raw_id, content, images = obj
    elif isinstance(obj, dict):
        missing = [k for k in ("id", "content") if k not in obj]
        if missing:
            raise DatasetError(f"missing key(s) {missing}", path, line)
        raw_id, content, images = obj["id"], obj["content"], obj.get("images_list", [])
    else:
        raise DatasetError(f"a document is an array or an object, got {type(obj).__name__}", path, line)
    doc_id, doc_int = _id(raw_id, path, line, "id")
    if not isinstance(content, str):
        raise DatasetError("content must be a string", path, line, "content")
    if not isinstance(images, list):
        raise DatasetError("images_list must be a list", path, line, "images_list")
    ids = [_id(v, path, line, "images_list") for v in images]
    img_int = bool(ids) and all(is_int for _, is_int in ids)
    return Document(doc_id, content, [i for i, _ in ids]), doc_int, img_int


def _parse_qa(obj: object, path: Path, line: int) -> tuple[QAItem, bool, bool]:
    if not isinstance(obj, dict):
        raise DatasetError(f"a QA item is an object, got {type(obj).__name__}", path, line)
    missing = [k for k in ("id", "question", "provenance", "ground_truth") if k not in obj]
    if missing:
        raise DatasetError(f"missing key(s) {missing}", path, line)
    qa_id, qa_int = _id(obj["id"], path, line, "id")
    for key in ("question", "ground_truth"):
        if not isinstance(obj[key], str):
            raise DatasetError("must be a string", path, line, key)
    prov = obj["provenance"]
    prov = prov if isinstance(prov, list) else [prov]
    images = obj.get("images_list", [])
    if not isinstance(images, list):
        raise DatasetError("images_list must be a list", path, line, "images_list")
    ids = [_id(v, path, line, "images_list") for v in images]
    img_int = bool(ids) and all(is_int for _, is_int in ids)
    item = QAItem(qa_id, obj["question"], [_id(p, path, line, "provenance")[0] for p in prov],
                  obj["ground_truth"], [i for i, _ in ids])
    return item, qa_int, img_int


def _resolve_image(root: Path, name: str, raw: str) -> Path | None:
    """Find an image file the way MRAMG datasets in the wild refer to them."""
    p = Path(raw)
    candidates = [p] if p.is_absolute() else [root / p]
    images = root / "images"
    if images.is_dir():
        for sub in images.iterdir():
            if sub.name.lower() == name.lower():
                candidates += [sub / p, sub / p.name]
    return next((c for c in candidates if c.is_file()), None)


def _read_collection(root: Path, name: str, problems: Problems) -> dict[str, Image]:
    path = collection_path(root, name)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        problems.error("malformed_json", DatasetError(f"malformed JSON ({e.msg})", path, e.lineno))
        return {}
    except UnicodeDecodeError as e:
        problems.error("encoding", DatasetError(f"not UTF-8 (byte offset {e.start})", path))
        return {}
    if not isinstance(data, dict):
        problems.error("bad_record", DatasetError("the image collection must be a JSON object", path))
        return {}
    images = {}
    for image_id, info in data.items():
        if not isinstance(info, dict) or not isinstance(info.get("image_path"), str):
            problems.error("bad_record", DatasetError("needs an object with a string image_path", path,
                                                      field=image_id))
            continue
        caption = info.get("image_caption") or ""
        found = _resolve_image(root, name, info["image_path"])
        if found is not None and not found.resolve().is_relative_to(root.resolve()):
            problems.error("outside_corpus", DatasetError(
                f"image file lies outside the corpus folder (a link or an absolute path): {info['image_path']}",
                path, field=image_id))
            found = None
        elif found is None:
            problems.error("missing_image", DatasetError(
                f"image file not found: {info['image_path']}", path, field=image_id))
        images[image_id] = Image(image_id, found, caption if isinstance(caption, str) else str(caption))
    return images


def _records(path: Path, parse, what: str, problems: Problems) -> Iterator[tuple[int, object, bool, bool]]:
    """Parsed records of a JSONL file; bad and duplicate ones are reported and skipped."""
    seen = set()
    for line, obj in _jsonl(path, problems):
        try:
            record, id_int, image_int = parse(obj, path, line)
        except DatasetError as e:
            problems.error("bad_record", e)
            continue
        if record.id in seen:
            problems.error("duplicate_id", DatasetError(f"duplicate {what} id {record.id!r}", path, line, "id"))
            continue
        seen.add(record.id)
        yield line, record, id_int, image_int


def _check_known(ids: list[str], known, what: str, problems: Problems, path: Path, line: int, fld: str) -> None:
    """Report ids that are not in ``known`` as problems of kind ``unknown_<what>``."""
    for value in ids:
        if value not in known:
            problems.error(f"unknown_{what}", DatasetError(f"unknown {what} id {value!r}", path, line, fld))


def read_dataset(root: Path, name: str | None = None, problems: Problems | None = None) -> Dataset:
    """Read the dataset ``name`` from folder ``root`` (the only one there if ``name`` is None).

    Strict by default: the first problem raises :class:`DatasetError` naming file and line.
    Pass ``Problems(strict=False)`` to collect every problem instead.
    """
    root = Path(root)
    problems = problems if problems is not None else Problems(strict=True)
    if name is None:
        names = dataset_names(root)
        if not names:
            raise DatasetError("no doc_<name>.jsonl here: not an MRAMG dataset, or an empty folder", root)
        if len(names) > 1:
            raise DatasetError(f"several datasets here {names}; name one", root)
        name = names[0]
    dpath = doc_path(root, name)
    if not dpath.is_file():
        raise DatasetError("document file not found", dpath)

    images = _read_collection(root, name, problems)
    docs, doc_ints, img_ints = [], [], []
    for line, doc, doc_int, img_int in _records(dpath, _parse_doc, "document", problems):
        if doc.pic_count != len(doc.image_ids):
            problems.error("pic_mismatch", DatasetError(
                f"document {doc.id!r} has {doc.pic_count} {PIC} marks but {len(doc.image_ids)} images",
                dpath, line, "images_list"))
        _check_known(doc.image_ids, images, "image", problems, dpath, line, "images_list")
        docs.append(doc)
        doc_ints.append(doc_int)
        if doc.image_ids:
            img_ints.append(img_int)
    if not docs and not problems.errors:
        problems.error("empty", DatasetError("empty corpus: no documents", dpath))

    qa, qa_ints = [], []
    qpath = qa_path(root, name)
    doc_ids = {d.id for d in docs}
    if qpath.is_file():
        for line, item, qa_int, img_int in _records(qpath, _parse_qa, "QA", problems):
            _check_known(item.provenance, doc_ids, "doc", problems, qpath, line, "provenance")
            _check_known(item.image_ids, images, "image", problems, qpath, line, "images_list")
            marks = item.ground_truth.count(PIC)
            if marks and marks != len(item.image_ids):
                problems.error("pic_mismatch", DatasetError(
                    f"ground_truth has {marks} {PIC} marks but images_list has {len(item.image_ids)}",
                    qpath, line, "ground_truth"))
            qa.append(item)
            qa_ints.append(qa_int)
            if item.image_ids:
                img_ints.append(img_int)

    style = IdStyle(doc_int=bool(doc_ints) and all(doc_ints), image_int=bool(img_ints) and all(img_ints),
                    qa_int=bool(qa_ints) and all(qa_ints))
    sources = read_sources(root, name, doc_ids, problems)
    return Dataset(name=name, documents=docs, qa=qa, images=images, id_style=style, sources=sources)


def _out_id(value: str, as_int: bool) -> str | int:
    return int(value) if as_int and value.lstrip("-").isdigit() else value


def _safe_file_name(image: Image) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", image.id).strip("._") or "image"
    suffix = image.path.suffix.lower() if image.path else ""
    return stem if stem.lower().endswith(suffix) else stem + suffix


def write_dataset(ds: Dataset, out: Path) -> None:
    """Write ``ds`` to folder ``out`` in MRAMG format, copying its image files.

    The folder is replaced whole and atomically: a failure half-way leaves what was there.
    """
    out = Path(out)
    if out.exists():
        others = [n for n in dataset_names(out) if n != ds.name]
        if others:
            raise DatasetError(f"holds other datasets {others}; write {ds.name!r} to its own folder", out)
    style = ds.id_style
    with atomic_dir(out) as tmp:
        with open(doc_path(tmp, ds.name), "w", encoding="utf-8") as f:
            for d in ds.documents:
                row = [_out_id(d.id, style.doc_int), d.content, [_out_id(i, style.image_int) for i in d.image_ids]]
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        if ds.qa:
            with open(qa_path(tmp, ds.name), "w", encoding="utf-8") as f:
                for q in ds.qa:
                    row = {"id": _out_id(q.id, style.qa_int), "question": q.question,
                           "provenance": [_out_id(p, style.doc_int) for p in q.provenance],
                           "ground_truth": q.ground_truth,
                           "images_list": [_out_id(i, style.image_int) for i in q.image_ids]}
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
        img_dir = image_dir(tmp, ds.name)
        img_dir.mkdir(parents=True)
        collection, used = {}, set()
        for image in ds.images.values():
            entry = {"image_path": "", "image_caption": image.caption}
            if image.path is not None:
                fname = _safe_file_name(image)
                while fname in used:
                    fname = "_" + fname
                used.add(fname)
                shutil.copyfile(image.path, img_dir / fname)
                entry["image_path"] = str((img_dir / fname).relative_to(tmp))
            collection[image.id] = entry
        write_sources(tmp, ds.name, ds.sources)
        cpath = collection_path(tmp, ds.name)
        cpath.parent.mkdir(parents=True)
        cpath.write_text(json.dumps(collection, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
