"""A Markdown or reST docs tree against a plain count of its sources, for trees that ship no built HTML.

The reference reading here is deliberately simple and independent of the readers: regular
expressions over the source files.

- Markdown: ``![alt](path)`` and ``<img src=...>``; reST: ``.. figure::`` and ``.. image::``
  directives (substitution images too). Remote images are left out, and so are local ones whose
  file is not in the tree (no reader can keep those).
- Sections: ATX headings in Markdown; in reST, title lines underlined with punctuation.
- Reference documents: the sections that hold at least one such figure.

The bench reports the documents built against the reference documents, the share of the reference
figures (page, file) the reader finds, and the share that end up in a document (a section with
fewer than ``min_words`` words of text is not one).

    python bench/ingest_source_counts.py markdown=/path/to/posting-2.11.1 --name posting \\
        --out bench/results/ingest/posting-markdown.json
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from urllib.parse import unquote

from m2io.corpus.manual.build import ManualConfig, build_manual_dataset
from m2io.corpus.manual.debian import default_cache_dir
from m2io.corpus.manual.formats import find_sources, parse_source
from m2io.evaluate.bootstrap import bootstrap_ci

MD_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)|<img[^>]*?src=[\"']([^\"']+)", re.S | re.I)
MD_HEADING = re.compile(r"^#{1,6}\s+\S", re.M)
RST_IMAGE = re.compile(r"^\s*\.\.\s+(?:\|[^|]+\|\s+)?(?:figure|image)::\s*(\S+)", re.M)
RST_UNDERLINE = re.compile(r"^\S.*\n([=\-~^\"'`#*+<>_:.])\1{2,}\s*$", re.M)


def _resolve(ref: str, page: Path, root: Path) -> Path | None:
    ref = unquote(ref.split("#")[0].split("?")[0])
    if not ref or re.match(r"^[a-z]+:", ref):
        return None
    for base in (page.parent, root, root / "docs", root / "static"):
        path = (base / ref.lstrip("/")).resolve() if ref.startswith("/") else (page.parent / ref).resolve()
        if path.is_file():
            return path
        if not ref.startswith("/"):
            break
    built = root / "_images" / Path(ref).name  # Sphinx _sources beside _images
    return built if built.is_file() else None


def reference(kind: str, root: Path, pages: list[Path]) -> tuple[set[tuple[str, str]], int]:
    """(page, image file) pairs and the number of sections holding a figure."""
    figures: set[tuple[str, str]] = set()
    sections = 0
    for page in pages:
        text = page.read_text(errors="replace")
        if kind == "markdown":
            text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
            starts = [m.start() for m in MD_HEADING.finditer(text)]
            refs = lambda part: [a or b for a, b in MD_IMAGE.findall(part)]  # noqa: E731
        else:
            starts = [m.start() for m in RST_UNDERLINE.finditer(text)]
            refs = lambda part: RST_IMAGE.findall(part)  # noqa: E731
        bounds = [0, *starts, len(text)]
        for a, b in zip(bounds, bounds[1:]):
            found = {p for r in refs(text[a:b]) if (p := _resolve(r, page, root)) is not None}
            sections += bool(found)
            figures |= {(page.stem, str(p)) for p in found}
    return figures, sections


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tree", help="KIND=FOLDER, KIND markdown or rst")
    ap.add_argument("--name", required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    kind, folder = args.tree.split("=", 1)
    root = Path(folder).resolve()
    _, pages, _ = find_sources(root, "en", kind)
    ref_figures, ref_sections = reference(kind, root, pages)
    ds, report = build_manual_dataset(root, ManualConfig(name=args.name, source=kind), progress=True)
    kept = {str(ds.images[i].path.resolve()) for d in ds.documents for i in d.image_ids}
    hits = [float(f in kept) for _, f in sorted(ref_figures)]
    read = set()  # what the reader found, before sections too short to be documents are left out
    for page in pages:
        try:
            parsed = parse_source(page, kind, root, default_cache_dir())
        except Exception:  # noqa: BLE001 - counted by the build as unparsable
            continue
        read |= {(page.stem, str(f.src.resolve())) for s in parsed.sections for f in s.figures if f.src.is_file()}
    read_hits = [float(f in read) for f in sorted(ref_figures)]
    result = {"name": args.name, "tree": args.tree, "pages": len(pages), "reference_sections_with_figures": ref_sections,
              "documents": len(ds.documents), "documents_ratio": len(ds.documents) / max(ref_sections, 1),
              "reference_figures": len(ref_figures), "figures_read": {
                  "n": len(read_hits), "share": sum(read_hits) / len(read_hits) if read_hits else None,
                  "ci95": list(bootstrap_ci(read_hits)) if read_hits else None},
              "figures_in_documents": {
                  "n": len(hits), "share": sum(hits) / len(hits) if hits else None,
                  "ci95": list(bootstrap_ci(hits)) if hits else None},
              "sections_too_short": report.sections_too_short, "figures_dropped": dict(report.figures_dropped),
              "caption_sources": dict(report.caption_sources), "pages_unparsable": report.pages_unparsable[:5]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
