"""The sources sidecar: each document's manual, page title and heading path, beside the MRAMG files.

``<name>_sources.jsonl`` holds one ``{"id", "manual", "page", "heading_path", "file"}`` per
document; MRAMG-Bench readers ignore it, m2io reads it with the dataset so that answers can list
their sources as "GRASS GIS manual › d.background: Examples" rather than "d.background#examples".
The file is optional; a line naming an unknown document is a located problem, never a crash.

>>> import tempfile, pathlib
>>> from m2io.corpus.problems import Problems
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> write_sources(d, "demo", {"p#a": DocSource("Demo", "Page", ["Page", "A"], "p.html")})
>>> read_sources(d, "demo", {"p#a"}, Problems(strict=True))["p#a"].label
'Demo \u203a Page \u203a A'
"""
from __future__ import annotations

import json
from pathlib import Path

from m2io.corpus.problems import Problems
from m2io.errors import DatasetError
from m2io.types import DocSource


def sources_path(root: Path, name: str) -> Path:
    return Path(root) / f"{name}_sources.jsonl"


def _text(obj: dict, key: str, path: Path, line: int) -> str:
    value = obj.get(key, "")
    if not isinstance(value, str):
        raise DatasetError(f"{key} must be a string, got {type(value).__name__}", path, line, key)
    return value


def _parse(obj: object, path: Path, line: int) -> tuple[str, DocSource]:
    if not isinstance(obj, dict):
        raise DatasetError("a sources line must be a JSON object", path, line)
    doc_id = obj.get("id")
    if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
        raise DatasetError(f"id must be a string or an int, got {doc_id!r}", path, line, "id")
    heading = obj.get("heading_path", [])
    if not isinstance(heading, list) or not all(isinstance(h, str) for h in heading):
        raise DatasetError("heading_path must be a list of strings", path, line, "heading_path")
    return str(doc_id), DocSource(_text(obj, "manual", path, line), _text(obj, "page", path, line), heading,
                                  _text(obj, "file", path, line))


def read_sources(root: Path, name: str, doc_ids: set[str], problems: Problems) -> dict[str, DocSource]:
    """The sidecar of dataset ``name`` in ``root`` ({} if there is none)."""
    from m2io.corpus.mramg import _jsonl

    path = sources_path(root, name)
    out: dict[str, DocSource] = {}
    if not path.is_file():
        return out
    for line, obj in _jsonl(path, problems):
        try:
            doc_id, source = _parse(obj, path, line)
        except DatasetError as e:
            problems.error("bad_record", e)
            continue
        if doc_id not in doc_ids:
            problems.error("unknown_doc", DatasetError(f"unknown doc id {doc_id!r}", path, line, "id"))
            continue
        out[doc_id] = source
    return out


def write_sources(root: Path, name: str, sources: dict[str, DocSource]) -> None:
    if not sources:
        return
    with open(sources_path(root, name), "w", encoding="utf-8") as f:
        for doc_id, s in sources.items():
            row = {"id": doc_id, "manual": s.manual, "page": s.page, "heading_path": s.heading_path, "file": s.file}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
