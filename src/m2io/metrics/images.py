"""Image metrics of MRAMG-Bench: set precision/recall/F1, ordering score, position accuracy.

Pure functions; the inserter's rewards call the same code.

>>> image_prf(["a", "b"], ["a", "c"])
(0.5, 0.5, 0.5)
>>> round(ordering_score("ab", "ba"), 4), round(ordering_score("abcd", "abdc"), 4)
(0.6667, 0.8333)
>>> position_accuracy({"a": 1, "b": 3}, {"a": 1, "b": 2}, n_segments=4)
0.5
>>> position_accuracy({"a": 1, "b": 3}, {"a": 1, "b": 2}, n_segments=4, soft=True)
0.875
"""
from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass


def image_prf(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> tuple[float, float, float]:
    """Precision, recall and F1 of the *sets* of gold and predicted images.

    Conventions: both empty -> (1, 1, 1); nothing predicted -> precision 0; no gold -> recall 1.
    """
    g, p = set(gold), set(pred)
    if not g and not p:
        return 1.0, 1.0, 1.0
    hit = len(g & p)
    precision = hit / len(p) if p else 0.0
    recall = hit / len(g) if g else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


@dataclass(frozen=True)
class OrderingCosts:
    """Edit costs of the weighted Levenshtein distance behind the ordering score."""

    missing: float = 3.0
    """A gold image absent from the prediction (deletion from gold)."""
    extra: float = 2.0
    """A predicted image that is not there in gold (insertion)."""
    substitute: float = 1.0
    """One image in place of another."""
    cap: float = 3.0
    """The normalised distance is capped at this value, and divided by it."""


def weighted_levenshtein(gold: Sequence[Hashable], pred: Sequence[Hashable], costs: OrderingCosts = OrderingCosts()) -> float:
    """Cheapest edit of ``gold`` into ``pred`` (deletions = missing, insertions = extra)."""
    prev = [j * costs.extra for j in range(len(pred) + 1)]
    for i in range(1, len(gold) + 1):
        cur = [i * costs.missing] + [0.0] * len(pred)
        for j in range(1, len(pred) + 1):
            sub = 0.0 if gold[i - 1] == pred[j - 1] else costs.substitute
            cur[j] = min(prev[j] + costs.missing, cur[j - 1] + costs.extra, prev[j - 1] + sub)
        prev = cur
    return prev[-1]


def ordering_score(gold: Sequence[Hashable], pred: Sequence[Hashable], costs: OrderingCosts = OrderingCosts()) -> float:
    """MRAMG ordering score: ``max(0, r * (1 - min(D / max(n, m), cap) / cap))``.

    ``r`` is the share of gold images that were predicted; both empty -> 1; gold empty but
    something predicted -> 0.
    """
    n, m = len(gold), len(pred)
    if n == 0:
        return 1.0 if m == 0 else 0.0
    r = len(set(gold) & set(pred)) / n
    if r == 0:
        return 0.0
    d = weighted_levenshtein(gold, pred, costs)
    return max(0.0, r * (1 - min(d / max(n, m), costs.cap) / costs.cap))


def position_accuracy(gold_slots: Mapping[Hashable, int] | Sequence[tuple[Hashable, int]],
                      pred_slots: Mapping[Hashable, int] | Sequence[tuple[Hashable, int]],
                      n_segments: int, soft: bool = False) -> float:
    """Share of gold images placed at their gold slot (slot s = after answer segment s).

    ``soft=True`` gives each gold image ``max(0, 1 - |slot - gold_slot| / n_segments)`` instead of 0/1.
    A gold image that was not placed scores 0. No gold images: 1 if nothing was placed, else 0.
    Exact only when the answer text is the gold text (the slots then refer to the same segments).
    """
    gold, pred = dict(gold_slots), dict(pred_slots)
    if not gold:
        return 1.0 if not pred else 0.0
    total = 0.0
    for image, slot in gold.items():
        if image not in pred:
            continue
        if soft:
            total += max(0.0, 1 - abs(pred[image] - slot) / max(n_segments, 1))
        else:
            total += float(pred[image] == slot)
    return total / len(gold)
