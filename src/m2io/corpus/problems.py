"""Collect or raise dataset problems.

A strict collector raises the first error (what readers want); a lenient one keeps them
all (what ``m2io corpus check`` wants). Warnings never raise.

>>> from m2io.errors import DatasetError
>>> p = Problems(strict=False)
>>> p.error("missing_image", DatasetError("no file", path="x.json", field="i1"))
>>> p.counts()
{'missing_image': 1}
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from m2io.errors import DatasetError


@dataclass
class Problems:
    strict: bool = True
    errors: list[tuple[str, DatasetError]] = field(default_factory=list)
    warnings: list[tuple[str, DatasetError]] = field(default_factory=list)

    def error(self, kind: str, err: DatasetError) -> None:
        """Record an error of category ``kind``; raise it at once when strict."""
        if self.strict:
            raise err
        self.errors.append((kind, err))

    def warn(self, kind: str, err: DatasetError) -> None:
        self.warnings.append((kind, err))

    def counts(self) -> dict[str, int]:
        return dict(Counter(kind for kind, _ in self.errors))
