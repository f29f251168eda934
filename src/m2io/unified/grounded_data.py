"""Grounded warm-up examples: the M2IO pipeline's own retrieval and text answer on a training manual's
questions, turned into the unified model's prompt and the answer it should write.

For each question of ``split`` (train: the training manuals' questions; never KiCad, the Debian
Handbook or a test manual), the default pipeline (hybrid retrieval, the section ranker, the
``focused`` answerer, candidates = the answer's section's figures then retrieved distractors)
drafts an answer; :mod:`m2io.unified.grounded` turns the draft into the prompt, and the target is
the passage's text steps with references to the gold figures only (a figure of the wrong section,
or a distractor, is never referenced). With ``windows`` above 1, each question also gives one example per
later passage window (:func:`~m2io.unified.grounded.passage_windows`, the prompts the answerer writes for a long
section: a window that opens mid-section, its figures marked where they stand), so the model learns the prompts
it meets past the first 110 words. Drafts cost a retrieval each, so they are cached as JSON Lines beside the run
(each row with the prompt settings and windows it was built with; a row of others is drafted again) and an
interrupted build resumes.

    examples = grounded_examples(Path("data/gimp"), Path("index/gimp"), "train", Path("runs/w/grounded-gimp.jsonl"))
"""
from __future__ import annotations

import json
import warnings
from dataclasses import asdict
from pathlib import Path

from m2io.unified.grounded import FIRST_FORM, GroundedConfig, grounded_user, passage_windows, target_steps
from m2io.unified.mix import Example
from m2io.unified.trajectory import Step

MAX_REFERENCES = 16
"""Reference tokens in the vocabulary: candidates beyond the 16th are not offered to the model."""
LEGACY = asdict(FIRST_FORM)
"""The prompt settings of cached drafts written before rows recorded theirs."""


def _steps_json(steps: list[Step]) -> list[dict]:
    return [{"kind": s.kind, "text": s.text} if s.kind == "text" else {"kind": s.kind, "ref": s.ref} for s in steps]


def _steps_of(rows: list[dict]) -> list[Step]:
    return [Step("text", text=r["text"]) if r["kind"] == "text" else Step("reference", ref=r["ref"]) for r in rows]


def grounded_examples(corpus: Path, index: Path, split: str, cache: Path,
                      cfg: GroundedConfig = GroundedConfig(), progress: bool = True, windows: int = 1) -> list[Example]:
    """One example per question of ``split`` with a gold section and per passage window of its draft, up to
    ``windows`` (cached in ``cache``, resumed from it): the first windows of every question, then the later ones.
    Each is the prompt the answerer writes with as many windows: a figure past the first window is marked in its
    own window, not after the first one's last line as with one window."""
    if windows < 1:
        raise ValueError(f"windows must be at least 1, not {windows}")
    from tqdm import tqdm

    from m2io.components import ComponentConfig, Components
    from m2io.corpus.mramg import dataset_names, read_dataset
    from m2io.corpus.split import select_items
    from m2io.insert.source import SourceInserter
    from m2io.pipeline import Pipeline
    from m2io.retrieve import Retriever

    settings = asdict(cfg)
    done: dict[str, dict] = {}
    text = cache.read_text() if cache.is_file() else ""
    if text:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                key = row["key"]
            except (json.JSONDecodeError, KeyError, TypeError) as e:  # a line cut by an interrupted run: draft again
                warnings.warn(f"{cache}:{number}: not a cached draft ({e}); it is drafted again")
                continue
            # drafts of other prompt settings, or of other windows, are drafted again
            if row.get("config", LEGACY) == settings and row.get("windows_built", 1) == windows:
                done[key] = row
    todo = []
    for name in dataset_names(Path(corpus)):
        ds = read_dataset(Path(corpus), name)
        todo += [(f"{ds.name}/{q.id}", q) for q in select_items(ds.qa, split) if q.provenance
                 and f"{ds.name}/{q.id}" not in done]
    if todo:
        retriever = Retriever.open(index)
        components = Components(ComponentConfig(), retriever.models.text)
        pipeline = Pipeline(retriever, components.answerer(retriever), SourceInserter())
        cache.parent.mkdir(parents=True, exist_ok=True)
        torn = text and not text.endswith("\n")
        try:
            with cache.open("a") as f:
                if torn:  # an interrupted run's last line: the next row starts on a line of its own
                    f.write("\n")
                for key, q in tqdm(todo, desc=f"grounded drafts {Path(corpus).name}", unit="q", disable=not progress):
                    draft = pipeline.draft(q.question)
                    candidates = draft.candidates[:MAX_REFERENCES]
                    first, *later = passage_windows(draft.segments, candidates, draft.provenance, cfg, windows)
                    row = {"key": key, "user": grounded_user(q.question, first, candidates, cfg),
                           "steps": _steps_json(target_steps(first, candidates, q.image_ids)),
                           "candidates": len(candidates), "config": settings}
                    if windows > 1:
                        row["windows_built"] = windows
                        row["later"] = [{"user": grounded_user(q.question, w, candidates, cfg),
                                         "steps": _steps_json(target_steps(w, candidates, q.image_ids))}
                                        for w in later]
                    f.write(json.dumps(row) + "\n")
                    done[key] = row
        finally:
            retriever.close()
    out = [Example("grounded", row["user"], _steps_of(row["steps"]), references=row["candidates"])
           for row in done.values() if row["steps"]]
    return out + [Example("grounded", w["user"], _steps_of(w["steps"]), references=row["candidates"])
                  for row in done.values() for w in row.get("later", []) if w["steps"]]
