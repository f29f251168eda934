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

The same pass finds the prompts whose text greedy decoding would leave (``prompts="text-misses"``): the target
tokens outside image steps (text, the step tags, the end) that are not the model's most likely token on the
target's prefix. The warm-up copies most passages token for token, so all four completions of such a prompt
score the same ROUGE-L; where it leaves the target (a skipped line, an early end, a changed word), a sampled
group differs in its text and the ``rouge`` reward has something to teach.

    >>> from m2io.unified.model import UnifiedModel                                    # doctest: +SKIP
    >>> figure_odds(UnifiedModel.load("models/unified"), user, steps)                 # doctest: +SKIP
    [0.93, 0.21]
    >>> text_misses(UnifiedModel.load("models/unified"), user, steps)                 # doctest: +SKIP
    2
"""
from __future__ import annotations

import json
import math
from contextlib import nullcontext
from pathlib import Path

import torch

from m2io.unified.trajectory import Step


def answer_logits(lm, prompt: list[int], answer: list[int]) -> torch.Tensor:
    """One teacher-forced pass of ``lm`` over ``prompt`` + ``answer`` (in its current mode, with its gradient):
    row i predicts ``answer[i]``, one row per answer token."""
    device = next(lm.parameters()).device
    return lm(input_ids=torch.tensor([prompt + answer], device=device),
              logits_to_keep=len(answer) + 1).logits[0][:len(answer)]


def _target_logits(model, user: str, answer: list[int]) -> torch.Tensor:
    """:func:`answer_logits` of ``user``'s prompt + ``answer``, in eval mode."""
    was_training = model.lm.training
    model.lm.eval()
    try:
        return answer_logits(model.lm, model.prompt_ids(user), answer)
    finally:
        model.lm.train(was_training)


@torch.no_grad()
def figure_odds(model, user: str, steps: list[Step]) -> list[float]:
    """The model's probability of each reference step of ``steps`` (in order), given ``user`` and the steps
    before it."""
    answer = model.answer_ids(steps)
    v = model.vocab
    at = [i for i, t in enumerate(answer) if v.is_ref(t) and i > 0 and answer[i - 1] == v.vis]
    if not at:
        return []
    logp = _target_logits(model, user, answer).float().log_softmax(-1)
    return [math.exp(logp[i - 1, v.vis].item() + logp[i, answer[i]].item()) for i in at]


@torch.no_grad()
def text_misses(model, user: str, steps: list[Step]) -> int:
    """How many tokens of ``steps`` outside its image steps (text, step tags, the end) are not ``model``'s most
    likely token given ``user`` and the target before them (0: greedy decoding writes this text)."""
    answer = model.answer_ids(steps)
    v = model.vocab
    at, inside = [], False
    for i, t in enumerate(answer):
        if t == v.vis:
            inside = True
        elif t == v.end_vis:
            inside = False
        elif not inside:
            at.append(i)
    best = _target_logits(model, user, answer).argmax(-1).tolist()
    return sum(best[i] != answer[i] for i in at)


def read_cached(cache: Path, field: str) -> dict:
    """``key`` -> ``field`` of every row of a cache that :func:`missed_items` or :func:`missed_text_items` wrote
    (empty when there is none yet)."""
    if not Path(cache).is_file():
        return {}
    rows = [json.loads(line) for line in Path(cache).read_text().splitlines() if line.strip()]
    return {row["key"]: row[field] for row in rows}


def _cached(score, name: str, field: str, todo: list[str], cache: Path | None, progress: bool) -> dict:
    """``key`` -> ``score(key)`` for every key of ``todo``, appended to ``cache`` (JSONL: key, ``field``) as each
    is scored and read back from it, so a stopped run resumes."""
    from tqdm.auto import tqdm

    known = read_cached(cache, field) if cache is not None else {}
    todo = [k for k in todo if k not in known]
    with open(cache, "a") if cache is not None else nullcontext() as sink:
        for key in tqdm(todo, desc=name, unit="prompt", disable=not progress or not todo):
            known[key] = score(key)
            if sink is not None:
                sink.write(json.dumps({"key": key, field: known[key]}) + "\n")
                sink.flush()
    return known


def missed_items(model, targets: dict[str, list[Step]], users: dict[str, str], below: float = 0.5,
                 cache: Path | None = None, progress: bool = True) -> list[str]:
    """The items (sorted) whose target shows a figure that ``model`` shows with odds under ``below``; the odds
    of each item are appended to ``cache`` (JSONL: key, odds) and read back from it, so a stopped run resumes."""
    todo = [k for k in sorted(targets) if any(s.kind == "reference" for s in targets[k])]
    known = _cached(lambda k: [float(f"{p:.6g}") for p in figure_odds(model, users[k], targets[k])],
                    "figure odds", "odds", todo, cache, progress)
    return sorted(k for k in targets if known.get(k) and min(known[k]) < below)


def missed_text_items(model, targets: dict[str, list[Step]], users: dict[str, str], cache: Path | None = None,
                      progress: bool = True) -> list[str]:
    """The items (sorted) whose target text ``model`` would leave decoding greedily (:func:`text_misses` > 0);
    the counts are appended to ``cache`` (JSONL: key, misses) and read back from it, so a stopped run resumes."""
    todo = [k for k in sorted(targets) if any(s.kind == "text" for s in targets[k])]
    known = _cached(lambda k: text_misses(model, users[k], targets[k]), "text misses", "misses", todo, cache,
                    progress)
    return sorted(k for k in targets if known.get(k, 0) > 0)
