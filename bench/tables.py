"""Render the Markdown tables of bench/RESULTS.md from the JSON files in bench/results/.

    .venv/bin/python bench/tables.py retrieval   # or: mix, throughput, faiss, inserters, load, r1policy [insert|e2e]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def _load(name: str):
    return json.loads((RESULTS / name).read_text())


def retrieval() -> str:
    rows = ["| corpus | queries | n | doc@1 | doc@5 | doc@10 | visual@1 | visual@5 | visual@10 | MRR | latency p50 / p95 ms |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for corpus in ("gimp", "kicad"):
        scores = _load(f"retrieval-{corpus}.json")["scores"]
        for kind, s in scores.items():
            vis = [f"{s[f'visual_recall@{k}']:.3f}" if f"visual_recall@{k}" in s else "-" for k in (1, 5, 10)]
            rows.append(f"| {corpus} | {kind} | {s['n']} | {s['doc_recall@1']:.3f} | {s['doc_recall@5']:.3f} | "
                        f"{s['doc_recall@10']:.3f} | {' | '.join(vis)} | {s['mrr']:.3f} | "
                        f"{s['latency_ms_p50']:.0f} / {s['latency_ms_p95']:.0f} |")
    return "\n".join(rows)


def mix() -> str:
    kicad, gimp = _load("image-mix-kicad.json")["results"], _load("image-mix-gimp.json")["results"]
    rows = ["| mix (visual/caption/context) | KiCad recall@10 | KiCad MRR | GIMP recall@10 | GIMP MRR |",
            "| --- | --- | --- | --- | --- |"]
    for name in kicad:
        g = gimp.get(name)
        rows.append(f"| {name} | {kicad[name]['image_recall@10']:.3f} | {kicad[name]['mrr']:.3f} | "
                    + (f"{g['image_recall@10']:.3f} | {g['mrr']:.3f} |" if g else "- | - |"))
    return "\n".join(rows)


def throughput() -> str:
    t = _load("index-throughput.json")
    docs = t["docs"]
    return "\n".join([
        "| measure | value |", "| --- | --- |",
        f"| text encoder alone, median of {t['repeats']} | {t['encoder_chunks_per_s_median']:.1f} chunks/s |",
        f"| m2io index (LanceDB, BM25, manifest), median of {t['repeats']} | {t['index_chunks_per_s_median']:.1f} chunks/s |",
        f"| ratio (budget >= 0.8) | {t['ratio']:.2f} |",
        f"| peak RSS indexing {docs} documents | {t[f'peak_rss_mib_{docs}_docs']:.0f} MiB |",
        f"| peak RSS indexing {3 * docs} documents | {t[f'peak_rss_mib_{3 * docs}_docs']:.0f} MiB |"])


def faiss() -> str:
    rows = ["| N | search | latency p50 ms | p95 ms | recall@10 vs faiss | build / insert s |",
            "| --- | --- | --- | --- | --- | --- |"]
    for r in _load("search-vs-faiss.json"):
        for key, label, build in [("faiss_flat", "faiss IndexFlatIP (exact)", None),
                                  ("lancedb_flat", "LanceDB flat (exact)", "lancedb_insert_s"),
                                  ("lancedb_ivfpq", "LanceDB IVF-PQ", "lancedb_ivfpq_build_s"),
                                  ("pgvector_flat", "pgvector exact", "pgvector_insert_s"),
                                  ("pgvector_hnsw", "pgvector HNSW", "pgvector_hnsw_build_s")]:
            if key not in r:
                continue
            s = r[key]
            rows.append(f"| {r['n']:,} | {label} | {s['latency_ms_p50']:.2f} | {s['latency_ms_p95']:.2f} | "
                        f"{s['recall@10_vs_faiss']:.3f} | {r[build]:.1f} |" if build else
                        f"| {r['n']:,} | {label} | {s['latency_ms_p50']:.2f} | {s['latency_ms_p95']:.2f} | 1.000 | - |")
    return "\n".join(rows)


def inserters(name: str = "inserters-gimp.json") -> str:
    runs = _load(name)["runs"]
    cols = ["image_precision", "image_recall", "image_f1", "ordering", "position_accuracy", "position_accuracy_soft",
            "rouge_l", "bertscore_f1", "fallback_rate"]
    rows = ["| task | inserter | n | P | R | F1 | ordering | position | position (soft) | ROUGE-L | BERTScore | "
            "fallback | latency p50 / p95 ms | insert stage p50 ms | model calls | tokens |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for key, s in runs.items():
        task, label = key.split(":")
        cells = " | ".join("-" if s.get(c) is None else f"{s[c]:.3f}" for c in cols)
        rows.append(f"| {task} | {label} | {s['n']} | {cells} | {s['latency_ms_p50']:.0f} / {s['latency_ms_p95']:.0f} "
                    f"| {s['stage_ms_p50'].get('insert', 0):.0f} | {s['model_calls_mean']:.1f} | "
                    f"{s['tokens_generated_mean']:.1f} |")
    return "\n".join(rows)


def load() -> str:
    rows = ["| inserter | clients | requests | throughput req/s | latency p50 ms | p95 ms | errors | image fetch errors |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in _load("load-gimp.json")["rows"]:
        rows.append(f"| {r['inserter']} | {r['clients']} | {r['requests']} | {r['throughput_rps']:.2f} | "
                    f"{r['latency_ms_p50']:.0f} | {r['latency_ms_p95']:.0f} | {r['errors']} | {r['image_fetch_errors']} |")
    return "\n".join(rows)


R1_ORDER = ("rule", "onepass", "r1-lm", "r1-cold", "r1-grpo-p0", "r1-grpo")
R1_NAMES = {"rule": "rule", "onepass": "onepass", "r1-lm": "r1-lm (shipped LoRA)", "r1-cold": "r1 cold start only",
            "r1-grpo-p0": "**r1 + GRPO (shipped)**", "r1-grpo": "r1 + GRPO + process rewards"}


def r1policy(task: str = "insert") -> str:
    """Every bench/r1_policy.py result of ``task``, a row per corpus and inserter (the -p0 files merged in)."""
    rows = ["| corpus | split | inserter | n | image F1 | ordering | exact position | soft position | "
            "insert p50 ms | tokens | calls |", "| --- " * 11 + "|"]
    folder = RESULTS / "r1-policy"
    for path in sorted(folder.glob(f"{task}-*.json")):
        if path.stem.endswith("-p0"):
            continue
        data = json.loads(path.read_text())
        runs = dict(data["runs"])
        extra = path.with_name(path.stem + "-p0.json")
        if extra.is_file():
            runs.update(json.loads(extra.read_text())["runs"])
        for label in R1_ORDER:
            s = runs.get(label)
            if s is None:
                continue
            cells = []
            for key in ("image_f1", "ordering", "position_accuracy", "position_accuracy_soft"):
                ci = s.get(f"{key}_ci95")
                cells.append(f"{s[key]:.3f} [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else f"{s[key]:.3f}")
            rows.append(f"| {data['corpus']} | {data['split']} | {R1_NAMES[label]} | {s['n']} | " + " | ".join(cells)
                        + f" | {s['stage_ms_p50'].get('insert', 0):.0f} | {s['tokens_generated_mean']:.1f} | "
                          f"{s['model_calls_mean']:.0f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print({"retrieval": retrieval, "mix": mix, "throughput": throughput, "faiss": faiss, "inserters": inserters,
           "load": load, "r1policy": r1policy}[sys.argv[1]](*sys.argv[2:]))
