"""Does the form a manual ships in change retrieval? Recall@10 over one manual read as HTML and as PDF.

Both readings are indexed with the defaults (``m2io index``). The questions are the HTML reading's
(one per document with figures, from its section titles); each is asked of both indexes. In the HTML
index the gold document is the question's provenance; in the PDF index it is the PDF document that
holds the most of the gold document's figures, matched by perceptual hash (as bench/ingest_twins.py
does), or where no figure matches, the PDF document with the same heading. A question whose figures the PDF reading lost has no gold document there and counts as a miss.

doc recall@10 = share of questions whose gold document is among the top 10 chunks' documents, with
a paired bootstrap interval on the difference (PDF - HTML); also the same on the questions whose
gold document the PDF reading has ("mapped"), which separates retrieval from figures lost in reading.

    python bench/ingest_retrieval.py --html /tmp/ds/freedombox-html --pdf /tmp/ds/freedombox-pdf \\
        --index-root /tmp/ingest-index --out bench/results/ingest/freedombox-retrieval.json
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from ingest_twins import _hash, _heading  # noqa: E402

from m2io.corpus.mramg import read_dataset  # noqa: E402
from m2io.evaluate.bootstrap import bootstrap_ci  # noqa: E402
from m2io.retrieve import Retriever  # noqa: E402


def _doc_map(html, pdf, max_distance: int) -> dict[str, str]:
    """HTML document id -> the PDF document holding most of its figures."""
    pdf_docs = {i: d.id for d in pdf.documents for i in d.image_ids}
    hashes = [(i, _hash(pdf.images[i].path)) for i in pdf_docs]
    hashes = [(i, h) for i, h in hashes if h is not None]
    by_heading = {_heading(d): d.id for d in pdf.documents}
    out = {}
    for doc in html.documents:
        votes: Counter = Counter()
        for image_id in doc.image_ids:
            h = _hash(html.images[image_id].path)
            if h is None or not hashes:
                continue
            dist, best = min((h - ph, pi) for pi, ph in hashes)
            if dist <= max_distance:
                votes[pdf_docs[best]] += 1
        if votes:
            out[doc.id] = votes.most_common(1)[0][0]
        elif _heading(doc) in by_heading:  # figures the PDF ships as other files: the same heading
            out[doc.id] = by_heading[_heading(doc)]
    return out


def _index(dataset: Path, out: Path) -> Path:
    if not (out / "m2io-index.json").is_file():
        subprocess.run([sys.executable, "-m", "m2io.cli", "index", str(dataset), "--out", str(out)], check=True)
    return out


def _hits(index: Path, name: str, questions: list[tuple[str, str | None]]) -> list[float]:
    retriever = Retriever.open(index)
    try:
        hits = []
        for text, gold in questions:
            docs = {r.doc_id for r in retriever.search(text=text, k=10)}
            hits.append(float(gold is not None and f"{name}/{gold}" in docs))
        return hits
    finally:
        retriever.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", type=Path, required=True, help="dataset folder of the HTML reading")
    ap.add_argument("--pdf", type=Path, required=True, help="dataset folder of the PDF reading")
    ap.add_argument("--index-root", type=Path, required=True)
    ap.add_argument("--max-distance", type=int, default=10)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    html, pdf = read_dataset(args.html), read_dataset(args.pdf)
    mapping = _doc_map(html, pdf, args.max_distance)
    questions = [(q.question, q.provenance[0]) for q in html.qa if q.provenance]
    html_hits = _hits(_index(args.html, args.index_root / "html"), html.name, questions)
    pdf_hits = _hits(_index(args.pdf, args.index_root / "pdf"), pdf.name,
                     [(text, mapping.get(gold)) for text, gold in questions])
    diff = list(np.array(pdf_hits) - np.array(html_hits))
    result = {"n": len(questions), "mapped": sum(1 for _, g in questions if g in mapping),
              "html_recall@10": float(np.mean(html_hits)), "html_ci95": list(bootstrap_ci(html_hits)),
              "pdf_recall@10": float(np.mean(pdf_hits)), "pdf_ci95": list(bootstrap_ci(pdf_hits)),
              "pdf_minus_html": float(np.mean(diff)), "diff_ci95": list(bootstrap_ci(diff))}
    # The same on the questions whose gold document the PDF reading has (its figures were matched).
    kept = [k for k, (_, gold) in enumerate(questions) if gold in mapping]
    if kept:
        mapped_diff = [diff[k] for k in kept]
        result.update({"mapped_html_recall@10": float(np.mean([html_hits[k] for k in kept])),
                       "mapped_pdf_recall@10": float(np.mean([pdf_hits[k] for k in kept])),
                       "mapped_pdf_minus_html": float(np.mean(mapped_diff)),
                       "mapped_diff_ci95": list(bootstrap_ci(mapped_diff))})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
