"""Score one placement plan against the gold plan with the MRAMG metrics (evaluation and rewards).

>>> from m2io.insert.plan import gold_from_marks
>>> gold = gold_from_marks("A. <PIC> B. C. <PIC>", ["x", "y"])
>>> s = score_plan(gold, [Placement("x", 1), Placement("z", 2)])
>>> s["image_f1"], s["position_accuracy"], s["position_accuracy_soft"]
(0.5, 0.5, 0.5)
"""
from __future__ import annotations

from m2io.insert.plan import GoldPlan
from m2io.metrics import image_prf, ordering_score, position_accuracy
from m2io.types import Placement


def score_plan(gold: GoldPlan, placements: list[Placement]) -> dict[str, float]:
    """Image P/R/F1, ordering, exact and soft position accuracy (slots of the gold segments)."""
    predicted = [p.image_id for p in sorted(placements, key=lambda p: p.slot)]
    pred_slots = {}
    for p in placements:
        pred_slots.setdefault(p.image_id, p.slot)
    precision, recall, f1 = image_prf(gold.order, predicted)
    n = len(gold.segments)
    return {"image_precision": precision, "image_recall": recall, "image_f1": f1,
            "ordering": ordering_score(gold.order, predicted),
            "position_accuracy": position_accuracy(gold.slots, pred_slots, n),
            "position_accuracy_soft": position_accuracy(gold.slots, pred_slots, n, soft=True)}
