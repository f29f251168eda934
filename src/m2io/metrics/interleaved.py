"""Scores of one interleaved generation (text steps and generated images) against its reference
section: plain functions over vectors, shared by the interleaved benchmark and the unified GRPO
rewards.

- text relevance: BERTScore against the reference text (:class:`m2io.metrics.text.BertScore`) and
  :func:`cosine` of the text's and the question's MiniLM vectors;
- image-text alignment: an image's text-space vector (image encoder, then the adapter or the
  zero-shot bridge) against the text steps around it (:func:`context_alignment`) and against the
  caption of the reference figure it looks most like (:func:`caption_alignment`);
- image fidelity: the visual cosine to the nearest reference figure (:func:`best_match`);
- structure: well-formed or not, and :func:`image_count_score`.

>>> image_count_score(2, 2), image_count_score(1, 2), image_count_score(0, 0), image_count_score(3, 0)
(1.0, 0.5, 1.0, 0.0)
>>> import numpy as np
>>> best_match(np.array([1.0, 0.0]), np.array([[0.0, 1.0], [0.6, 0.8]]))
(1, 0.6)
"""
from __future__ import annotations

import numpy as np


def cosine(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denom) if denom else 0.0


def image_count_score(generated: int, reference: int) -> float:
    """1 when the counts agree, falling linearly to 0 as they differ by the larger count."""
    if generated == reference:
        return 1.0
    return 1.0 - abs(generated - reference) / max(generated, reference)


def best_match(visual: np.ndarray, references: np.ndarray) -> tuple[int, float] | tuple[None, None]:
    """Index of the reference visual vector nearest ``visual`` and its cosine (unit vectors)."""
    if len(references) == 0:
        return None, None
    sims = np.asarray(references) @ np.asarray(visual)
    k = int(np.argmax(sims))
    return k, round(float(sims[k]), 6)


def context_alignment(image_text_vector: np.ndarray, context_vector: np.ndarray | None) -> float | None:
    """Cosine of an image's text-space vector with the vector of the text steps around it (None: no text)."""
    return None if context_vector is None else cosine(image_text_vector, context_vector)


def caption_alignment(image_text_vector: np.ndarray, caption_vectors: np.ndarray, match: int | None) -> float | None:
    """Cosine with the caption of the best-matching reference figure (None: no reference figure)."""
    return None if match is None else cosine(image_text_vector, caption_vectors[match])


def neighbour_text(steps, k: int) -> str:
    """The text steps just before and just after step ``k`` (an image), joined."""
    before = next((s.text for s in reversed(steps[:k]) if s.kind == "text"), "")
    after = next((s.text for s in steps[k + 1:] if s.kind == "text"), "")
    return " ".join(t for t in (before, after) if t)
