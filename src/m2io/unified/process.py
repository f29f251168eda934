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


def group_normalised(steps: list[list[tuple[int, int, float]]], group: int,
                     kinds: list[list[str]] | None = None) -> list[list[float]]:
    """Each completion's step rewards normalised over every step of its group (``group`` consecutive rows);
    with ``kinds`` (a label per step, as ``"text"``/``"image"``), over the group's steps of the same kind.

    Why per kind: text and image rewards live on different scales (an image's alignment ~0.15, a text
    step's relevance ~0.5); pooled, every image reads as a bad step and every text step as a good one.

    >>> steps = [[(0, 1, 0.6), (1, 2, 0.1)], [(0, 1, 0.4), (1, 2, 0.2)]]
    >>> [[round(v, 2) for v in row] for row in group_normalised(steps, 2)]
    [[1.43, -1.17], [0.39, -0.65]]
    >>> [[round(v, 2) for v in row] for row in group_normalised(steps, 2, [["text", "image"]] * 2)]
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    kinds = kinds or [[""] * len(row) for row in steps]
    out: list[list[float]] = [[0.0] * len(row) for row in steps]
    for g in range(0, len(steps), group):
        for kind in {k for row in kinds[g:g + group] for k in row}:
            where = [(b, i) for b in range(g, min(g + group, len(steps))) for i, k in enumerate(kinds[b]) if k == kind]
            values = torch.tensor([steps[b][i][2] for b, i in where], dtype=torch.float64)
            mean, std = values.mean(), values.std(unbiased=False)
            for (b, i), v in zip(where, values):
                out[b][i] = float((v - mean) / (std + EPS))
    return out


def process_advantages(outcome: torch.Tensor, steps: list[list[tuple[int, int, float]]], group: int,
                       weight: float, length: int, kinds: list[list[str]] | None = None) -> torch.Tensor:
    """(B, T) advantages: ``outcome[b]`` plus ``weight`` times the normalised rewards of the token's step
    and every later step; ``steps[b]`` are ``(start, end, reward)`` token spans of completion ``b``, and
    ``kinds`` (optional) normalises each kind of step apart (:func:`group_normalised`)."""
    adv = outcome.reshape(-1, 1).expand(-1, length).clone()
    if weight == 0:
        return adv
    for b, (row, normalised) in enumerate(zip(steps, group_normalised(steps, group, kinds))):
        extra = torch.zeros(length, dtype=adv.dtype)
        for (_, end, _), r in zip(row, normalised):
            extra[:min(end, length)] += r  # every token up to the step's end: its own step or an earlier one
        adv[b] += weight * extra
    return adv


def own_image_credit(adv: torch.Tensor, images: list[list[tuple[int, int, float]]], group: int) -> torch.Tensor:
    """Image codes credited by their own image alone: the code tokens of each image span (its tags
    excluded) take that image's reward normalised over the group's images, in place of the outcome and
    text advantages. ``images[b]`` are ``(start, end, reward)`` spans of ``<vis> codes </vis>``.

    Why: an image is 64 tokens, the outcome advantage comes mostly from the text and the structure,
    and a code's choice barely moves either; broadcast to every code, it moved the policy five times as
    far at image positions as at text positions (bench/RESULTS.md, the KL split).

    >>> adv = own_image_credit(torch.zeros(2, 6), [[(1, 5, 0.4)], [(0, 4, 0.2)]], group=2)
    >>> [[round(v, 2) for v in row] for row in adv.tolist()]
    [[0.0, 0.0, 1.0, 1.0, 0.0, 0.0], [0.0, -1.0, -1.0, 0.0, 0.0, 0.0]]
    """
    adv = adv.clone()
    for b, (row, normalised) in enumerate(zip(images, group_normalised(images, group))):
        for (start, end, _), r in zip(row, normalised):
            adv[b, start + 1:min(end - 1, adv.shape[1])] = r
    return adv
