"""MRAMG-Bench metrics (see DESIGN.md, "Metrics"): image selection, order, position, text."""
from m2io.metrics.images import OrderingCosts, image_prf, ordering_score, position_accuracy, weighted_levenshtein
from m2io.metrics.text import BertScore, rouge_l, strip_placeholders

__all__ = ["BertScore", "OrderingCosts", "image_prf", "ordering_score", "position_accuracy", "rouge_l",
           "strip_placeholders", "weighted_levenshtein"]
