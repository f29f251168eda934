"""The inserter interface: answer segments + candidate images + query -> a placement plan.

>>> r = InsertResult(placements=[Placement("a", 1)])
>>> r.model_calls, r.fallback
(0, False)
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from m2io.types import Candidate, Origin, Placement


@dataclass
class InsertResult:
    placements: list[Placement]
    raw_output: str = ""
    """What a model wrote, verbatim (empty for rule-based inserters)."""
    model_calls: int = 0
    tokens_generated: int = 0
    fallback: bool = False
    """True if the inserter's own output did not parse and a fallback placed the images."""
    timings: dict[str, float] = field(default_factory=dict)
    prompt: list[dict] | None = None
    """The exact messages sent to a model, for tracing (None for rule-based inserters)."""
    text: str | None = None
    """The answer text as the inserter wrote it, when it rewrites it (``onepass``); else None."""


class Inserter(ABC):
    name: str

    @abstractmethod
    def insert(self, query: str, segments: list[str], candidates: list[Candidate],
               provenance: list[Origin | None] | None = None) -> InsertResult:
        """Choose candidates and slots (0..len(segments)); never changes the answer text. ``provenance``: per
        segment, where it came from (:class:`m2io.types.Origin`; None or missing entries: unknown)."""
