"""How readily unified models show the gold figures their passage marks, in the first passage window and in the
later ones: for every question of a manual, the answerer's own window prompts (``--windows``, as
``m2io ask`` builds them) and their targets, teacher-forced (:func:`m2io.unified.odds.figure_odds`: P(``<vis>``) x
P(``<ref_k>``) where the target shows a gold figure). Per model and kind of window: the mean odds of a gold
figure and the share under 0.5 (a figure greedy decoding likely leaves out), each with its 95% bootstrap
interval over figures, and the figures' count.

This is the mechanism behind the end-to-end image F1 of window-by-window answers: a later window opens
mid-section, a prompt the first-window warm-up never showed.

    .venv/bin/python bench/unified_window_odds.py --dataset data/wireshark --index index/wireshark \\
        --model runs/unified-warmup2 --model models/unified --json bench/results/unified/grounded/window-odds.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", required=True, type=Path, help="a corpus folder (every question: split all)")
    ap.add_argument("--index", required=True, type=Path)
    ap.add_argument("--model", action="append", required=True, help="unified model folders, each measured")
    ap.add_argument("--windows", type=int, default=6)
    ap.add_argument("--drafts", type=Path, default=Path("runs/window-odds"), help="where drafts are cached")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from tqdm import tqdm

    from m2io.evaluate.bootstrap import bootstrap_ci
    from m2io.unified.grounded_data import grounded_examples
    from m2io.unified.model import UnifiedModel
    from m2io.unified.odds import figure_odds

    summary = {"dataset": str(args.dataset), "windows": args.windows, "models": {}}
    for folder in args.model:
        model = UnifiedModel.load(Path(folder))
        cache = args.drafts / f"{args.dataset.name}-w{args.windows}.jsonl"  # rows of other prompt settings: redrafted
        examples = grounded_examples(args.dataset, args.index, "all", cache, model.grounded_config(),
                                     windows=args.windows)
        rows = {"first": [], "later": []}
        firsts = _first_count(cache, args.windows, model.grounded_config())
        for i, e in enumerate(tqdm(examples, desc=f"odds {Path(folder).name}", unit="prompt")):
            odds = figure_odds(model, e.user, e.steps)
            rows["first" if i < firsts else "later"] += odds
        out = {}
        for kind, odds in rows.items():
            if odds:
                missed = [float(o < 0.5) for o in odds]
                out[kind] = {"figures": len(odds), "mean_odds": sum(odds) / len(odds),
                             "mean_odds_ci": bootstrap_ci(odds), "under_half": sum(missed) / len(missed),
                             "under_half_ci": bootstrap_ci(missed)}
        summary["models"][folder] = out
        print(folder, json.dumps(out, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=1) + "\n")


def _first_count(cache: Path, windows: int, cfg) -> int:
    """How many first-window examples (drafts of these settings with target steps) come before the later ones."""
    from dataclasses import asdict

    rows = {}
    for line in cache.read_text().splitlines():
        row = json.loads(line) if line.strip() else None
        if row and row.get("config") == asdict(cfg) and row.get("windows_built", 1) == windows:
            rows[row["key"]] = row
    return sum(1 for row in rows.values() if row["steps"])


if __name__ == "__main__":
    main()
