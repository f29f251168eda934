"""What ``m2io serve`` hands each worker process (through ``$M2IO_SERVE``): no server code is imported here,
so that the supervising process never registers metrics of its own.

>>> opts = ServeOptions(index="index/gimp", threads=1)
>>> ServeOptions.from_json(opts.to_json()) == opts
True
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

ENV = "M2IO_SERVE"


@dataclass(frozen=True)
class ServeOptions:
    index: str
    pg_dsn: str = ""
    components: dict = field(default_factory=dict)
    """:class:`m2io.components.ComponentConfig` fields."""
    serve: dict = field(default_factory=dict)
    """:class:`m2io.server.app.ServeConfig` fields."""
    unified_model: str | None = None
    """A unified model folder (loaded once ready); None: the shipped one, loaded at the first unified question;
    "": none."""
    snap_threshold: float = 0.8
    unified: dict = field(default_factory=dict)
    """:class:`m2io.unified.answer.UnifiedConfig` fields set on the command line (``windows``, ``passage_words``)."""
    threads: int = 0
    """torch threads for this worker's models (0: torch's default, every core)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "ServeOptions":
        return cls(**json.loads(text))
