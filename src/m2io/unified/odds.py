"""How likely a unified model is to show each gold figure of a grounded target, teacher-forced.

GRPO learns only from a group whose samples differ. A grounded prompt whose gold figures the model shows with
odds near 1 gives four alike completions and no gradient; one where it leaves a gold figure out (odds well under
1/2) is where a sampled group sometimes shows it, scores higher, and teaches showing it. These odds pick those
prompts before training (``prompts="misses"`` of :class:`~m2io.unified.grpo.UnifiedGRPOConfig`): one forward pass
of prompt + target per item instead of a sampled answer (~40x cheaper here), the same filter DAPO's dynamic
sampling applies to groups as they come.

The odds of a reference step are P(``<vis>``) where the target opens it times P(``<ref_k>``) right after, both
under the model, on the target's own prefix; the grammar's masks are not applied (at those two places it allows
only the step tags, the end and the candidates, which hold nearly all the mass of a warmed-up model).

    >>> from m2io.unified.model import UnifiedModel                                    # doctest: +SKIP
    >>> figure_odds(UnifiedModel.load("models/unified"), user, steps)                 # doctest: +SKIP
    [0.93, 0.21]
"""
from __future__ import annotations

import json
import math
from contextlib import nullcontext
from pathlib import Path

import torch

from m2io.unified.trajectory import Step


@torch.no_grad()
def figure_odds(model, user: str, steps: list[Step]) -> list[float]:
    """The model's probability of each reference step of ``steps`` (in order), given ``user`` and the steps
    before it."""
    prompt, answer = model.prompt_ids(user), model.answer_ids(steps)
    v = model.vocab
    at = [i for i, t in enumerate(answer) if v.is_ref(t) and i > 0 and answer[i - 1] == v.vis]
    if not at:
        return []
    was_training = model.lm.training
    model.lm.eval()
    try:
        # logits row i predicts answer[i]: keep the last prompt position and the answer's
        logits = model.lm(input_ids=torch.tensor([prompt + answer]), logits_to_keep=len(answer) + 1).logits[0]
    finally:
        model.lm.train(was_training)
    logp = logits.float().log_softmax(-1)
    return [math.exp(logp[i - 1, v.vis].item() + logp[i, answer[i]].item()) for i in at]


def missed_items(model, targets: dict[str, list[Step]], users: dict[str, str], below: float = 0.5,
                 cache: Path | None = None, progress: bool = True) -> list[str]:
    """The items (sorted) whose target shows a figure that ``model`` shows with odds under ``below``; the odds
    of each item are appended to ``cache`` (JSONL: key, odds) and read back from it, so a stopped run resumes."""
    from tqdm.auto import tqdm

    known: dict[str, list[float]] = {}
    if cache is not None and Path(cache).is_file():
        for line in Path(cache).read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                known[row["key"]] = row["odds"]
    todo = [k for k in sorted(targets) if k not in known and any(s.kind == "reference" for s in targets[k])]
    with open(cache, "a") if cache is not None else nullcontext() as sink:
        for key in tqdm(todo, desc="figure odds", unit="prompt", disable=not progress or not todo):
            known[key] = [float(f"{p:.6g}") for p in figure_odds(model, users[key], targets[key])]
            if sink is not None:
                sink.write(json.dumps({"key": key, "odds": known[key]}) + "\n")
                sink.flush()
    return sorted(k for k in targets if known.get(k) and min(known[k]) < below)
