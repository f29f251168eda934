"""One manual read twice: as built HTML (the reference reading) and as PDF, Markdown or reST sources.

For manuals that ship both forms from one source (a Texinfo or Sphinx manual's HTML and PDF, a
Sphinx build with its ``_sources``), the HTML reading is the reference; it is the reader checked
against hand counts before (bench/RESULTS.md, "Reading manuals"). Against it, per candidate:

- **documents**: candidate documents / reference documents (goal 0.8-1.3);
- **figures found**: reference figures with a candidate figure of the same picture, matched one to
  one (closest pairs first) by a perceptual hash (ImageHash's pHash, Hamming distance <=
  ``--max-distance``), since a PDF re-encodes and rescales images (goal >= 90%; the goal is judged on
  this number). Also **found or placed**: found, or the candidate document with the same heading has a
  figure at the same index (for PDFs that ship other image files for print; this does not check that
  it is the same picture);
- **captions recovered**: of the found or placed figures whose reference caption the authors wrote as
  visible text (a figure title, ``<figcaption>``, a caption line or cell; not alt text or a file name),
  the share whose candidate caption says the same (normalised, similarity >= 0.9) (goal >= 85%);
- **positions**: of the found or placed figures, the share standing within one sentence of where the
  reference puts them: the sentence before the reference's ``<PIC>`` is looked up in the candidate document, and
  the candidate's ``<PIC>`` must follow it by at most one sentence (goal >= 85%). Sentences that are
  the reference's captions of that document's figures do not count as distance: where a candidate
  keeps a caption as body text, that is a caption miss, counted once, above.

Intervals: 95% bootstrap over figures (documents: the ratio only).

    python bench/ingest_twins.py --reference html=/path/to/html --candidate pdf=/path/manual.pdf \\
        --name octave --out bench/results/ingest/octave-pdf.json
"""
from __future__ import annotations

import argparse
import difflib
import json
import re
import time
from pathlib import Path

import imagehash
from PIL import Image as PILImage

from m2io.corpus.manual.build import ManualConfig, build_manual_dataset
from m2io.corpus.manual.formats import find_sources, parse_source
from m2io.corpus.manual.debian import default_cache_dir
from m2io.evaluate.bootstrap import bootstrap_ci
from m2io.types import PIC

AUTHORED = {"title", "caption_line", "table_cell", "caption_style"}
_SENTENCE = re.compile(r"(?<=[.!?:])\s+(?=[A-Z0-9\"'(\u201c])")
_NORM = re.compile(r"[^a-z0-9]+")


def _norm(text: str) -> str:
    return _NORM.sub(" ", text.lower()).strip()


def _hash(path: Path):
    try:
        with PILImage.open(path) as im:
            rgba = im.convert("RGBA")  # transparent PNGs onto white, as a page shows them
            white = PILImage.new("RGBA", rgba.size, "white")
            return imagehash.phash(PILImage.alpha_composite(white, rgba).convert("RGB"))
    except (OSError, ValueError):
        return None


def _build(kind: str, where: Path, name: str, cache: Path):
    config = ManualConfig(name=name, source=kind, cache=cache)
    t0 = time.perf_counter()
    if kind == "pdf" and where.is_file():
        ds, report = build_manual_dataset(None, config, files=[where], progress=True)
    else:
        ds, report = build_manual_dataset(where, config, progress=True)
    return ds, report, time.perf_counter() - t0


def _caption_sources(kind: str, where: Path, cache: Path) -> dict[Path, str]:
    """Resolved image file -> the best caption source the reader gave it (the reference's, for 'authored')."""
    _, paths, _ = find_sources(where, "en", kind)
    out: dict[Path, str] = {}
    for path in paths:
        try:
            page = parse_source(path, kind, where, cache)
        except Exception:  # noqa: BLE001 - the build reports unreadable pages itself
            continue
        for s in page.sections:
            for f in s.figures:
                key = f.src.resolve()
                if out.get(key) not in AUTHORED:
                    out[key] = f.caption_source
    return out


def _units(content: str) -> list[str]:
    """A document as sentences and <PIC> markers, in order."""
    out: list[str] = []
    for line in content.split("\n")[1:]:  # the first line is the heading path
        if line.strip() == PIC:
            out.append(PIC)
        else:
            out += [s for s in _SENTENCE.split(line) if s.strip()]
    return out


def _position_ok(ref_units: list[str], ref_at: int, cand_units: list[str], cand_at: int) -> bool:
    before = next((ref_units[i] for i in range(ref_at - 1, -1, -1) if ref_units[i] != PIC), None)
    after = next((ref_units[i] for i in range(ref_at + 1, len(ref_units)) if ref_units[i] != PIC), None)
    anchor, offset = (before, 1) if before else (after, 0)
    if anchor is None:
        return True  # a document of figures only
    target = _norm(anchor)
    sentences = [(i, _norm(u)) for i, u in enumerate(cand_units) if u != PIC]
    best = max(sentences, key=lambda s: difflib.SequenceMatcher(None, target, s[1]).ratio(), default=None)
    if best is None or difflib.SequenceMatcher(None, target, best[1]).ratio() < 0.8:
        return False
    index = best[0]
    # Count sentences (not markers) between the anchor and the candidate's <PIC>.
    lo, hi = sorted((index + offset, cand_at))
    between = sum(1 for u in cand_units[lo:hi] if u != PIC)
    return between <= 1


def _heading(doc) -> str:
    return _norm(doc.content.split("\n")[0].split(" > ")[-1])


def compare(ref, cand, ref_sources: dict[Path, str], max_distance: int) -> dict:
    ref_used = {i: d for d in ref.documents for i in d.image_ids}
    cand_used = {i: d for d in cand.documents for i in d.image_ids}
    cand_hashes = [(i, _hash(cand.images[i].path)) for i in cand_used]
    cand_hashes = [(i, h) for i, h in cand_hashes if h is not None]
    # Where a PDF ships other files for print (another widget theme, greyscale), pixels differ beyond
    # any hash: a figure is also matched by place (the document with the same heading, the same index).
    by_heading: dict[str, list] = {}
    for d in cand.documents:
        by_heading.setdefault(_heading(d), []).append(d)
    # One to one: the closest pairs first, each candidate figure taken once.
    ref_hashes = {i: _hash(ref.images[i].path) for i in ref_used}
    pairs = sorted((h - ch, ri, ci) for ri, h in ref_hashes.items() if h is not None for ci, ch in cand_hashes)
    assigned: dict[str, tuple[int, str]] = {}
    taken: set[str] = set()
    for dist, ri, ci in pairs:
        if dist > max_distance:
            break
        if ri not in assigned and ci not in taken:
            assigned[ri] = (dist, ci)
            taken.add(ci)
    found, placed, captions, positions, missed = [], [], [], [], []
    for image_id, doc in ref_used.items():
        match = assigned.get(image_id)
        ok = match is not None
        found.append(float(ok))
        index = doc.image_ids.index(image_id)
        twin = next((t for t in by_heading.get(_heading(doc), []) if len(t.image_ids) > index), None)
        placed.append(float(ok or twin is not None))
        if ok:
            cand_id = match[1]
        elif twin is not None:
            cand_id = twin.image_ids[index]
        else:
            missed.append(image_id)
            continue
        if ref_sources.get(Path(ref.images[image_id].path).resolve()) in AUTHORED:
            a, b = _norm(ref.images[image_id].caption), _norm(cand.images[cand_id].caption)
            captions.append(float(bool(a) and difflib.SequenceMatcher(None, a, b).ratio() >= 0.9))
        ref_units = _units(doc.content)
        cand_doc = cand_used[cand_id]
        # Caption text the candidate kept as body text (a caption miss, counted above) is not a sentence
        # of distance here: the reference reads it as the figure's caption.
        doc_captions = {_norm(ref.images[i].caption) for i in doc.image_ids} - {""}
        cand_units = [u for u in _units(cand_doc.content) if u == PIC or not any(
            difflib.SequenceMatcher(None, _norm(u), c).ratio() >= 0.9 for c in doc_captions)]
        ref_at = [k for k, u in enumerate(ref_units) if u == PIC][index]
        cand_at = [k for k, u in enumerate(cand_units) if u == PIC][cand_doc.image_ids.index(cand_id)]
        positions.append(float(_position_ok(ref_units, ref_at, cand_units, cand_at)))

    def stat(values: list[float]) -> dict:
        return {"n": len(values), "share": sum(values) / len(values) if values else None,
                "ci95": list(bootstrap_ci(values)) if values else None}

    return {"reference_documents": len(ref.documents), "documents": len(cand.documents),
            "documents_ratio": len(cand.documents) / max(len(ref.documents), 1),
            "reference_figures": len(ref_used), "figures": len(cand_used),
            "figures_found": stat(found), "figures_found_or_placed": stat(placed),
            "captions_recovered": stat(captions), "positions_within_1": stat(positions),
            "missed_examples": missed[:10]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", required=True, help="KIND=PATH of the reference reading (html=folder)")
    ap.add_argument("--candidate", required=True, help="KIND=PATH (pdf=file.pdf, markdown=folder, rst=folder)")
    ap.add_argument("--name", required=True)
    ap.add_argument("--max-distance", type=int, default=10)
    ap.add_argument("--cache", type=Path, default=default_cache_dir())
    ap.add_argument("--keep", type=Path, help="Write both datasets under this folder (to index them later)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    rkind, rpath = args.reference.split("=", 1)
    ckind, cpath = args.candidate.split("=", 1)
    ref, ref_report, ref_s = _build(rkind, Path(rpath), args.name, args.cache)
    cand, cand_report, cand_s = _build(ckind, Path(cpath), args.name, args.cache)
    result = compare(ref, cand, _caption_sources(rkind, Path(rpath).resolve(), args.cache), args.max_distance)
    result.update({"name": args.name, "reference": args.reference, "candidate": args.candidate,
                   "reference_seconds": ref_s, "candidate_seconds": cand_s,
                   "candidate_caption_sources": dict(cand_report.caption_sources),
                   "candidate_figures_dropped": dict(cand_report.figures_dropped)})
    if args.keep:
        from m2io.corpus.mramg import write_dataset
        write_dataset(ref, args.keep / f"{args.name}-{rkind}")
        write_dataset(cand, args.keep / f"{args.name}-{ckind}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "missed_examples"}, indent=1))


if __name__ == "__main__":
    main()
