"""Train / development split by document: every QA item of a document lands on the same side.

A document's side comes from a hash of its id, so the split never changes when items are added
and needs no file. A QA item follows its first provenance document.

>>> split_of_doc("gimp-layers-dialog") in ("train", "dev")
True
>>> split_of_doc("x", dev_fraction=0.0), split_of_doc("x", dev_fraction=1.0)
('train', 'dev')
"""
from __future__ import annotations

import hashlib
import random

from m2io.types import QAItem

SPLITS = ("train", "dev", "all")


def split_of_doc(doc_id: str, dev_fraction: float = 0.2) -> str:
    h = int(hashlib.sha256(doc_id.encode()).hexdigest()[:8], 16) / 2 ** 32
    return "dev" if h < dev_fraction else "train"


def select_items(items: list[QAItem], split: str = "all", limit: int | None = None, seed: int = 0,
                 dev_fraction: float = 0.2) -> list[QAItem]:
    """The items of ``split`` (train, dev or all); ``limit`` draws a seeded sample kept in file order."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (choose from {', '.join(SPLITS)})")
    chosen = [q for q in items if split == "all"
              or split_of_doc(q.provenance[0] if q.provenance else q.id, dev_fraction) == split]
    if limit is not None and len(chosen) > limit:
        keep = set(id(q) for q in random.Random(seed).sample(chosen, limit))
        chosen = [q for q in chosen if id(q) in keep]
    return chosen
