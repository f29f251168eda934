"""The ``insert`` task: an inserter alone, on the gold answer text, with exact position accuracy.

For each QA item with gold positions: the answer is the gold text with its ``<PIC>`` marks
removed; the candidates are the gold images plus the images of the question's top-k retrieved
chunks, shuffled deterministically (:func:`m2io.insert.task.build_tasks`). Scores are the MRAMG
image metrics and exact and soft position accuracy; ROUGE-L and BERTScore compare the text the
inserter leaves (the gold text itself, unless it rewrites it, as ``onepass`` does) with the gold.

>>> record_scores({"image_f1": 1.0}, "A.", "A.")["rouge_l"]
1.0
"""
from __future__ import annotations

from tqdm import tqdm

from m2io.corpus.mramg import Dataset
from m2io.corpus.split import select_items
from m2io.insert.score import score_plan
from m2io.insert.task import build_tasks
from m2io.metrics import rouge_l, strip_placeholders


def record_scores(scores: dict, reference: str, text: str) -> dict:
    return {**scores, "rouge_l": rouge_l(reference, text)}


def candidate_records(candidates) -> list[dict]:
    return [{"k": c.k, "image_id": c.image.id, "caption": c.image.caption, "context": c.context,
             **({"section": c.origin.section, "slot": c.origin.position} if c.origin is not None else {})}
            for c in candidates]


def evaluate_insertion(ds: Dataset, inserter, retriever=None, split: str = "dev", limit: int | None = None,
                       seed: int = 0, distractors: int = 4, k_retrieve: int = 5, progress: bool = True,
                       provenance: bool = True) -> list[dict]:
    """One record per task: prompt, candidates, raw output, placements, scores, timings; ``provenance=False``
    hides where the answer's text came from (the inserter sees only text and candidates)."""
    items = select_items(ds.qa, split, limit, seed)
    tasks = build_tasks(ds, retriever, distractors=distractors, k_retrieve=k_retrieve, seed=seed, items=items)
    records = []
    for t in tqdm(tasks, desc=f"insert {ds.name} {inserter.name}", unit="task", disable=not progress):
        r = inserter.insert(t.query, t.segments, t.candidates, t.provenance if provenance else None)
        gold_text = " ".join(t.segments)
        text = strip_placeholders(r.text) if r.text is not None else gold_text
        ms = r.timings.get("insert", 0.0) * 1000
        records.append({
            "dataset": ds.name, "qa_id": t.qa_id, "query": t.query, "segments": t.segments,
            "candidates": candidate_records(t.candidates),
            "gold": {"order": t.gold.order, "slots": t.gold.slots, "items": t.gold_items()},
            "prompt": r.prompt, "raw_output": r.raw_output, "text": r.text,
            "placements": [{"image_id": p.image_id, "slot": p.slot} for p in r.placements],
            "scores": record_scores(score_plan(t.gold, r.placements), gold_text, text),
            "fallback": r.fallback, "model_calls": r.model_calls, "tokens_generated": r.tokens_generated,
            "latency_ms": ms, "stage_ms": {"insert": ms}, "_reference": gold_text, "_text": text})
    return records
