"""Training curves: the metrics log (JSONL, one object per logging step) and its PNG plot.

>>> import tempfile, pathlib
>>> log = pathlib.Path(tempfile.mkdtemp()) / "metrics.jsonl"
>>> append_metrics(log, {"step": 1, "reward": 0.5}); append_metrics(log, {"step": 2, "reward": 0.7})
>>> [r["reward"] for r in read_metrics(log)]
[0.5, 0.7]
"""
from __future__ import annotations

import json
from pathlib import Path

PANELS = [
    ("reward", ["reward", "rewards/format/mean", "rewards/selection/mean", "rewards/order/mean",
                "rewards/position/mean", "rewards/exact/mean"]),
    ("unified rewards", ["rewards/text/mean", "rewards/visual/mean", "rewards/structure/mean",
                         "rewards/reference/mean"]),
    ("KL to the reference model", ["kl"]),  # its own axis: beside lengths of ~100 tokens a KL of 1 is flat
    ("completion length, plan size", ["completions/mean_length", "images_placed", "tied_groups"]),
    ("dev (insert task)", ["dev/image_f1", "dev/ordering", "dev/position_accuracy", "dev/position_accuracy_soft",
                           "dev/fallback_rate"]),
    ("interleaved benchmark (dev)", ["dev/well_formed", "dev/text_bertscore_f1", "dev/text_question_cosine",
                                     "dev/alignment_context", "dev/alignment_caption", "dev/fidelity", "dev/image_f1",
                                     "dev/rouge_l", "dev/position_accuracy_soft"]),
    ("validation (never-trained corpora)", ["val/image_f1", "val/ordering", "val/position_accuracy",
                                            "val/position_accuracy_soft"]),
    ("held-out reconstruction", ["heldout/psnr"]),
    ("warm-up loss by task", ["loss_grounded", "loss_interleaved", "loss_understanding", "loss_text_to_image",
                              "dev/loss_grounded", "dev/loss_interleaved", "dev/loss_understanding",
                              "dev/loss_text_to_image"]),
    ("loss", ["loss"]),
]


def append_metrics(path: Path, row: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")


def read_metrics(path: Path) -> list[dict]:
    rows = []
    for line in Path(path).read_text().splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue  # a line cut by an interruption
    return rows


def _panels(n: int, height: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(n, 1, figsize=(8, height * n), sharex=True)


def _line(ax, rows: list[dict], key: str, label: str) -> None:
    points = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
    if points:
        ax.plot(*zip(*points), marker="." if len(points) < 30 else None, label=label)


def _save(fig, axes, titles: list[str], out: Path) -> Path:
    import matplotlib.pyplot as plt

    for ax, title in zip(axes, titles):
        ax.set_title(title)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    axes[-1].set_xlabel("step")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return Path(out)


def plot_curves(metrics: Path, out: Path) -> Path:
    """One panel per group of curves that the log holds (reward terms, KL and length, dev and validation
    scores, loss) against the step."""
    rows = read_metrics(metrics)
    panels = [(title, keys) for title, keys in PANELS if any(key in r for r in rows for key in keys)] or PANELS[-1:]
    fig, axes = _panels(len(panels), 3)
    axes = axes if len(panels) > 1 else [axes]
    for ax, (_, keys) in zip(axes, panels):
        for key in keys:
            _line(ax, rows, key, key.split("/")[-2] if key.endswith("/mean") else key)
    return _save(fig, axes, [title for title, _ in panels], out)


COMPARE = ["reward", "dev/image_f1", "dev/position_accuracy_soft", "dev/ordering"]


def plot_comparison(runs: dict[str, Path], out: Path, keys: list[str] = COMPARE) -> Path:
    """One panel per metric, one line per run (an ablation side by side), against the step."""
    logs = {label: read_metrics(path) for label, path in runs.items()}
    fig, axes = _panels(len(keys), 2.6)
    for ax, key in zip(axes, keys):
        for label, rows in logs.items():
            _line(ax, rows, key, label)
    return _save(fig, axes, keys, out)
