"""What an answerer returns: the text, its segments with where each came from, and what it cost.

>>> a = Answer("Open it. Click OK.")
>>> a.segment_list()
['Open it.', 'Click OK.']
"""
from __future__ import annotations

from dataclasses import dataclass, field

from m2io.types import Origin


@dataclass
class Answer:
    text: str
    sources: list[str] = field(default_factory=list)
    """Chunk ids the answer's sentences came from, in order of first use."""
    model_calls: int = 0
    tokens_generated: int = 0
    seconds: float = 0.0
    prompt: list[dict] | None = None
    """The exact messages sent to a model (None when no model wrote the answer)."""
    segments: list[str] | None = None
    """The answer's segments where the answerer made them (None: split ``text``)."""
    provenance: list[Origin | None] | None = None
    """Per segment, where it came from (None: not known yet; the pipeline aligns the text with the sources)."""
    sections: list[str] = field(default_factory=list)
    """The sections (document keys) the answer was composed from, in order."""
    ranking: list = field(default_factory=list)
    """The ranked sections the answerer chose from (:class:`m2io.sections.rank.RankedSection`)."""

    def segment_list(self) -> list[str]:
        from m2io.insert.plan import segment_answer

        return list(self.segments) if self.segments is not None else segment_answer(self.text)
