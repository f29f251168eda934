"""Indexing throughput against its bound, the text encoder's own rate on the same texts.

Builds a text-only MRAMG dataset of N documents from real manual text (one chunk each, so
the indexer encodes exactly the texts the bare encoder does), then alternates, `--repeats`
times: (a) `TextEncoder.encode` on the chunks' embedding texts, (b) `m2io index` into a fresh
LanceDB folder. Reports medians and the ratio b/a (DESIGN.md budget: >= 0.8). Also reports
peak RSS of indexing N and 3N documents in subprocesses (memory should stay flat as the
corpus grows: documents stream in batches).

    .venv/bin/python bench/index_throughput.py --corpus data/gimp --docs 600 --repeats 3
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from m2io.corpus.chunk import chunk_document
from m2io.corpus.mramg import Dataset, read_dataset, write_dataset
from m2io.index.build import IndexConfig, build_index, embedding_text
from m2io.index.models import IndexModels
from m2io.types import PIC, Document


def text_only_dataset(corpus: Path, n_docs: int) -> Dataset:
    """N one-chunk documents made of real chunk texts (images removed), cycled if needed."""
    src = read_dataset(corpus)
    texts = []
    for doc in src.documents:
        for c in chunk_document(doc):
            text = c.text.replace(PIC, "").strip()
            if len(text.split()) > 20:
                texts.append(text)
    docs = [Document(f"d{i}", f"{texts[i % len(texts)]} (copy {i // len(texts)})", []) for i in range(n_docs)]
    return Dataset(name="bench", documents=docs)


def peak_rss_of_indexing(folder: Path, out: Path) -> float:
    """Peak RSS (MiB) of a fresh process that indexes ``folder``.

    Read from VmHWM, which execve resets; ru_maxrss would carry over this process's own peak.
    """
    code = ("from pathlib import Path; from m2io.index.build import IndexConfig, build_index;"
            f"build_index([Path({str(folder)!r})], Path({str(out)!r}), IndexConfig(), progress=False);"
            "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])")
    out_text = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(out_text.strip().splitlines()[-1]) / 1024  # KiB -> MiB


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=Path("data/gimp"))
    ap.add_argument("--docs", type=int, default=600)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="m2io-bench-"))
    ds = text_only_dataset(args.corpus, args.docs)
    write_dataset(ds, tmp / "data")
    models = IndexModels()
    texts = [embedding_text(d.content, [], "", True) for d in ds.documents]
    models.text.encode(texts[:64])  # warm-up
    encoder_rates, index_rates = [], []
    for r in range(args.repeats):
        t0 = time.perf_counter()
        models.text.encode(texts)
        encoder_rates.append(len(texts) / (time.perf_counter() - t0))
        shutil.rmtree(tmp / "index", ignore_errors=True)
        t0 = time.perf_counter()
        report = build_index([tmp / "data"], tmp / "index", IndexConfig(), progress=False, models=models)
        index_rates.append(report.chunks / (time.perf_counter() - t0))
        print(f"repeat {r + 1}: encoder {encoder_rates[-1]:.1f} chunks/s, index {index_rates[-1]:.1f} chunks/s",
              flush=True)
    enc, idx = statistics.median(encoder_rates), statistics.median(index_rates)

    big = text_only_dataset(args.corpus, 3 * args.docs)
    write_dataset(big, tmp / "data3")
    rss_small = peak_rss_of_indexing(tmp / "data", tmp / "rss1")
    rss_big = peak_rss_of_indexing(tmp / "data3", tmp / "rss3")
    result = {"docs": args.docs, "repeats": args.repeats, "encoder_chunks_per_s_median": enc,
              "index_chunks_per_s_median": idx, "ratio": idx / enc,
              f"peak_rss_mib_{args.docs}_docs": rss_small, f"peak_rss_mib_{3 * args.docs}_docs": rss_big}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
