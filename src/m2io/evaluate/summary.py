"""Turn per-item evaluation records into the summary every insert / e2e run reports.

>>> s = summarize([{"scores": {"image_f1": 1.0}, "latency_ms": 10.0, "model_calls": 1, "tokens_generated": 4,
...                 "fallback": False, "stage_ms": {"insert": 10.0}}])
>>> s["n"], s["image_f1"], s["image_f1_ci95"], s["fallback_rate"], s["latency_ms_p50"], s["stage_ms_p50"]
(1, 1.0, (1.0, 1.0), 0.0, 10.0, {'insert': 10.0})
"""
from __future__ import annotations

import numpy as np

from m2io.evaluate.bootstrap import bootstrap_ci

QUALITY = ("image_precision", "image_recall", "image_f1", "ordering", "position_accuracy",
           "position_accuracy_soft", "rouge_l", "bertscore_f1", "oracle_f1", "answer_sections", "section_top1",
           "answer_words")
JUDGE = ("judge_image_relevance", "judge_image_effectiveness", "judge_image_position", "judge_overall")


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def summarize(records: list[dict]) -> dict:
    """Means of the quality columns with their 95% bootstrap intervals (``<metric>_ci95``), fallback rate,
    latency p50/p95, model calls and tokens, stage times."""
    out: dict = {"n": len(records)}
    for key in QUALITY + JUDGE:
        values = [r["scores"].get(key) for r in records]
        if any(v is not None for v in values):
            out[key] = _mean(values)
            out[f"{key}_ci95"] = bootstrap_ci(values)
    lat = [r["latency_ms"] for r in records]
    out["fallback_rate"] = _mean([float(r["fallback"]) for r in records]) or 0.0
    out["latency_ms_p50"] = float(np.percentile(lat, 50)) if lat else 0.0
    out["latency_ms_p95"] = float(np.percentile(lat, 95)) if lat else 0.0
    out["model_calls_mean"] = _mean([r["model_calls"] for r in records]) or 0.0
    out["tokens_generated_mean"] = _mean([r["tokens_generated"] for r in records]) or 0.0
    stages = sorted({k for r in records for k in r.get("stage_ms", {})})
    out["stage_ms_p50"] = {k: float(np.percentile([r["stage_ms"][k] for r in records if k in r["stage_ms"]], 50))
                           for k in stages}
    if any(r.get("judge_unparsed") for r in records):
        out["judge_unparsed_rate"] = _mean([float(bool(r.get("judge_unparsed"))) for r in records])
    return out
