"""The models an index needs, loaded once per process and shared by indexing and search.

>>> models = IndexModels()                                     # doctest: +SKIP
>>> models.image_text_vectors(models.image.encode([img]))      # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import os
from functools import cached_property
from pathlib import Path

import numpy as np

from m2io.encoders.bridge import ImageAdapter, LabelBridge
from m2io.encoders.image import ImageFeatures, image_encoder
from m2io.encoders.text import TextEncoder

ADAPTER_FILE = "image_adapter.npz"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class IndexModels:
    """Text encoder, image encoder, zero-shot bridge and (optional) image adapter."""

    def __init__(self, text_model: str | None = None, image_model: str = "efficientnet-lite0",
                 adapter_path: Path | None = None):
        self.text_model, self.image_model = text_model, image_model
        self.adapter_path = Path(adapter_path) if adapter_path and Path(adapter_path).is_file() else None

    @cached_property
    def text(self) -> TextEncoder:
        return TextEncoder(self.text_model)

    @cached_property
    def image(self):
        return image_encoder(self.image_model)

    @cached_property
    def bridge(self) -> LabelBridge | None:
        labels = getattr(self.image, "labels", None)
        if not labels:
            return None
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "m2io" / "labels"
        key = hashlib.sha256(f"{self.text.name}|{self.image.name}|{len(labels)}".encode()).hexdigest()[:16]
        path = cache / f"{key}.npy"
        if path.is_file():
            return LabelBridge(np.load(path))
        bridge = LabelBridge.from_labels(labels, self.text)
        cache.mkdir(parents=True, exist_ok=True)
        np.save(path, bridge.label_embeddings)
        return bridge

    @cached_property
    def adapter(self) -> ImageAdapter | None:
        return ImageAdapter.load(self.adapter_path) if self.adapter_path else None

    @property
    def adapter_sha256(self) -> str:
        return file_sha256(self.adapter_path) if self.adapter_path else ""

    def image_text_vectors(self, features: ImageFeatures) -> np.ndarray | None:
        """Text-space vectors of images: the adapter if there is one, else the zero-shot bridge."""
        if self.adapter is not None:
            return self.adapter(features.visual)
        if features.probs is not None and self.bridge is not None:
            return self.bridge(features.probs)
        return None
