"""How far the rule draft in r1's training rows is from the gold plan: what the policy's edit has to fix.

Over rows of ``m2io train sft|grpo`` (the prompt shows the draft, the row holds the gold plan):
images per plan, the draft's precision and recall of gold images, and the gold slot minus the
draft slot of images in both (0: the rule put it where the gold does).

>>> from m2io.insert.r1_lm import Evidence, R1Config, r1_messages
>>> from m2io.types import Candidate, Image
>>> cands = [Candidate(1, Image("a", None)), Candidate(2, Image("b", None))]
>>> row = {"prompt": r1_messages("Q?", ["A.", "B.", "C."], cands, R1Config(), Evidence(draft=[(1, 2), (2, 3)])),
...        "gold": '{"1": 1}', "n_candidates": 2, "n_segments": 3, "qa_id": "d/1", "variant": "base"}
>>> draft_of(row)
{1: 2, 2: 3}
>>> gap = draft_gap([row]); gap["draft_precision"], gap["draft_recall"], gap["gold_minus_draft_slot"]
(0.5, 1.0, {-1: 1})
"""
from __future__ import annotations

import json
import re
from collections import Counter

from m2io.insert.plan import parse_plan
from m2io.insert.r1_lm import DRAFT_LABEL, NO_IMAGES

DRAFT = re.compile(re.escape(DRAFT_LABEL) + "(.*)")


def draft_of(row: dict) -> dict[int, int]:
    """The draft plan shown in the row's prompt, as {candidate: slot} (empty for "(no images)")."""
    found = DRAFT.search(row["prompt"][-1]["content"])
    if found is None:
        raise ValueError(f"row {row['qa_id']} ({row['variant']}) shows no draft: built with R1Config(draft=False)?")
    text = found.group(1).strip()
    return {} if text == NO_IMAGES else dict(parse_plan(text, row["n_candidates"], row["n_segments"]))


def draft_gap(rows: list[dict]) -> dict:
    """Draft-versus-gold statistics of ``rows`` (see the module docstring)."""
    gold_n = draft_n = both = same = 0
    offsets: Counter = Counter()
    for row in rows:
        gold = {int(k): s for k, s in json.loads(row["gold"]).items()}
        draft = draft_of(row)
        gold_n, draft_n = gold_n + len(gold), draft_n + len(draft)
        for k in gold.keys() & draft.keys():
            both += 1
            offsets[gold[k] - draft[k]] += 1
            same += gold[k] == draft[k]
    return {"rows": len(rows), "gold_images_per_row": round(gold_n / max(len(rows), 1), 2),
            "draft_images_per_row": round(draft_n / max(len(rows), 1), 2),
            "draft_precision": round(both / max(draft_n, 1), 3), "draft_recall": round(both / max(gold_n, 1), 3),
            "shared_images": both, "same_slot_of_shared": round(same / max(both, 1), 3),
            "gold_minus_draft_slot": dict(offsets.most_common(8))}
