"""Which mix of visual, caption and context makes the best text-space vector for an image?

For each QA question of a corpus, every image of the corpus is ranked by cosine similarity
between the question's embedding and the image's mixed vector; we report image recall@10 (the
share of the question's gold images in the top 10) and MRR of the first gold image. The visual
part is the zero-shot label bridge, or an adapter (`--adapter`, trained on another corpus to
keep the comparison honest).

    .venv/bin/python bench/image_mix.py --corpus data/kicad --adapter index/gimp-adapter.npz
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from m2io.corpus.chunk import image_contexts
from m2io.corpus.mramg import read_dataset
from m2io.encoders.bridge import ImageAdapter, ImageMix, mix_vectors, unit
from m2io.encoders.image import load_image
from m2io.index.models import IndexModels

MIXES = {
    "caption only": ImageMix(0, 1, 0),
    "context only": ImageMix(0, 0, 1),
    "visual only": ImageMix(1, 0, 0),
    "caption+context 0.6/0.4": ImageMix(0, 0.6, 0.4),
    "visual+caption 0.3/0.7": ImageMix(0.3, 0.7, 0),
    "0.2/0.5/0.3": ImageMix(0.2, 0.5, 0.3),
    "0.1/0.6/0.3": ImageMix(0.1, 0.6, 0.3),
    "equal (the default)": ImageMix(1, 1, 1),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--adapter", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    ds = read_dataset(args.corpus)
    models = IndexModels()
    ids = sorted(ds.images)
    contexts: dict[str, str] = {}
    for doc in ds.documents:
        for image_id, ctx in image_contexts(doc).items():
            contexts.setdefault(image_id, ctx)
    feats = models.image.encode([load_image(ds.images[i].path) for i in ids])
    visual_kinds = {"zero-shot": models.bridge(feats.probs)}
    if args.adapter:
        visual_kinds["adapter"] = ImageAdapter.load(args.adapter)(feats.visual)
    caption = models.text.encode([ds.images[i].caption for i in ids])
    context = models.text.encode([contexts.get(i, "") for i in ids])
    qa = [q for q in ds.qa if q.image_ids]
    questions = unit(models.text.encode([q.question for q in qa]))
    position = {image_id: n for n, image_id in enumerate(ids)}
    results = {}
    for vname, visual in visual_kinds.items():
        for mname, mix in MIXES.items():
            if mix.visual == 0 and vname != "zero-shot":
                continue  # the same numbers as under zero-shot
            vecs = np.stack([mix_vectors([visual[n], caption[n], context[n]], mix) for n in range(len(ids))])
            sims = questions @ vecs.T
            order = np.argsort(-sims, axis=1)
            recall, rr = [], []
            for q, row in zip(qa, order):
                gold = {position[i] for i in q.image_ids if i in position}
                top = row[:10]
                recall.append(len(gold & set(top.tolist())) / len(gold))
                first = next((r for r, j in enumerate(row, 1) if j in gold), None)
                rr.append(1 / first if first else 0.0)
            name = mname if mix.visual == 0 else f"{mname} [{vname}]"
            results[name] = {"image_recall@10": float(np.mean(recall)), "mrr": float(np.mean(rr))}
            print(f"{name:42s} recall@10 {np.mean(recall):.3f}  MRR {np.mean(rr):.3f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"corpus": str(args.corpus), "images": len(ids), "questions": len(qa),
                                         "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
