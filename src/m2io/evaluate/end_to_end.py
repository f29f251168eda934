"""The ``e2e`` task: the whole pipeline (retrieve, answer, insert) against the gold interleaved answer.

Image precision / recall / F1 and ordering compare the placed images with the gold images in
answer order. The generated answer has its own segments, so positions are compared relative to
answer length: a gold image at slot ``g`` of ``n`` gold segments is expected at
``round(g / n * m)`` of the ``m`` generated segments (exact accuracy) and scored
``1 - |g / n - s / m|`` (soft). ROUGE-L and BERTScore compare the text with the gold text.

Also per item: how many sections the answer draws on (by its provenance), whether its first
section is the gold one, its length in words, and the *oracle-selection ceiling*: the image F1 of
keeping exactly the gold images among the candidates (what a perfect selection could reach, so a
reader sees how much of the loss is selection and how much retrieval and composition).

>>> relative_slots({"a": 2}, 4, 6)
{'a': 3}
"""
from __future__ import annotations

from tqdm import tqdm

from m2io.answer.provenance import sections_used
from m2io.corpus.mramg import Dataset
from m2io.corpus.questions import TEMPLATE
from m2io.corpus.split import select_items
from m2io.evaluate.insertion import candidate_records, record_scores
from m2io.insert.plan import gold_from_marks
from m2io.metrics import image_prf, ordering_score, position_accuracy, strip_placeholders
from m2io.types import PIC


def relative_slots(gold_slots: dict[str, int], n_gold: int, n_pred: int) -> dict[str, int]:
    return {i: round(s / max(n_gold, 1) * n_pred) for i, s in gold_slots.items()}


def e2e_scores(q, segments: list[str], placements) -> dict:
    order = [p.image_id for p in sorted(placements, key=lambda p: p.slot)]
    gold_order = list(dict.fromkeys(q.image_ids))
    precision, recall, f1 = image_prf(gold_order, order)
    out = {"image_precision": precision, "image_recall": recall, "image_f1": f1,
           "ordering": ordering_score(gold_order, order)}
    if PIC in q.ground_truth and q.ground_truth.count(PIC) == len(q.image_ids):
        gold = gold_from_marks(q.ground_truth, q.image_ids)
        n, m = len(gold.segments), len(segments)
        pred = {}
        for p in placements:
            pred.setdefault(p.image_id, p.slot)
        mapped = relative_slots(gold.slots, n, m)
        out["position_accuracy"] = position_accuracy(mapped, pred, m)
        soft = [max(0.0, 1 - abs(s / max(n, 1) - pred[i] / max(m, 1))) if i in pred else 0.0
                for i, s in gold.slots.items()]
        out["position_accuracy_soft"] = sum(soft) / len(soft) if soft else float(not pred)
    return out


def answer_scores(q, dataset: str, candidates, provenance, segments: list[str]) -> dict:
    """Sections drawn on, first section right, words, and the oracle-selection ceiling of one answer.

    >>> from m2io.types import Candidate, Image, Origin, QAItem
    >>> q = QAItem("1", "How?", ["a"], "A. <PIC>", ["x"])
    >>> s = answer_scores(q, "m", [Candidate(1, Image("y", None))], [Origin("m/a"), Origin("m/b")], ["A.", "B c."])
    >>> s["answer_sections"], s["section_top1"], s["answer_words"], s["oracle_f1"]
    (2, 1.0, 3, 0.0)
    """
    used = sections_used(provenance)
    gold = list(dict.fromkeys(q.image_ids))
    offered = {c.image.id for c in candidates}
    return {"answer_sections": len(used),
            "section_top1": float(bool(used) and bool(q.provenance) and used[0] == f"{dataset}/{q.provenance[0]}"),
            "answer_words": sum(len(s.split()) for s in segments),
            "oracle_f1": image_prf(gold, [i for i in gold if i in offered])[2]}


def evaluate_e2e(ds: Dataset, pipeline, split: str = "dev", limit: int | None = None, seed: int = 0,
                 progress: bool = True, items=None, kinds: dict | None = None) -> list[dict]:
    """One record per question with gold images: ``items`` (e.g. user-phrased questions) or ``ds.qa``'s ``split``;
    ``kinds``: QA id -> how it is asked (default: every item is a template question)."""
    records = []
    items = [q for q in (items if items is not None else select_items(ds.qa, split, limit, seed)) if q.image_ids]
    for q in tqdm(items, desc=f"e2e {ds.name} {pipeline.inserter.name}", unit="q", disable=not progress):
        res = pipeline.ask(q.question)
        text = " ".join(res.answer.segments)
        reference = strip_placeholders(q.ground_truth)
        scores = e2e_scores(q, res.answer.segments, res.answer.placements)
        scores.update(answer_scores(q, ds.name, res.candidates, res.answer.provenance, res.answer.segments))
        records.append({
            "dataset": ds.name, "qa_id": q.id, "kind": (kinds or {}).get(q.id, TEMPLATE), "query": q.question,
            "segments": res.answer.segments,
            "provenance": [[o.section, o.position, o.score] if o is not None else None for o in res.answer.provenance],
            "retrieved": [r.chunk_id for r in res.results], "candidates": candidate_records(res.candidates),
            "gold": {"order": list(dict.fromkeys(q.image_ids)), "section": q.provenance[0] if q.provenance else None},
            "answer_prompt": res.text_answer.prompt, "prompt": res.insert.prompt, "raw_output": res.insert.raw_output,
            "text": text, "placements": [{"image_id": p.image_id, "slot": p.slot} for p in res.answer.placements],
            "scores": record_scores(scores, reference, text),
            "fallback": res.insert.fallback, "model_calls": res.model_calls, "tokens_generated": res.tokens_generated,
            "latency_ms": res.timings["total"] * 1000,
            "stage_ms": {k: v * 1000 for k, v in res.timings.items() if k != "total"},
            "_reference": reference, "_text": text, "_blocks_input": (res.answer, res.candidates)})
    return records
