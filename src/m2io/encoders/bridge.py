"""Bring image vectors into the text encoder's space.

No CLIP weights can be had here, so an image gets a text-space vector in two ways:

- **zero-shot label bridge**: a classifier's top class probabilities weight the text embeddings
  of the class names ("a picture of a tripod");
- **adapter**: a linear map from visual features into text space, trained contrastively
  (symmetric InfoNCE, LiT-style with both encoders frozen) on captioned images.

The vector an image is indexed under mixes that with the embeddings of its caption and of the
text around it (:class:`ImageMix`).

>>> import numpy as np
>>> v = mix_vectors([np.array([1.0, 0.0]), np.array([0.0, 1.0]), None], ImageMix(visual=1, caption=1, context=0))
>>> [round(float(x), 3) for x in v]
[0.707, 0.707]
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from m2io.atomic import atomic_write_bytes
from m2io.errors import M2IOError


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


class LabelBridge:
    """Zero-shot text-space vectors from class probabilities and embedded class names."""

    def __init__(self, label_embeddings: np.ndarray, top_k: int = 5):
        self.label_embeddings = unit(label_embeddings)
        self.top_k = top_k

    @classmethod
    def from_labels(cls, labels: list[str], text_encoder, template: str = "a picture of a {}", top_k: int = 5):
        return cls(text_encoder.encode([template.format(label) for label in labels]), top_k=top_k)

    def __call__(self, probs: np.ndarray) -> np.ndarray:
        weights = np.zeros_like(probs)
        top = np.argsort(-probs, axis=1)[:, : self.top_k]
        rows = np.arange(len(probs))[:, None]
        weights[rows, top] = probs[rows, top]
        return unit(weights @ self.label_embeddings)


@dataclass
class ImageAdapter:
    """A linear map from visual features to text space: ``unit(visual @ weight.T)``."""

    weight: np.ndarray
    meta: dict

    def __call__(self, visual: np.ndarray) -> np.ndarray:
        if visual.shape[1] != self.weight.shape[1]:
            raise M2IOError(f"image adapter expects {self.weight.shape[1]}-d visual features, got {visual.shape[1]}-d "
                            f"(trained for {self.meta.get('image_encoder')})")
        return unit(visual @ self.weight.T)

    def save(self, path: Path) -> None:
        buf = io.BytesIO()
        np.savez(buf, weight=self.weight.astype(np.float32), meta=np.array(json.dumps(self.meta)))
        atomic_write_bytes(Path(path), buf.getvalue())

    @classmethod
    def load(cls, path: Path) -> "ImageAdapter":
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(data["weight"], json.loads(str(data["meta"])))
        except (OSError, KeyError, ValueError) as e:
            raise M2IOError(f"{path}: not an m2io image adapter ({e})") from e


@dataclass(frozen=True)
class ImageMix:
    """Weights of the parts of an image's text-space vector (renormalised; missing parts drop out).

    Equal weights, measured best of eight mixes for text-to-image retrieval on GIMP and on KiCad
    (bench/image_mix.py, bench/RESULTS.md): caption and context carry most of the signal, and the
    visual part, useless alone, still separates images that share a caption.
    """

    visual: float = 1.0
    caption: float = 1.0
    context: float = 1.0


def mix_vectors(parts: list[np.ndarray | None], mix: ImageMix) -> np.ndarray:
    """``unit(sum w_i * part_i)`` over the visual, caption and context parts that are present."""
    total = None
    for weight, part in zip((mix.visual, mix.caption, mix.context), parts):
        if part is None or weight == 0:
            continue
        term = weight * unit(part)
        total = term if total is None else total + term
    if total is None:
        raise ValueError("an image vector needs at least one part")
    return unit(total)


def train_adapter(visual: np.ndarray, text: np.ndarray, epochs: int = 60, lr: float = 3e-3,
                  temperature: float = 0.05, batch_size: int = 256, val_fraction: float = 0.1,
                  seed: int = 0, meta: dict | None = None) -> tuple[ImageAdapter, dict]:
    """Fit a linear adapter on (visual feature, caption embedding) pairs; report held-out recall.

    Returns the adapter and stats: image-to-caption recall@1/@5 on a held-out split, before
    (random init) and after training.
    """
    import torch

    if len(visual) != len(text) or len(visual) < 10:
        raise M2IOError(f"need at least 10 captioned images to train an adapter, got {len(visual)}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(visual))
    n_val = max(5, int(len(visual) * val_fraction))
    val, train = order[:n_val], order[n_val:]
    torch.manual_seed(seed)
    v = torch.from_numpy(unit(visual))
    t = torch.from_numpy(unit(text))
    layer = torch.nn.Linear(v.shape[1], t.shape[1], bias=False)
    opt = torch.optim.AdamW(layer.parameters(), lr=lr, weight_decay=1e-4)

    def recall(idx: np.ndarray) -> tuple[float, float]:
        with torch.no_grad():
            sims = torch.nn.functional.normalize(layer(v[idx]), dim=1) @ t[idx].T
        ranks = (sims > sims.diag()[:, None]).sum(1)
        return float((ranks < 1).float().mean()), float((ranks < 5).float().mean())

    before = recall(val)
    losses = []
    for _ in range(epochs):
        perm = train[rng.permutation(len(train))]
        for i in range(0, len(perm), batch_size):
            idx = perm[i:i + batch_size]
            if len(idx) < 2:
                continue
            logits = torch.nn.functional.normalize(layer(v[idx]), dim=1) @ t[idx].T / temperature
            target = torch.arange(len(idx))
            loss = (torch.nn.functional.cross_entropy(logits, target)
                    + torch.nn.functional.cross_entropy(logits.T, target)) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    after = recall(val)
    stats = {"pairs": len(visual), "train": len(train), "val": len(val), "epochs": epochs,
             "final_loss": losses[-1] if losses else None,
             "val_recall@1_before": before[0], "val_recall@5_before": before[1],
             "val_recall@1": after[0], "val_recall@5": after[1], "temperature": temperature}
    adapter = ImageAdapter(layer.weight.detach().numpy().astype(np.float32), {**(meta or {}), **stats})
    return adapter, stats

