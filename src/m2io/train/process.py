"""Process-level advantages: each placement of a plan is a step whose reward shapes its own tokens.

TRL's GRPO gives every token of a completion the completion's (group-normalised) outcome
advantage. Here a token inside the ``<imgK>@S`` item of a step also gets ``weight * step
reward`` (:func:`m2io.train.rewards.step_rewards`); every other token keeps the outcome
advantage alone. With ``weight = 0`` the result is the outcome advantage broadcast over the
tokens, and the loss is exactly TRL's own.

>>> import torch
>>> adv = token_advantages(torch.tensor([0.5]), [["<plan>", "<img", "2", ">@", "1", "</plan>"]],
...                        [[(6, 14, 1.0)]], weight=0.5)
>>> adv.tolist()
[[0.5, 1.0, 1.0, 1.0, 1.0, 0.5]]
"""
from __future__ import annotations


def token_advantages(outcome, token_strings: list[list[str]], steps: list[list[tuple[int, int, float]]],
                     weight: float, length: int | None = None):
    """(B, T) advantages: ``outcome[b]`` everywhere, plus ``weight * r`` on the tokens of each step.

    ``token_strings[b]``: the text of each completion token (their concatenation is the
    completion); ``steps[b]``: ``(start, end, reward)`` character spans; ``length``: T (pads
    past a row's tokens keep the outcome advantage and are masked by the loss anyway).
    """

    length = length if length is not None else max((len(t) for t in token_strings), default=0)
    adv = outcome.reshape(-1, 1).expand(-1, length).clone()
    if weight == 0:
        return adv
    for b, (tokens, row_steps) in enumerate(zip(token_strings, steps)):
        pos = 0
        for t, piece in enumerate(tokens[:length]):
            start, end = pos, pos + len(piece)
            pos = end
            for s_start, s_end, reward in row_steps:
                if start < s_end and end > s_start:  # the token overlaps the step's item
                    adv[b, t] += weight * reward
                    break
    return adv
