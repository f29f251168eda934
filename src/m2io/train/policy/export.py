"""Ship a trained r1 placement policy: ``policy.pt``, the run records, metrics, curves, and a card.

The card is written from the records (never typed by hand): the corpora with their Debian
packages and versions and the split each was used for, the exact commands, configs, training
time, and the validation scores per evaluation step (from ``metrics.jsonl``).

>>> import json, tempfile, torch
>>> from pathlib import Path
>>> from m2io.insert.policy.model import PlacementPolicy, PolicyConfig
>>> run = Path(tempfile.mkdtemp())
>>> PlacementPolicy(PolicyConfig(dim=8, embed_dim=4)).save(run / "policy.pt")
>>> _ = (run / "m2io-train.json").write_text(json.dumps({"kind": "r1-grpo", "command": "m2io train r1 grpo x",
...     "train_seconds": 60, "examples": 10, "config": {"init": None}, "corpora": [{"corpus": "data/gimp",
...     "split": "train", "package": "gimp-help-en", "version": "2.10.34-2"}]}))
>>> _ = (run / "metrics.jsonl").write_text(json.dumps({"step": 5, "val/image_f1": 0.5}) + "\\n")
>>> card = policy_card(run)
>>> "gimp-help-en 2.10.34-2" in card and "m2io train r1 grpo x" in card and "| 5 | 0.500 |" in card
True
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from m2io.atomic import atomic_dir
from m2io.train.card import read_record
from m2io.train.curves import read_metrics

SCORES = ("image_f1", "ordering", "position_accuracy", "position_accuracy_soft")


def _runs(run: Path) -> list[dict]:
    """The cold-start record (if the GRPO run names it) and the run's own, in training order."""
    record = read_record(run)
    if record is None:
        raise FileNotFoundError(f"{run / 'm2io-train.json'} is missing: the card is written from the run's record")
    init = record.get("config", {}).get("init")
    start = read_record(Path(init).parent) if init else None
    return [r for r in (start, record) if r]


def _score_rows(metrics: Path, prefix: str) -> list[str]:
    rows = [r for r in (read_metrics(metrics) if metrics.is_file() else []) if f"{prefix}/image_f1" in r]
    return ["| " + " | ".join([str(r["step"])] + [f"{r.get(f'{prefix}/{k}', float('nan')):.3f}" for k in SCORES])
            + " |" for r in sorted(rows, key=lambda r: r["step"])]


def policy_card(run: Path, note: str | None = None) -> str:
    run = Path(run)
    runs = _runs(run)
    last = runs[-1]
    lines = ["# Inserter-R1: the one-pass placement policy", "",
             "A small network that reads an answer's segments and its candidate images once (MiniLM vectors and "
             "pairwise features) and gives each candidate a categorical over *leave out* and every slot; "
             "`--inserter r1` loads `policy.pt`. Trained with a cold start (cross-entropy on gold decisions) and "
             "GRPO whose rewards are the MRAMG-Bench metrics plus per-decision process rewards. Compared with "
             "every other inserter, end to end and on the gold text, in bench/RESULTS.md, section \"Inserter-R1\".", ""]
    if note:
        lines += [note.strip(), ""]
    lines += ["## Corpora", "", "| corpus | Debian package | version | used as |", "| --- | --- | --- | --- |"]
    for c in last.get("corpora", []):
        lines.append(f"| {Path(c['corpus']).name} | {c.get('package', '-')} | {c.get('version', '-')} "
                     f"| {c['split']} |")
    lines.append("")
    lines += ["Corpora in one line: " + "; ".join(f"{c.get('package', Path(c['corpus']).name)} "
                                                 f"{c.get('version', '')}".strip() + f": {c['split']}"
                                                 for c in last.get("corpora", [])), ""]
    lines += ["## How it was trained", ""]
    for r in runs:
        cfg = {k: v for k, v in r.get("config", {}).items() if k not in ("out", "init")}
        lines.append(f"- **{r['kind']}**: {r.get('examples', '?')} examples, {r.get('train_seconds', '?')} s; "
                     f"config `{json.dumps(cfg)}`")
        for key in ("best_epoch", "best_step", "leave_out_bias", "plans_per_minute_sampling", "plans_per_minute_overall"):
            if r.get(key) is not None:
                lines.append(f"  - {key.replace('_', ' ')}: {r[key]:,}")
    total = sum(float(r.get("train_seconds") or 0) for r in runs)
    lines += ["", f"Training time on the 2-core CPU it was made on: {total:,.0f} s ({total / 60:.1f} min), "
              "featurised examples built beforehand.", "", "Exact commands:", "", "```bash"]
    lines += [r.get("command", f"# {r['kind']}: command not recorded") for r in runs]
    lines += ["```", ""]
    for prefix, title in (("val", "Validation (never-trained corpora, every item; chooses the kept step)"),
                          ("dev", "Dev split of the training corpora (logged only)")):
        rows = _score_rows(run / "metrics.jsonl", prefix)
        if rows:
            lines += [f"## {title}", "", "| step | " + " | ".join(SCORES) + " |", "| --- " * (len(SCORES) + 1) + "|",
                      *rows, ""]
    if (run / "curves.png").is_file():
        lines += ["## Curves", "", "![training curves](curves.png)", ""]
    init = last.get("config", {}).get("init")
    if init and (Path(init).parent / "curves.png").is_file():
        lines += ["Cold start (validation per epoch, loss):", "", "![cold start curves](cold-start-curves.png)", ""]
    return "\n".join(lines)


def export_policy(run: Path, out: Path, note: str | None = None) -> Path:
    """Copy ``run``'s policy and records into ``out`` (replaced atomically) with a README card."""
    run, out = Path(run), Path(out)
    if not (run / "policy.pt").is_file():
        raise FileNotFoundError(f"{run / 'policy.pt'} is missing: not a finished r1 run")
    card = policy_card(run, note)
    with atomic_dir(out) as tmp:
        for name in ("policy.pt", "m2io-train.json", "metrics.jsonl", "curves.png"):
            if (run / name).is_file():
                shutil.copy2(run / name, tmp / name)
        init = read_record(run).get("config", {}).get("init")
        for name, target in (("m2io-train.json", "cold-start.json"), ("curves.png", "cold-start-curves.png")):
            if init and (Path(init).parent / name).is_file():
                shutil.copy2(Path(init).parent / name, tmp / target)
        (tmp / "README.md").write_text(card)
    return out

