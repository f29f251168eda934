"""The interleaved benchmark: a unified model answers corpus questions with text steps and images.

For every question of a dataset (questions of never-trained manuals), the reference is its
section: the text (heading line dropped, figure marks removed) and its figures. Per item, in the
JSONL: the generation (steps, damage, image codes), well-formed or not, and the scores of
:mod:`m2io.metrics.interleaved`; images are scored at the tokenizer's resolution (reference
figures shrunk to it too, so fidelity compares like with like). **Retrieve or generate**: each
generated image's nearest figure in the corpus index; at ``snap_threshold`` or above the real
figure is shown (the generated one kept beside it), and the alignment scores are given again for
the answer as shown. The summary has every mean with its 95% bootstrap interval.

    m2io eval data/kicad --task interleaved --index index/kicad --unified-model runs/unified-warmup
"""
from __future__ import annotations

import time
from dataclasses import dataclass
import numpy as np

from m2io.evaluate.bootstrap import bootstrap_ci
from m2io.evaluate.summary import _mean
from m2io.metrics.interleaved import (best_match, caption_alignment, context_alignment, cosine, image_count_score,
                                      neighbour_text)
from m2io.types import PIC
from m2io.unified.mix import section_body

SCORES = ("well_formed", "image_count", "text_bertscore_f1", "text_question_cosine", "alignment_context",
          "alignment_caption", "fidelity", "snapped_share", "alignment_context_shown", "alignment_caption_shown",
          "judge_text_quality", "judge_perceptual_quality", "judge_image_coherence", "judge_text_image_coherence",
          "judge_helpfulness")
HEADLINE = SCORES[:7]
"""The scores every unified table leads with (the model card, the ablation, paired differences)."""


@dataclass
class InterleavedConfig:
    max_new_tokens: int = 256
    temperature: float = 0.0
    """Sampling temperature (0: greedy); of the text alone when ``image_temperature`` is set."""
    image_temperature: float | None = 1.0
    """Image tokens' own temperature (top-p then off); None: one temperature for both. Greedy text with
    images drawn at 1.0 was chosen on the Debian Handbook (bench/RESULTS.md, decoding)."""
    top_p: float = 0.95
    batch_size: int = 16
    snap_threshold: float = 0.8
    """Visual cosine at or above which a generated image is shown as the corpus figure it matches."""
    seed: int = 0


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


def _image_scores(retriever, visual, text_vecs, context_vecs, ref_visual, ref_caption_vecs,
                  threshold: float) -> tuple[dict, list[dict]]:
    """Per generated image: alignment (as generated, and as shown after retrieve-or-generate), fidelity and
    its nearest corpus figure; the item's scores are their means."""
    from m2io.encoders.image import load_image
    from m2io.unified.answer import nearest_figure

    models = retriever.models
    rows: dict[str, list] = {k: [] for k in ("alignment_context", "alignment_caption", "fidelity", "snapped_share",
                                              "alignment_context_shown", "alignment_caption_shown")}
    snaps = []
    for j in range(len(visual)):
        match, sim = best_match(visual[j], ref_visual)
        rows["fidelity"].append(sim)
        figure = nearest_figure(retriever, visual[j], threshold)
        snaps.append({"image_id": figure.image_id if figure else None,
                      "similarity": figure.similarity if figure else None, "snapped": bool(figure and figure.shown)})
        rows["snapped_share"].append(float(snaps[-1]["snapped"]))
        if text_vecs is None:
            continue
        shown = text_vecs[j]
        if figure is not None and figure.shown:
            shown = models.image_text_vectors(models.image.encode([load_image(figure.path)]))[0]
        for suffix, vec in (("", text_vecs[j]), ("_shown", shown)):
            rows["alignment_context" + suffix].append(context_alignment(vec, context_vecs[j]))
            rows["alignment_caption" + suffix].append(caption_alignment(vec, ref_caption_vecs, match))
    return {k: _mean(v) for k, v in rows.items()}, snaps


def evaluate_interleaved(model, dataset, retriever, cfg: InterleavedConfig, bertscore=None, judge=None,
                         progress: bool = True) -> list[dict]:
    """One record per question of ``dataset`` (all of them)."""
    from tqdm import tqdm

    models = retriever.models
    docs = {d.id: d for d in dataset.documents}
    items = [q for q in dataset.qa if q.provenance and q.provenance[0] in docs]
    records = []
    bar = tqdm(total=len(items), desc=f"interleaved {dataset.name}", unit="item", disable=not progress)
    for start in range(0, len(items), cfg.batch_size):
        batch = items[start:start + cfg.batch_size]
        t0 = time.perf_counter()
        generations = model.generate([q.question for q in batch], max_new_tokens=cfg.max_new_tokens,
                                     temperature=cfg.temperature, top_p=cfg.top_p, seed=cfg.seed + start,
                                     image_temperature=cfg.image_temperature)
        per_item_ms = (time.perf_counter() - t0) * 1000 / len(batch)
        for q, (ids, traj) in zip(batch, generations):
            doc = docs[q.provenance[0]]
            figures = section_figures(dataset, doc)
            kept, ref_pics = square_pictures([f.path for f in figures], model.image_size)
            ref_visual = models.image.encode(ref_pics).visual if ref_pics else np.zeros((0, 1))
            ref_caption_vecs = models.text.encode([figures[k].caption or "" for k in kept]) \
                if ref_pics else np.zeros((0, 1))
            image_steps = [k for k, s in enumerate(traj.steps) if s.kind == "image"]
            gen_images = [model.decode_image(traj.steps[k].codes) for k in image_steps]
            text = " ".join(s.text for s in traj.texts)
            scores: dict = {"well_formed": float(traj.well_formed),
                            "image_count": image_count_score(len(gen_images), len(figures))}
            vectors = models.text.encode([q.question, text or " "])
            scores["text_question_cosine"] = cosine(vectors[0], vectors[1]) if text else 0.0
            snaps = []
            if gen_images:
                feats = models.image.encode(gen_images)
                contexts = [neighbour_text(traj.steps, k) for k in image_steps]
                ctx_vecs = [v if c else None for c, v in zip(contexts, models.text.encode([c or " " for c in contexts]))]
                image_scores, snaps = _image_scores(retriever, feats.visual, models.image_text_vectors(feats), ctx_vecs,
                                                    ref_visual, ref_caption_vecs, cfg.snap_threshold)
                scores |= image_scores
            records.append({
                "id": q.id, "dataset": dataset.name, "question": q.question,
                "steps": [{"kind": s.kind, "text": s.text} if s.kind == "text" else {"kind": "image", "codes": s.codes}
                          for s in traj.steps],
                "damage": traj.damage, "reference_images": len(figures), "snaps": snaps,
                "raw": model.tokenizer.decode(ids, skip_special_tokens=False)[:4000],
                "tokens_generated": len(ids), "latency_ms": per_item_ms, "scores": scores,
                "_reference": reference_of(doc.content), "_text": text,
                "_gen_images": gen_images,
            })
            bar.update(1)
    bar.close()
    if bertscore is not None and records:
        values = bertscore([r["_reference"] for r in records], [r["_text"] or " " for r in records])
        for r, v in zip(records, values):
            r["scores"]["text_bertscore_f1"] = v if r["_text"] else 0.0
    if judge is not None:
        for r in tqdm(records, desc="judge", unit="item", disable=not progress):
            scores, raw = judge(r["question"], r["_reference"], r["steps"], r.pop("_gen_images"))
            r["judge_raw"], r["judge_unparsed"] = raw, scores is None
            r["scores"].update(scores or {})
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in records]


def summarize_interleaved(records: list[dict]) -> dict:
    """Mean and 95% bootstrap interval of every score, how many items each rests on, latency and tokens."""
    out: dict = {"n": len(records)}
    for key in SCORES:
        values = [r["scores"].get(key) for r in records if r["scores"].get(key) is not None]
        if values:
            out[key] = float(np.mean(values))
            out[f"{key}_ci95"] = bootstrap_ci(values)
            out[f"{key}_n"] = len(values)
    out["images_mean"] = _mean([sum(s["kind"] == "image" for s in r["steps"]) for r in records]) or 0.0
    out["latency_ms_p50"] = float(np.percentile([r["latency_ms"] for r in records], 50)) if records else 0.0
    out["tokens_generated_mean"] = _mean([r["tokens_generated"] for r in records]) or 0.0
    if any(r.get("judge_unparsed") for r in records):
        out["judge_unparsed_rate"] = _mean([float(bool(r.get("judge_unparsed"))) for r in records])
    return out
