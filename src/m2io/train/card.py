"""The card of a shipped r1 adapter, written from what the runs recorded (never typed by hand).

A GRPO run's ``m2io-train.json`` names its SFT cold start (``config.init_adapter``); the card
reads both records (base, rows, config, the exact command, train seconds) and the dev
evaluations of the GRPO run's ``metrics.jsonl`` (step 0 is the SFT-only policy), so the card
says what the shipped weights are and how to get them again.

>>> import json, tempfile
>>> from pathlib import Path
>>> run = Path(tempfile.mkdtemp())
>>> _ = (run / "m2io-train.json").write_text(json.dumps({"kind": "grpo", "base": "/m/SmolLM2", "rows": 5,
...     "train_seconds": 60, "command": "m2io train grpo data/gimp", "config": {"steps": 2, "init_adapter": None}}))
>>> _ = (run / "metrics.jsonl").write_text(json.dumps({"step": 2, "dev/image_f1": 0.5}) + "\\n")
>>> card = adapter_card(run)
>>> "m2io train grpo data/gimp" in card and "| 2 | 0.500 |" in card
True
"""
from __future__ import annotations

import json
from pathlib import Path

from m2io.train.curves import read_metrics
from m2io.train.resumable import RECORD

DEV = ("image_f1", "ordering", "position_accuracy", "position_accuracy_soft", "fallback_rate",
       "tokens_generated_mean")


def read_record(folder: Path) -> dict | None:
    path = Path(folder) / RECORD
    return json.loads(path.read_text()) if path.is_file() else None


def dev_rows(metrics: Path) -> list[dict]:
    """The dev evaluation lines of a metrics log, in step order."""
    rows = read_metrics(metrics) if metrics.is_file() else []
    return sorted((r for r in rows if any(k.startswith("dev/") for k in r)), key=lambda r: r["step"])


def _run_lines(name: str, record: dict) -> list[str]:
    seconds = record.get("train_seconds")
    config = record.get("config", {})
    keys = ("max_steps", "steps", "epochs", "batch_size", "group", "prompts_per_step", "learning_rate",
            "beta", "temperature", "max_completion", "weights", "lora", "full", "seed")
    shown = {k: config[k] for k in keys if k in config}
    return [f"- **{name}**: {record.get('rows', '?')} rows, "
            f"{f'{seconds:,} s' if seconds is not None else 'time not recorded'} of training; "
            f"config `{json.dumps(shown)}`"]


def adapter_card(run: Path, note: str | None = None) -> str:
    """Markdown card of the adapter trained in ``run`` (a GRPO or SFT run folder); ``note``: a paragraph of
    what the records cannot say (how it compares with other inserters), placed under the title."""
    run = Path(run)
    record = read_record(run)
    if record is None:
        raise FileNotFoundError(f"{run / RECORD} is missing: the card is written from the run's record")
    init = record.get("config", {}).get("init_adapter")
    start = read_record(Path(init)) if init else None
    runs = [r for r in (start, record) if r]
    base = Path(record.get("base") or "?").name
    lines = [f"# Inserter-R1 adapter ({base}, LoRA)", "",
             f"A LoRA adapter on **{base}** (the base model bundled with m2io) that writes r1's image plans; "
             "`--inserter r1` loads it by default (`--r1-adapter none` runs the base zero-shot). "
             "Trained on the GIMP train split only (MRAMG-Bench manuals); scored against every other "
             "inserter in bench/RESULTS.md, section \"Inserter-R1 training\".", ""]
    if note:
        lines += [note.strip(), ""]
    lines += ["## How it was trained", ""]
    for r in runs:
        lines += _run_lines(r.get("kind", "run").upper(), r)
    total = sum(r.get("train_seconds") or 0 for r in runs)
    lines += ["", f"Training time on the 2-core CPU it was made on: {total:,} s "
              f"({total / 60:.0f} min) in all, rows built beforehand.", "", "Exact commands:", "", "```bash"]
    lines += [r.get("command", f"# {r.get('kind')}: command not recorded") for r in runs]
    lines += ["```", "", "In the m2io repository, `make train-r1` runs the rows, SFT, GRPO and export steps from "
              "scratch (about 10 more minutes to build the rows, and the corpus and index if missing).", ""]
    evals = dev_rows(run / "metrics.jsonl")
    if evals:
        lines += ["## Dev scores", "",
                  "The run's own `insert` evaluation on the GIMP dev split (step 0 is the starting, SFT-only policy):",
                  "", "| step | " + " | ".join(DEV) + " |", "| --- " * (len(DEV) + 1) + "|"]
        lines += ["| " + " | ".join([str(e["step"])] + [f"{e.get('dev/' + k, float('nan')):.3f}" for k in DEV]) + " |"
                  for e in evals]
        lines.append("")
    if (run / "curves.png").is_file():
        lines += ["## Curves", "", "![training curves](curves.png)", ""]
    return "\n".join(lines)
