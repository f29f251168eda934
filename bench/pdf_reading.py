"""PDF reading speed and memory: pages per second on text pages, and peak memory as the page count grows.

The first N pages of a long text PDF (by default R's reference manual from the Debian package
r-doc-pdf, LaTeX-made, about 3,500 pages) are copied into a new PDF and read by ``parse_pdf`` in a
fresh process each, so peak RSS is that read's alone. Pages stream (each is closed after reading;
figures go to disk as they are found); what grows with the page count is the text kept for the
sections. The time is ``parse_pdf``'s alone, not the dataset build's; the copied pages lose the
outline (pypdfium2 copies pages only), so headings come from fonts here.

    python bench/pdf_reading.py --pages 100 1000 --out bench/results/ingest/pdf-reading.json
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pypdfium2 as pdfium


def _child(pdf: Path, figures: Path) -> None:
    from m2io.corpus.manual.pdf import parse_pdf

    t0 = time.perf_counter()
    page = parse_pdf(pdf, figures)
    seconds = time.perf_counter() - t0
    words = sum(len(b.text.split()) for s in page.sections for b in s.blocks if hasattr(b, "text"))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "sections": len(page.sections), "words": words,
                      "figures": sum(len(s.figures) for s in page.sections), "peak_rss_mb": peak_mb}))


def _subset(source: Path, n: int, dest: Path) -> Path:
    src = pdfium.PdfDocument(source)
    out = pdfium.PdfDocument.new()
    out.import_pages(src, list(range(min(n, len(src)))))
    out.save(dest)
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pdf", type=Path, help="a long text PDF (default: refman.pdf of the Debian package r-doc-pdf)")
    ap.add_argument("--pages", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(Path(args.child[0]), Path(args.child[1]))
        return
    pdf = args.pdf
    if pdf is None:
        from m2io.corpus.manual.debian import default_cache_dir, fetch_package
        pdf = fetch_package("r-doc-pdf", default_cache_dir()) / "usr/share/doc/r-doc-pdf/manual/refman.pdf"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.pages:
            subset = _subset(pdf, n, Path(tmp) / f"first{n}.pdf")
            runs = []
            for r in range(args.repeats):
                out = subprocess.run([sys.executable, __file__, "--out", "-", "--child", str(subset),
                                      str(Path(tmp) / f"figs{n}-{r}")], capture_output=True, text=True, check=True)
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            seconds = sorted(x["seconds"] for x in runs)[len(runs) // 2]
            row = {"pages": n, "median_seconds": seconds, "pages_per_second": n / seconds,
                   "peak_rss_mb": max(x["peak_rss_mb"] for x in runs), "runs": runs}
            rows.append(row)
            print(f"{n} pages: {n / seconds:.1f} pages/s (median of {len(runs)}), peak RSS {row['peak_rss_mb']:.0f} MB",
                  flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"pdf": str(pdf), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
