"""Each indexed document's source in words (manual, heading path), kept beside the index.

The index stores chunks by document key (``gimp/tools/align#gimp-tool-align``); people read
"GNU Image Manipulation Program › Toolbox › Align". ``index`` writes the datasets' sources sidecars
(:mod:`m2io.corpus.sources`) into ``sources.json`` here; answers list their sources with these labels.

>>> import tempfile, pathlib
>>> from m2io.types import DocSource
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / SOURCES_FILE).write_text(sources_json({"demo/p#a": DocSource("Demo", "Page", ["Page", "A"], "p.html")}))
>>> load_sources(d)["demo/p#a"].label
'Demo \u203a Page \u203a A'
>>> source_label(load_sources(d), "demo/other#b")
'demo/other#b'
"""
from __future__ import annotations

import json
from pathlib import Path

from m2io.atomic import atomic_write_text
from m2io.types import DocSource

SOURCES_FILE = "sources.json"


def parse_sources(text: str) -> dict[str, DocSource]:
    """Sources from their JSON text ({} for a damaged one: labels then fall back to document keys)."""
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    out = {}
    for key, v in data.items():
        if isinstance(v, dict):
            out[key] = DocSource(str(v.get("manual", "")), str(v.get("page", "")),
                                 [str(h) for h in v.get("heading_path", []) if isinstance(h, str)], str(v.get("file", "")))
    return out


def load_sources(index: Path, name: str = SOURCES_FILE) -> dict[str, DocSource]:
    """The index's sources by document key ({} for an index built before sources, or a damaged file)."""
    path = Path(index) / name
    try:
        return parse_sources(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except OSError:
        return {}


def merge_sources(old: dict[str, DocSource], new: dict[str, DocSource], keep: set[str]) -> dict[str, DocSource]:
    """``new`` merged into ``old`` (by document key), keys not in ``keep`` dropped."""
    merged = {k: v for k, v in old.items() if k in keep}
    merged.update({k: v for k, v in new.items() if k in keep})
    return merged


def sources_json(sources: dict[str, DocSource]) -> str:
    data = {k: {"manual": s.manual, "page": s.page, "heading_path": s.heading_path, "file": s.file}
            for k, s in sorted(sources.items())}
    return json.dumps(data, ensure_ascii=False, indent=0) + "\n"


def source_label(sources: dict[str, DocSource], key: str) -> str:
    """What a person reads for document ``key``: its manual and heading path, or the key itself."""
    source = sources.get(key)
    return source.label if source and source.label else key
