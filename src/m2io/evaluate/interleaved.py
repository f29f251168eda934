"""The interleaved benchmark: the grounded unified model and the M2IO pipeline on the same items and drafts.

For every question with gold figures (template questions, and user-phrased ones where given), the
pipeline drafts once (retrieval, section ranking, the ``focused`` answer, candidates); the unified
model answers from that draft (:class:`~m2io.unified.answer.UnifiedAnswerer`), and each baseline
inserter (``rule``, ``r1``) places the candidates in the same draft. Every system is scored with the
inserters' end-to-end metrics (image F1 / precision / recall, ordering, exact and soft position,
:func:`m2io.evaluate.end_to_end.e2e_scores`) and ROUGE-L / BERTScore against the gold text; the
unified model's answers also report well-formedness, reference steps and drawn steps apart, and
for drawn images their fidelity to the section's figures, their alignment with the text around
them and how often one matches a corpus figure (retrieve or generate). The summary has every mean
with its 95% bootstrap interval and n, and paired differences (unified - baseline) per item.

    m2io eval data/wireshark --task interleaved --index index/wireshark --questions questions
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from m2io.evaluate.bootstrap import bootstrap_ci
from m2io.evaluate.summary import _mean
from m2io.metrics.interleaved import best_match, context_alignment, neighbour_text
from m2io.types import PIC
from m2io.unified.mix import section_body

UNIFIED = "unified"
SCORES = ("image_f1", "image_precision", "image_recall", "ordering", "position_accuracy", "position_accuracy_soft",
          "rouge_l", "bertscore_f1", "well_formed", "reference_steps", "drawn_steps", "text_steps", "answer_words",
          "fidelity", "alignment_context", "snapped_share", "oracle_f1")
HEADLINE = ("image_f1", "ordering", "position_accuracy_soft", "rouge_l", "bertscore_f1", "well_formed")
"""The scores every unified table leads with."""
PAIRED = ("image_f1", "ordering", "position_accuracy_soft", "rouge_l", "bertscore_f1")


@dataclass
class InterleavedConfig:
    baselines: tuple[str, ...] = ("rule", "r1")
    """Pipeline inserters placed in the same drafts, scored beside the unified model."""


def reference_of(content: str) -> str:
    body = section_body(content)
    return " ".join(body.replace(PIC, " ").split())


def section_figures(dataset, doc) -> list:
    """The figures of a section that have an image file, in order."""
    return [dataset.images[i] for i in doc.image_ids if i in dataset.images and dataset.images[i].path]


def square_pictures(paths, size: int) -> tuple[list[int], list]:
    """The pictures at ``paths`` fitted in ``size`` squares, and which of ``paths`` they are: a broken
    reference figure is left out of the reference."""
    from m2io.encoders.image import load_image
    from m2io.unified.tokenizer import to_square

    kept, pictures = [], []
    for k, path in enumerate(paths):
        try:
            pictures.append(to_square(load_image(path), size))
        except Exception:  # noqa: BLE001 - any unreadable figure counts as missing
            continue
        kept.append(k)
    return kept, pictures


def drawn_scores(answer, figures: list, models, image_size: int) -> dict:
    """Drawn images only: fidelity (visual cosine to the nearest gold figure), alignment with the text around
    them, and the share shown as a matching corpus figure."""
    from m2io.encoders.image import load_image

    drawn = [k for k, s in enumerate(answer.steps) if s.kind == "image" and s.png]
    if not drawn:
        return {}
    import io

    pictures = [load_image(io.BytesIO(answer.steps[k].png)) for k in drawn]
    feats = models.image.encode(pictures)
    _, ref_pics = square_pictures([f.path for f in figures], image_size)
    ref_visual = models.image.encode(ref_pics).visual if ref_pics else np.zeros((0, 1))
    contexts = [neighbour_text(answer.steps, k) for k in drawn]
    ctx_vecs = models.text.encode([c or " " for c in contexts])
    in_text = models.image_text_vectors(feats)
    return {"fidelity": _mean([best_match(v, ref_visual)[1] for v in feats.visual]),
            "alignment_context": _mean([context_alignment(t, c if ctx else None)
                                        for t, c, ctx in zip(in_text, ctx_vecs, contexts)]),
            "snapped_share": _mean([float(bool(answer.steps[k].figure and answer.steps[k].figure.shown))
                                    for k in drawn])}


def evaluate_interleaved(answerer, dataset, items=None, kinds: dict | None = None, cfg=InterleavedConfig(),
                         bertscore=None, progress: bool = True) -> list[dict]:
    """One record per system and question with gold figures (``items``: e.g. user-phrased; default: the dataset's)."""
    from tqdm import tqdm

    from m2io.components import ComponentConfig, Components
    from m2io.corpus.questions import TEMPLATE
    from m2io.evaluate.end_to_end import answer_scores, e2e_scores
    from m2io.metrics import rouge_l, strip_placeholders

    from m2io.pipeline import Pipeline

    pipeline = answerer.pipeline
    components = Components(ComponentConfig(), answerer.retriever.models.text)
    baselines = {name: Pipeline(answerer.retriever, pipeline.answerer, components.inserter(name), pipeline.config)
                 for name in cfg.baselines}  # each places the unified model's own drafts
    docs = {d.id: d for d in dataset.documents}
    items = [q for q in (items if items is not None else dataset.qa) if q.image_ids]
    records = []
    for q in tqdm(items, desc=f"interleaved {dataset.name}", unit="q", disable=not progress):
        draft = pipeline.draft(q.question)
        answer = answerer.answer_draft(draft)
        reference = strip_placeholders(q.ground_truth)
        gold = list(dict.fromkeys(q.image_ids))
        oracle = answer_scores(q, dataset.name, draft.candidates, draft.provenance, draft.segments)["oracle_f1"]
        base = {"dataset": dataset.name, "qa_id": q.id, "kind": TEMPLATE if not kinds else "user",
                "question_kind": (kinds or {}).get(q.id, TEMPLATE), "query": q.question, "gold": gold,
                "_reference": reference}
        ia = answer.interleaved
        text = " ".join(ia.segments)
        doc = docs.get(q.provenance[0]) if q.provenance else None
        figures = section_figures(dataset, doc) if doc else []
        scores = {**e2e_scores(q, ia.segments, ia.placements), "rouge_l": rouge_l(reference, text),
                  "well_formed": float(answer.well_formed), "oracle_f1": oracle,
                  "reference_steps": float(sum(s.kind == "reference" for s in answer.steps)),
                  "drawn_steps": float(sum(s.kind == "image" for s in answer.steps)),
                  "text_steps": float(sum(s.kind == "text" for s in answer.steps)),
                  "answer_words": float(len(text.split())),
                  **drawn_scores(answer, figures, answerer.retriever.models, answerer.model.image_size)}
        records.append({**base, "system": UNIFIED, "text": text, "_text": text,
                        "steps": [{"kind": s.kind, "text": s.text} if s.kind == "text" else
                                  {"kind": s.kind, "ref": s.ref, "image_id": s.figure.image_id} if s.kind == "reference"
                                  else {"kind": s.kind, "codes": s.codes} for s in answer.steps],
                        "placements": [[p.image_id, p.slot] for p in ia.placements], "damage": answer.damage,
                        "tokens_generated": answer.tokens_generated, "loops_broken": answer.loops_broken,
                        "lines_forbidden": answer.lines_forbidden, "scores": scores,
                        "latency_ms": answer.timings["total"] * 1000,
                        "stage_ms": {k: v * 1000 for k, v in answer.timings.items() if k != "total"}})
        pipe_text = " ".join(draft.segments)
        for name, baseline in baselines.items():
            placed = baseline.place(draft)
            records.append({**base, "system": f"pipeline:{name}", "text": pipe_text, "_text": pipe_text,
                            "placements": [[p.image_id, p.slot] for p in placed.answer.placements],
                            "scores": {**e2e_scores(q, draft.segments, placed.answer.placements),
                                       "rouge_l": rouge_l(reference, pipe_text), "oracle_f1": oracle,
                                       "answer_words": float(len(pipe_text.split()))},
                            "latency_ms": placed.timings["total"] * 1000, "tokens_generated": placed.tokens_generated})
    if bertscore is not None and records:
        values = bertscore([r["_reference"] for r in records], [r["_text"] or " " for r in records])
        for r, v in zip(records, values):
            r["scores"]["bertscore_f1"] = v if r["_text"] else 0.0
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in records]


def _summary(records: list[dict]) -> dict:
    out: dict = {"n": len(records)}
    for key in SCORES:
        values = [r["scores"].get(key) for r in records if r["scores"].get(key) is not None]
        if values:
            out[key] = float(np.mean(values))
            out[f"{key}_ci95"] = bootstrap_ci(values)
            out[f"{key}_n"] = len(values)
    lat = [r["latency_ms"] for r in records]
    out["latency_ms_p50"] = float(np.percentile(lat, 50)) if lat else 0.0
    out["latency_ms_p95"] = float(np.percentile(lat, 95)) if lat else 0.0
    out["tokens_generated_mean"] = _mean([r.get("tokens_generated", 0) for r in records]) or 0.0
    return out


def summarize_interleaved(records: list[dict]) -> dict:
    """Per system (and per question kind: template, user): every score's mean, 95% interval and n; paired
    differences unified - each pipeline baseline on the same items."""
    out: dict = {"systems": {}, "paired": {}}
    for kind in sorted({r["kind"] for r in records}):
        chosen = [r for r in records if r["kind"] == kind]
        for system in dict.fromkeys(r["system"] for r in chosen):
            out["systems"][f"{kind}/{system}"] = _summary([r for r in chosen if r["system"] == system])
        unified = {(r["dataset"], r["qa_id"]): r for r in chosen if r["system"] == UNIFIED}
        for system in dict.fromkeys(r["system"] for r in chosen if r["system"] != UNIFIED):
            pairs = [(unified[(r["dataset"], r["qa_id"])], r) for r in chosen
                     if r["system"] == system and (r["dataset"], r["qa_id"]) in unified]
            row = {"n": len(pairs)}
            for key in PAIRED:
                diffs = [a["scores"][key] - b["scores"][key] for a, b in pairs
                         if a["scores"].get(key) is not None and b["scores"].get(key) is not None]
                if diffs:
                    row[key] = float(np.mean(diffs))
                    row[f"{key}_ci95"] = bootstrap_ci(diffs)
            out["paired"][f"{kind}/{UNIFIED} - {system}"] = row
    return out
