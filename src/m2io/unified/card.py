"""The card of a unified GRPO model, written from its run records (never typed by hand), and its export.

The GRPO run's ``m2io-train.json`` names the warmed-up model it started from (``config.model``),
whose own record says how the warm-up ran; the card reads both (steps, config, the exact command,
train seconds, peak memory) and the interleaved benchmark rows of the GRPO run's ``metrics.jsonl``
(step 0, when run, is the warmed-up model). :func:`export_unified` copies the records, curves and
card into a folder under ``models/``; the weights (540 MB in fp32) stay in the run folder, and the
card says how to make them again.

>>> import json, tempfile
>>> from pathlib import Path
>>> run = Path(tempfile.mkdtemp())
>>> _ = (run / "m2io-train.json").write_text(json.dumps({"kind": "unified-grpo", "rows": 9, "train_seconds": 60,
...     "command": "m2io unified grpo data/gimp", "config": {"steps": 2, "model": str(run / "none")}}))
>>> _ = (run / "metrics.jsonl").write_text(json.dumps({"step": 2, "dev/image_f1": 0.5}) + "\\n")
>>> card = unified_card(run)
>>> "m2io unified grpo data/gimp" in card and "| 2 | 0.500 |" in card
True
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from m2io.evaluate.interleaved import HEADLINE  # the grounded benchmark's, logged by GRPO's dev eval
from m2io.train.card import dev_rows, read_record
from m2io.train.resumable import RECORD

KEEP = (RECORD, "metrics.jsonl", "curves.png")


def _run_line(record: dict) -> str:
    config = record.get("config", {})
    shown = {k: config[k] for k in ("steps", "max_minutes", "batch_size", "lr", "group", "prompts_per_step",
                                     "micro_batch", "learning_rate", "beta", "temperature", "max_completion", "weights",
                                     "image_credit", "step_norm", "aggregation", "mix", "seed") if k in config}
    seconds = record.get("train_seconds")
    memory = f", peak RSS {record['peak_rss_gib']} GiB" if record.get("peak_rss_gib") else ""
    return (f"- **{record.get('kind', 'run')}**: {f'{seconds:,} s' if seconds is not None else 'time not recorded'}"
            f" of training{memory}; config `{json.dumps(shown, default=str)}`")


def unified_card(run: Path, note: str | None = None) -> str:
    run = Path(run)
    record = read_record(run)
    if record is None:
        raise FileNotFoundError(f"{run / RECORD} is missing: the card is written from the run's record")
    warm = read_record(Path(record.get("config", {}).get("model", "")))
    runs = [r for r in (warm, record) if r]
    lines = ["# Unified interleaved model (SmolLM2-135M-Instruct + 1,000 image tokens), GRPO", "",
             "Writes text steps (`<think>`...`</think>`) and 64-token images (`<vis>`...`</vis>`, decoded by "
             "`models/image-tokenizer`) in one trajectory; `m2io ask --generator unified --unified-model DIR` and "
             "`m2io serve --unified-model DIR` use it. Warmed up on the hybrid mix of the training manuals' train "
             "split and Debian clip-art, then GRPO with hybrid (text, visual, structure) and process rewards "
             "(bench/RESULTS.md, \"Unified interleaved generation, part 2\").", ""]
    if note:
        lines += [note.strip(), ""]
    lines += ["## How it was made", ""] + [_run_line(r) for r in runs]
    lines += ["", "Exact commands:", "", "```bash"] + [r.get("command") or f"# {r.get('kind')}: not recorded"
                                                      for r in runs]
    lines += ["```", "", "The weights are not in the repository (540 MB); `make unified-warmup unified-grpo` makes "
              "them again on this kind of machine.", ""]
    evals = dev_rows(run / "metrics.jsonl")
    if evals:
        lines += ["## Benchmark during training", "", "Every question of the dev dataset the run names "
                  "(greedy text, images drawn at 1.0):", "", "| step | " + " | ".join(HEADLINE) + " |",
                  "| --- " * (len(HEADLINE) + 1) + "|"]
        lines += ["| " + " | ".join([str(e["step"])] + [f"{e.get('dev/' + k, float('nan')):.3f}" for k in HEADLINE])
                  + " |" for e in evals]
        lines.append("")
    if (run / "curves.png").is_file():
        lines += ["## Curves", "", "![training curves](curves.png)", ""]
    return "\n".join(lines)


def export_unified(run: str | Path, out: str | Path, note: str | None = None) -> Path:
    """Write ``out`` with the run's record, metrics, curves and card (README.md); returns ``out``."""
    run, out = Path(run), Path(out)
    card = unified_card(run, note)
    out.mkdir(parents=True, exist_ok=True)
    for name in KEEP:
        if (run / name).is_file():
            shutil.copy2(run / name, out / name)
    (out / "README.md").write_text(card)
    return out
