"""Did a unified GRPO run fix the copy errors it trained on, and those it never saw?

A text miss is a target token outside the image steps that greedy decoding would not write
(:func:`m2io.unified.odds.text_misses`, teacher-forced, one forward pass a prompt). A GRPO run with
``--prompts text-misses`` or ``any-misses`` holds the starting model's counts (``text-misses.jsonl``) and the
prompts each step sampled (``prompts.jsonl``); this counts the misses again under the trained model, for
three groups of the run's own training prompts: those it trained on, the other text-miss prompts (never
sampled: held out), and a seeded sample of prompts the starting model copied without a miss (did training
break them?). A run with ``--anchor`` names its anchored prompts in ``prompts.jsonl`` too: they are their own
group (clean prompts trained on by likelihood) and are dropped from the clean sample after it is drawn (the
same draw as a run without them, so one run's clean row holds the other's but the anchored ones). Per group: prompts with a miss before and after, miss tokens before and after, and the mean
per-prompt change with its 95% bootstrap interval.

    .venv/bin/python bench/unified_text_misses.py runs/unified-grpo10-textmiss --clean 100 \\
        --json bench/results/unified/grounded/text-misses-grpo10.json

The benchmark reports the answers (``m2io eval --task interleaved``); this measures the mechanism.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from m2io.evaluate.bootstrap import bootstrap_ci


def trained_items(path: Path, field: str = "items") -> set[str]:
    """Every item a run's ``prompts.jsonl`` names in ``field`` (``items``: sampled, ``anchor``: anchored; a resumed
    step may name its items twice)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {i for row in rows for i in row.get(field, [])}


def summary(before: dict[str, int], after: dict[str, int]) -> dict:
    keys = sorted(after)
    diffs = [after[k] - before[k] for k in keys]
    low, high = bootstrap_ci(diffs) or (0.0, 0.0)
    return {"n": len(keys), "with_miss_before": sum(before[k] > 0 for k in keys),
            "with_miss_after": sum(after[k] > 0 for k in keys), "misses_before": sum(before[k] for k in keys),
            "misses_after": sum(after[k] for k in keys),
            "mean_change": round(sum(diffs) / max(len(diffs), 1), 4), "ci": [round(low, 4), round(high, 4)]}


def main(argv=None) -> dict:
    from tqdm.auto import tqdm

    from m2io.unified.grpo import PROMPTS_LOG, grounded_references
    from m2io.unified.model import UnifiedModel
    from m2io.unified.odds import read_cached, text_misses

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="A unified GRPO run folder (text-misses.jsonl, prompts.jsonl, drafts).")
    ap.add_argument("--model", type=Path, default=None, help="The trained model (default: the run folder).")
    ap.add_argument("--clean", type=int, default=100, help="Prompts without a miss to check again (seeded sample).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    run = args.run
    for name in ("m2io-train.json", "text-misses.jsonl", PROMPTS_LOG):
        if not (run / name).is_file():
            raise SystemExit(f"{run / name}: missing (a run with --prompts text-misses or any-misses, or with "
                             f"--anchor, writes it)")
    config = json.loads((run / "m2io-train.json").read_text())["config"]
    before = read_cached(run / "text-misses.jsonl", "misses")
    trained = trained_items(run / PROMPTS_LOG)
    anchored = trained_items(run / PROMPTS_LOG, "anchor")
    model = UnifiedModel.load(args.model or run)
    _, users, targets = grounded_references([Path(c) for c in config["corpora"]],
                                            [Path(i) for i in config["indexes"]], config["split"], [run],
                                            model.grounded_config(), config["windows"])
    clean = sorted(k for k, m in before.items() if m == 0 and k not in trained)
    drawn = random.Random(args.seed).sample(clean, min(args.clean, len(clean)))
    groups = {"trained": sorted(k for k in trained if k in before),
              "held-out misses": sorted(k for k, m in before.items() if m > 0 and k not in trained),
              "held-out clean": sorted(k for k in drawn if k not in anchored)}
    if anchored:
        groups["anchored"] = sorted(k for k in anchored if k in before)
    after: dict[str, int] = {}
    todo = list(dict.fromkeys(k for g in groups.values() for k in g))
    for k in tqdm(todo, desc="text misses", unit="prompt"):
        after[k] = text_misses(model, users[k], targets[k])
    result = {"run": str(run), "model": str(args.model or run), "starting_model": config["model"],
              "clean_drawn": len(drawn), "clean_dropped_anchored": len(drawn) - len(groups["held-out clean"]),
              "groups": {g: summary(before, {k: after[k] for k in keys}) for g, keys in groups.items()}}
    print("| prompts | n | with a miss: before | after | miss tokens: before | after | change a prompt [95% CI] |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for g, s in result["groups"].items():
        print(f"| {g} | {s['n']} | {s['with_miss_before']} | {s['with_miss_after']} | {s['misses_before']} | "
              f"{s['misses_after']} | {s['mean_change']:+.3f} [{s['ci'][0]:+.3f}, {s['ci'][1]:+.3f}] |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
