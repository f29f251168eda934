"""How much of each manual's figures `corpus manual` keeps, against a simple reference count.

For every manual (a Debian package): pages, sections with figures, documents, figures kept and
left out (by reason), captions by source, and coverage = the share of the reference figures that
end up in a document. The reference is deliberately simple and independent of m2io's parser:

- HTML: every ``<img>`` in a page's body (not in script/noscript/template) whose file is a raster
  image of content size (longer side >= 40 px and >= 1600 px^2, the decor rule's thresholds, and not
  drawn smaller than 40 px by its width/height attributes) and
  that appears on at most 5 pages (site logos and navigation arrows appear on every page);
- DocBook: every ``mediaobject`` (not ``inlinemediaobject``) with such a raster file.

Figures in sections too short to become a document (< 12 words) count as missed, so coverage is
what a training corpus gets, not what the parser sees.

    python bench/manual_coverage.py gimp=gimp-help-en grass=grass-doc gnumeric=gnumeric-doc:docbook \\
        --out bench/results/manual-coverage.json
"""
from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from pathlib import Path

import lxml.html
from lxml import etree

from m2io.corpus.manual.build import ManualConfig, build_manual_dataset
from m2io.corpus.manual.formats import find_sources
from m2io.corpus.manual.debian import default_cache_dir, fetch_package
from m2io.corpus.manual.decor import image_size

MIN_SIDE, MIN_AREA, MAX_PAGES = 40, 40 * 40, 5
DOCBOOK_SUFFIXES = (".xml", ".docbook", ".dbk")  # here too, so the script also measures m2io before DocBook


def _content_size(path: Path, sizes: dict) -> bool:
    if path not in sizes:
        sizes[path] = image_size(path) if path.is_file() else None
    size = sizes[path]
    return size is not None and max(size) >= MIN_SIDE and size[0] * size[1] >= MIN_AREA


def reference_figures(root: Path, pages: list[Path]) -> set[tuple[str, Path]]:
    """(page stem relative to the manual, resolved image file) for every figure a reader would count."""
    sizes: dict = {}
    found: list[tuple[str, Path]] = []
    for page in pages:
        key = page.relative_to(root).with_suffix("").as_posix()
        if page.suffix.lower() in DOCBOOK_SUFFIXES:
            parser = etree.XMLParser(load_dtd=True, resolve_entities=True, no_network=True, recover=True)
            tree = etree.parse(str(page), parser)
            try:
                tree.xinclude()
            except etree.XIncludeError:
                pass
            for media in tree.iter("{*}mediaobject"):
                refs = [d.get("fileref") for d in media.iter("{*}imagedata") if d.get("fileref")]
                raster = [r for r in refs if Path(r).suffix.lower() in (".png", ".jpg", ".jpeg", ".gif")]
                if raster and _content_size((page.parent / raster[0]).resolve(), sizes):
                    found.append((key, (page.parent / raster[0]).resolve()))
            continue
        try:
            doc = lxml.html.document_fromstring(page.read_bytes())
        except (ValueError, etree.ParserError):
            continue
        for img in doc.iter("img"):
            if any(a.tag in ("script", "noscript", "template", "head") for a in img.iterancestors()):
                continue
            link = next((a.get("href") for a in img.iterancestors("a") if a.get("href")), "")
            if link.split("#")[0].split("?")[0].lower().endswith((".html", ".htm")):
                continue  # a thumbnail that links to another page is navigation (galleries, indexes)
            src = (img.get("src") or "").split("#")[0].split("?")[0]
            if not src or ":" in src:
                continue
            path = (page.parent / src).resolve()
            shown = [int(v) for v in (img.get("width"), img.get("height")) if v and v.isdigit()]
            if shown and max(shown) < MIN_SIDE:
                continue  # drawn as an icon (height="12"), whatever the file's size
            if _content_size(path, sizes):
                found.append((key, path))
    on_pages = Counter(p for _, p in set(found))
    return {(k, p) for k, p in found if on_pages[p] <= MAX_PAGES}


def measure(name: str, package: str, source: str) -> dict:
    root = fetch_package(package, default_cache_dir())
    t0 = time.perf_counter()
    config = ManualConfig(name=name, source=source) if source != "auto" else ManualConfig(name=name)
    ds, report = build_manual_dataset(root, config)
    seconds = time.perf_counter() - t0
    _, pages, _ = find_sources(root.resolve(), "en", source)
    base = Path(os.path.commonpath([p.parent for p in pages]))
    reference = reference_figures(base, pages)
    kept = {(d.id.split("#")[0], ds.images[i].path.resolve()) for d in ds.documents for i in d.image_ids}
    hit = reference & kept
    sections_ref = {k for k, _ in reference}
    return {
        "manual": name, "package": package, "source": source, "pages": report.pages,
        "sections_with_figures": report.sections_with_figures, "documents": len(ds.documents), "qa": len(ds.qa),
        "figures_kept": report.figures_kept, "figures_left_out": dict(report.figures_dropped),
        "sections_too_short": report.sections_too_short, "captions": dict(report.caption_sources),
        "reference_figures": len(reference), "reference_kept": len(hit),
        "coverage": round(len(hit) / len(reference), 3) if reference else None,
        "kept_not_in_reference": len(kept - reference), "pages_with_reference_figures": len(sections_ref),
        "build_seconds": round(seconds, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("manuals", nargs="+", help="name=package or name=package:docbook")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    rows = []
    for spec in args.manuals:
        name, _, rest = spec.partition("=")
        package, _, source = rest.partition(":")
        row = measure(name, package, source or "auto")
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
