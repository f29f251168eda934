"""Errors that name where bad input is.

>>> str(DatasetError("bad JSON", path="data/doc_x.jsonl", line=3))
'data/doc_x.jsonl:3: bad JSON'
>>> str(DatasetError("unknown image id 'i9'", path="data/x_mqa.jsonl", line=2, field="images_list"))
"data/x_mqa.jsonl:2: images_list: unknown image id 'i9'"
"""
from __future__ import annotations

from pathlib import Path


class M2IOError(Exception):
    """Base class of every error m2io raises on purpose."""


class DatasetError(M2IOError):
    """A problem in a dataset file, located by file, line (1-based) and field where known."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None,
                 field: str | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        super().__init__(self.location_prefix() + message)

    def location_prefix(self) -> str:
        where = ""
        if self.path:
            where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        if self.field:
            where += f"{self.field}: "
        return where
