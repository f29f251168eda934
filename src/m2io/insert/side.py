"""The texts about an image that depend on the image alone, which inserters compare with an answer.

Five per image: its caption, its context (the text around it where the corpus shows it), the end
of the text just above it and the start of the text just below it (``half_words`` each), and
what the ``rule`` inserter compares (caption then context). ``m2io index`` embeds them once and
keeps the vectors in the image rows (``ImageRow.side``), so that placing images at answer time
encodes only the answer's own segments.

>>> side_texts("The Align dialog", "Open it. Click OK.", "Open it.", "Click OK.", half_words=1)
['The Align dialog', 'Open it. Click OK.', 'it.', 'Click', 'The Align dialog. Open it. Click OK']
"""
from __future__ import annotations

import numpy as np

from m2io.store.base import SIDE_TEXTS

HALF_WORDS = 25
"""Words of each context half kept for comparison with a segment (the ends nearest the image)."""


def rule_text(caption: str, context: str) -> str:
    """What the rule inserter compares with each segment: the caption, then the context."""
    return f"{caption}. {context}".strip(". ") if context else caption


def side_texts(caption: str, context: str, above: str, below: str, half_words: int = HALF_WORDS) -> list[str]:
    """Caption, context, the end of the text above, the start of the text below, the rule text."""
    context = context or f"{above} {below}".strip()
    texts = [caption, context, " ".join(above.split()[-half_words:]), " ".join(below.split()[:half_words]),
             rule_text(caption, context)]
    assert len(texts) == SIDE_TEXTS
    return texts


def side_vectors(encoder, texts: list[str]) -> np.ndarray:
    """(len(texts), dim) unit vectors; zeros for an empty text (an empty caption is no evidence)."""
    out = np.zeros((len(texts), encoder.dim), np.float32)
    idx = [n for n, t in enumerate(texts) if t.strip()]
    if idx:
        out[idx] = encoder.encode([texts[n] for n in idx])
    return out
