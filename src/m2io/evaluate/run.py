"""Run the ``insert`` or ``e2e`` evaluation on every dataset of a folder and print a table.

    m2io eval data/gimp --task insert --index index/gimp --inserter r1 --limit 50 --json out/r1.json

>>> format_row("rule", {"n": 2, "image_precision": 0.5, "latency_ms_p50": 3.0}).split()[:4]
['rule', '2', '0.500', '-']
"""
from __future__ import annotations

from pathlib import Path

from m2io.corpus.mramg import dataset_names, read_dataset
from m2io.corpus.problems import Problems
from m2io.evaluate.end_to_end import evaluate_e2e
from m2io.evaluate.finish import finish, write_run
from m2io.evaluate.summary import summarize
from m2io.evaluate.insertion import evaluate_insertion
from m2io.pipeline import Pipeline, PipelineConfig

COLUMNS = ("n", "image_precision", "image_recall", "image_f1", "ordering", "position_accuracy",
           "position_accuracy_soft", "rouge_l", "bertscore_f1", "fallback_rate", "latency_ms_p50", "latency_ms_p95",
           "model_calls_mean", "tokens_generated_mean")
SHORT = ("n", "P", "R", "F1", "order", "pos", "pos~", "rougeL", "bert", "fallbk", "p50 ms", "p95 ms", "calls", "tokens")


def format_row(name: str, s: dict) -> str:
    cells = []
    for key in COLUMNS:
        v = s.get(key)
        cells.append("-" if v is None else f"{v:.0f}" if key in ("n",) or key.startswith("latency")
                     else f"{v:.1f}" if key.endswith("_mean") else f"{v:.3f}")
    return f"{name:<10}" + "".join(f"{c:>8}" for c in cells)


def format_ci_row(s: dict) -> str:
    """The 95% bootstrap interval of each quality column, as +- half its width, under the row of means.

    >>> format_ci_row({"n": 2, "image_f1": 0.5, "image_f1_ci95": (0.4, 0.6)}).split()
    ['95%', 'CI', '-', '-', '-', '±0.100', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-']
    """
    cells = []
    for key in COLUMNS:
        ci = s.get(f"{key}_ci95")
        cells.append(f"±{(ci[1] - ci[0]) / 2:.3f}" if ci else "-")
    return f"{'95% CI':<10}" + "".join(f"{c:>8}" for c in cells)


def header() -> str:
    return f"{'':<10}" + "".join(f"{c:>8}" for c in SHORT)


def question_file(questions: Path | None, name: str, single: bool) -> Path | None:
    """The user-phrased questions of dataset ``name``: ``questions`` itself (a file, for a folder of one dataset) or
    ``questions/<name>.jsonl`` (a folder)."""
    if questions is None:
        return None
    if Path(questions).is_dir():
        path = Path(questions) / f"{name}.jsonl"
        return path if path.is_file() else None
    if not single:
        raise ValueError(f"{questions}: one question file, but the folder holds several datasets; give a folder of "
                         "<dataset name>.jsonl files")
    return Path(questions)


def run_eval(folder: Path, task: str, retriever, components, split: str = "dev", limit: int | None = None,
             seed: int = 0, k: int = 10, bertscore: bool = True, judge=None, json_out: Path | None = None,
             progress: bool = True, questions: Path | None = None,
             pipeline_config: PipelineConfig | None = None, provenance: bool = True) -> dict:
    """Evaluate ``components.inserter()`` (``insert``) or the whole pipeline (``e2e``); the summary of all items.

    ``questions`` (e2e): ask user-phrased questions (:mod:`m2io.corpus.questions`) instead of the corpus's own.
    ``provenance=False`` (insert): the inserter is not told that the gold text is its section's own.
    """
    from dataclasses import replace

    from m2io.corpus.questions import question_kinds, read_questions, user_qa

    inserter = components.inserter()
    config = replace(pipeline_config or PipelineConfig(), k=k)
    records: list[dict] = []
    names = dataset_names(folder)
    for name in names:
        ds = read_dataset(folder, name, Problems(strict=False))
        if task == "insert":
            records += evaluate_insertion(ds, inserter, retriever, split=split, limit=limit, seed=seed,
                                          k_retrieve=k, progress=progress, provenance=provenance)
        else:
            pipeline = Pipeline(retriever, components.answerer(retriever), inserter, config)
            path = question_file(questions, name, len(names) == 1)
            if questions is not None and path is None:
                continue
            asked = read_questions(path) if path is not None else None
            items = user_qa(ds, asked, path) if asked is not None else None
            records += evaluate_e2e(ds, pipeline, split=split, limit=limit, seed=seed, progress=progress, items=items,
                                    kinds=question_kinds(asked) if asked is not None else None)
    scorer = None
    if bertscore and records:
        from m2io.metrics import BertScore

        scorer = BertScore()
    summary, clean = finish(records, scorer, judge, progress)
    kinds = sorted({r.get("kind") for r in clean if r.get("kind")})
    if len(kinds) > 1:
        summary["by_kind"] = {kind: summarize([r for r in clean if r.get("kind") == kind]) for kind in kinds}
    if json_out is not None:
        meta = {"task": task, "dataset": str(folder), "inserter": inserter.name, "split": split, "limit": limit,
                "seed": seed, "k": k, "answerer": components.config.answerer if task == "e2e" else None,
                "questions": str(questions) if questions else None, "candidates": config.candidates,
                "reranker": str(components.config.reranker),
                "bertscore_encoder": scorer.encoder if scorer else None,
                "lm": components.config.lm_url or components.config.lm_dir or "SmolLM2-135M-Instruct (bundled)"}
        write_run(json_out, summary, clean, meta)
    return summary
