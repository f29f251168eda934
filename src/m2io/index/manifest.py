"""What an index folder was built with, so that it is never searched with the wrong models.

``m2io-index.json`` names the format version, the encoders and their dimensions, the chunking,
the image mix, the image adapter's hash and the store backend. Opening an index with other
settings is a clear error, not garbage results.

>>> m = IndexManifest(text_encoder="all-MiniLM-L6-v2", text_dim=384, image_encoder="efficientnet-lite0", visual_dim=1280)
>>> m.check_compatible(m)
>>> m.check_compatible(IndexManifest(text_encoder="bge-small", text_dim=384, image_encoder="efficientnet-lite0",
...                                  visual_dim=1280))
Traceback (most recent call last):
...
m2io.index.manifest.IndexIncompatible: this index was built with text_encoder 'all-MiniLM-L6-v2', this run uses 'bge-small'; build a new index (another --out) or pass the same settings
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from m2io.atomic import atomic_write_text
from m2io.errors import M2IOError

FORMAT_VERSION = 5  # 2: chunks keep their search text (BM25 reads captions and headings too); 3: image rows keep
# the text above and below each image apart; 4: image rows keep their side vectors (m2io.insert.side); 5: chunk rows
# keep the vectors of their sections' sentences, title and opening (m2io.sections.read.known_texts)
MANIFEST = "m2io-index.json"


class IndexIncompatible(M2IOError):
    """An index folder built by another version of m2io or with other models."""


@dataclass
class IndexManifest:
    text_encoder: str
    text_dim: int
    image_encoder: str
    visual_dim: int
    backend: str = "lancedb"
    pg_prefix: str = ""
    max_tokens: int = 200
    context_words: int = 40
    mix: dict = field(default_factory=lambda: {"visual": 1.0, "caption": 1.0, "context": 1.0})
    adapter_sha256: str = ""
    format_version: int = FORMAT_VERSION
    complete: bool = False
    """False while a run is writing; an interrupted run leaves it False until the next run finishes."""
    datasets: dict = field(default_factory=dict)
    """Dataset name -> the folder it was indexed from."""
    text_model: str = ""
    """Where the text encoder was loaded from ("" = the bundled all-MiniLM-L6-v2)."""
    image_model: str = "efficientnet-lite0"
    """``efficientnet-lite0`` or the CLIP/SigLIP folder the image encoder was loaded from."""
    snapshot: dict = field(default_factory=dict)
    """The newest published snapshot (:class:`m2io.index.snapshot.Snapshot`): what readers answer from, kept
    while a run writes."""

    SCHEMA = ("text_encoder", "text_dim", "image_encoder", "visual_dim", "backend", "pg_prefix")
    """What the stored vectors mean: another value makes the index unusable, so it is an error."""
    SETTINGS = ("max_tokens", "context_words", "mix", "adapter_sha256")
    """How documents become rows: another value re-indexes every document (it is in their hashes)."""

    def signature(self) -> dict:
        return {k: getattr(self, k) for k in self.SCHEMA + self.SETTINGS}

    def check_compatible(self, wanted: "IndexManifest") -> None:
        for key in self.SCHEMA:
            have, want = getattr(self, key), getattr(wanted, key)
            if have != want:
                raise IndexIncompatible(f"this index was built with {key} {have!r}, this run uses {want!r}; "
                                        "build a new index (another --out) or pass the same settings")

    def save(self, folder: Path) -> None:
        atomic_write_text(Path(folder) / MANIFEST, json.dumps(asdict(self), indent=1) + "\n")

    @staticmethod
    def stored_version(folder: Path) -> int | None:
        """The format version of the index in ``folder`` (None: no readable manifest there)."""
        try:
            version = json.loads((Path(folder) / MANIFEST).read_text()).get("format_version")
        except (OSError, json.JSONDecodeError, AttributeError):
            return None
        return version if isinstance(version, int) else None

    @classmethod
    def load(cls, folder: Path) -> "IndexManifest":
        path = Path(folder) / MANIFEST
        if not path.is_file():
            raise IndexIncompatible(f"{folder}: not an m2io index (no {MANIFEST})")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise IndexIncompatible(f"{path}: corrupt manifest ({e.msg})") from e
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            how = ("run m2io index on its datasets with this --out again: it upgrades the index in place"
                   if isinstance(version, int) and version < FORMAT_VERSION else "rebuild it with m2io index")
            raise IndexIncompatible(f"{folder}: index format version {version}, this m2io reads version "
                                    f"{FORMAT_VERSION}; {how}")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
