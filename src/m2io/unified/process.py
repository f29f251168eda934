"""Process-level advantages over a unified trajectory: every text step and every image is a step.

The paper's form (as DeepSeekMath's process supervision): the step rewards of a group (all steps of
all completions of one prompt) are normalised together, ``r~ = (r - mean) / (std + eps)``; a token's
advantage is the completion's outcome advantage plus ``weight`` times the sum of ``r~`` over its own
step and every later step (a step "later" when it ends after the token). Tokens after the last step
(the end of turn) add nothing. At ``weight = 0`` the outcome advantage is broadcast unchanged, and
TRL's loss is its own.

Written here because TRL's GRPO has outcome advantages only; the id-level spans come from
:func:`m2io.unified.trajectory.parse_ids`.

>>> import torch
>>> adv = process_advantages(torch.tensor([1.0, -1.0]), [[(0, 2, 1.0), (2, 4, 0.0)], [(0, 3, 0.5)]],
...                          group=2, weight=1.0, length=5)
>>> [[round(v, 2) for v in row] for row in adv.tolist()]
[[1.0, 1.0, -0.22, -0.22, 1.0], [-1.0, -1.0, -1.0, -1.0, -1.0]]
"""
from __future__ import annotations

import torch

EPS = 1e-4


def group_normalised(steps: list[list[tuple[int, int, float]]], group: int) -> list[list[float]]:
    """Each completion's step rewards normalised over every step of its group (``group`` consecutive rows)."""
    out: list[list[float]] = []
    for g in range(0, len(steps), group):
        rows = steps[g:g + group]
        values = torch.tensor([r for row in rows for _, _, r in row], dtype=torch.float64)
        if values.numel() == 0:
            out += [[] for _ in rows]
            continue
        mean, std = values.mean(), values.std(unbiased=False)
        out += [[float((r - mean) / (std + EPS)) for _, _, r in row] for row in rows]
    return out


def process_advantages(outcome: torch.Tensor, steps: list[list[tuple[int, int, float]]], group: int,
                       weight: float, length: int) -> torch.Tensor:
    """(B, T) advantages: ``outcome[b]`` plus ``weight`` times the normalised rewards of the token's step
    and every later step; ``steps[b]`` are ``(start, end, reward)`` token spans of completion ``b``."""
    adv = outcome.reshape(-1, 1).expand(-1, length).clone()
    if weight == 0:
        return adv
    for b, (row, normalised) in enumerate(zip(steps, group_normalised(steps, group))):
        extra = torch.zeros(length, dtype=adv.dtype)
        for (_, end, _), r in zip(row, normalised):
            extra[:min(end, length)] += r  # every token up to the step's end: its own step or an earlier one
        adv[b] += weight * extra
    return adv
