"""Markdown tables of interleaved-benchmark runs (``m2io eval --task interleaved --json``): every
metric with its 95% interval and item count, the share of distinct generated pictures, and the share of generated images that would be
shown as corpus figures at several snap thresholds (from the per-item similarities).

    .venv/bin/python bench/unified_table.py bench/results/unified/kicad-base.json bench/results/unified/kicad-warmup.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

METRICS = ("well_formed", "image_count", "text_bertscore_f1", "text_question_cosine", "alignment_context",
           "alignment_caption", "fidelity", "snapped_share", "alignment_context_shown", "alignment_caption_shown")


def cell(s: dict, key: str) -> str:
    if s.get(key) is None:
        return "-"
    lo, hi = s[f"{key}_ci95"]
    n = s.get(f"{key}_n")
    return f"{s[key]:.3f} [{lo:.3f}, {hi:.3f}]" + (f" n={n}" if n != s["n"] else "")


def items_of(path: str) -> list[dict]:
    p = Path(path)
    return [json.loads(line) for line in p.with_name(f"{p.stem}.items.jsonl").read_text().splitlines() if line.strip()]


def distinct_images(items: list[dict]) -> str:
    """Distinct generated pictures over all generated pictures (1.0: no two answers share an image)."""
    codes = [tuple(s["codes"]) for r in items for s in r.get("steps", []) if s["kind"] == "image"]
    return f"{len(set(codes)) / len(codes):.2f} of {len(codes)}" if codes else "-"


def _scores(run: dict) -> dict:
    """The unified model's summary: a grounded run's (``systems``), or a closed-book run's whole."""
    scores = run["scores"]
    return scores["systems"].get("template/unified", {}) if "systems" in scores else scores


def main(paths: list[str]) -> None:
    runs = [(Path(p).stem, {"scores": _scores(json.loads(Path(p).read_text()))}) for p in paths]
    print("| metric | " + " | ".join(f"{name} (n={r['scores']['n']})" for name, r in runs) + " |")
    print("| --- |" + " --- |" * len(runs))
    for key in METRICS:
        print(f"| {key} | " + " | ".join(cell(r["scores"], key) for _, r in runs) + " |")
    for key in ("images_mean", "tokens_generated_mean", "latency_ms_p50"):
        print(f"| {key} | " + " | ".join(f"{r['scores'].get(key, 0):.1f}" for _, r in runs) + " |")
    print("| distinct_images | " + " | ".join(distinct_images(items_of(p)) for p in paths) + " |")
    print()
    print("| snap threshold | " + " | ".join(name for name, _ in runs) + " |")
    print("| --- |" + " --- |" * len(runs))
    for t in (0.5, 0.6, 0.7, 0.8, 0.9):
        cells = []
        for path in paths:
            sims = [s["similarity"] for r in items_of(path) for s in r.get("snaps", []) if s["similarity"] is not None]
            cells.append(f"{sum(x >= t for x in sims) / len(sims):.3f} of {len(sims)}" if sims else "-")
        print(f"| {t} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
