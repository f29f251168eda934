"""Training rows kept in a JSONL file, so SFT and GRPO on the same data build them once.

Building rows embeds every segment and caption and retrieves distractors (minutes on a CPU);
the file's first line records what the rows were built from, and a file built from anything
else is rebuilt rather than trusted.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
>>> cached_rows(path, {"seed": 0}, lambda: [{"prompt": "p"}])
[{'prompt': 'p'}]
>>> cached_rows(path, {"seed": 0}, lambda: 1 / 0)          # read back, not rebuilt
[{'prompt': 'p'}]
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from m2io.errors import M2IOError


def cached_rows(path: Path, key: dict, build: Callable[[], list[dict]]) -> list[dict]:
    """The rows in ``path`` if it was written for ``key``; else ``build()``, written to ``path`` first."""
    path = Path(path)
    rows = _read(path, key) if path.is_file() else None
    if rows is not None:
        return rows
    rows = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w") as f:  # written whole, then moved: an interrupted write never looks complete
        f.write(json.dumps({"m2io_rows": key}) + "\n")
        for row in rows:
            f.write(json.dumps(row) + "\n")
    tmp.replace(path)
    return rows


def read_rows(path: str | Path) -> list[dict]:
    """Every row of a rows file, whatever it was built from (for analysis, e.g. bench/draft_vs_gold.py)."""
    path = Path(path)
    with path.open() as f:
        f.readline()
        return _rows(path, f)


def _read(path: Path, key: dict) -> list[dict] | None:
    """The rows of ``path``, or None when its header is missing or names another ``key``."""
    with path.open() as f:
        try:
            header = json.loads(f.readline())
        except json.JSONDecodeError:
            return None
        if not isinstance(header, dict) or header.get("m2io_rows") != key:
            return None
        return _rows(path, f)


def _rows(path: Path, lines) -> list[dict]:
    rows = []
    for n, line in enumerate(lines, 2):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise M2IOError(f"{path}:{n}: not a JSON row ({e.msg}); delete the file to rebuild it") from e
    return rows
