"""Finish an insert / e2e run: BERTScore in one batch, optional LLM judge, JSONL of items, summary.

>>> finish([], bertscore=None)
({'n': 0, 'fallback_rate': 0.0, 'latency_ms_p50': 0.0, 'latency_ms_p95': 0.0, 'model_calls_mean': 0.0, 'tokens_generated_mean': 0.0, 'stage_ms_p50': {}}, [])
"""
from __future__ import annotations

import json
from pathlib import Path

from tqdm import tqdm

from m2io.atomic import atomic_write_text
from m2io.evaluate.summary import summarize
from m2io.render import blocks
from m2io.types import InterleavedAnswer, Placement


def _judge_all(records: list[dict], judge, progress: bool) -> None:
    for r in tqdm(records, desc="judge", unit="item", disable=not progress):
        answer = InterleavedAnswer(r["segments"], [Placement(p["image_id"], p["slot"]) for p in r["placements"]])
        captions = {c["image_id"]: c["caption"] for c in r["candidates"]}
        scores, raw = judge(r["query"], r["_reference"], blocks(answer), captions)
        r["judge_raw"] = raw
        r["judge_unparsed"] = scores is None
        r["scores"].update(scores or {})


def finish(records: list[dict], bertscore=None, judge=None, progress: bool = False) -> tuple[dict, list[dict]]:
    """(summary, records without their private keys); BERTScore only when a scorer is given."""
    if bertscore is not None and records:
        f1 = bertscore([r["_reference"] for r in records], [r["_text"] for r in records])
        for r, value in zip(records, f1):
            r["scores"]["bertscore_f1"] = value
    if judge is not None:
        _judge_all(records, judge, progress)
    clean = [{k: v for k, v in r.items() if not k.startswith("_")} for r in records]
    return summarize(clean), clean


def write_run(path: Path, summary: dict, records: list[dict], meta: dict) -> Path:
    """``path`` gets the summary (+ ``meta``), ``<stem>.items.jsonl`` beside it one record per item."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({**meta, "scores": summary}, indent=1) + "\n")
    items = path.with_name(path.stem + ".items.jsonl")
    atomic_write_text(items, "".join(json.dumps(r, default=str) + "\n" for r in records))
    return items
