"""A supervised anchor for unified GRPO: keep the copies the starting model already gets right.

Round 13 of issue 28 (bench/RESULTS.md) rewarded ROUGE-L on the prompts whose target text the warm-up would
leave decoding greedily. It fixed such copy errors on prompts it never saw as often as on its own, and made
nearly as many new ones on prompts the warm-up had copied whole: the residual errors are near-ties, and a
policy update reshuffles them both ways. The anchor holds the other side still. Each forward and backward
pass of a GRPO step adds ``weight`` times the mean negative log-likelihood of one such *clean* prompt's
target answer (teacher-forced, text and figure tokens alike), divided like TRL's loss by the accumulation
steps, so a step's anchor term is ``weight`` times the mean over its passes. This is InstructGPT's PPO-ptx
(Ouyang et al. 2022, eq. 2: the RL objective plus a likelihood term on the supervised distribution), with
the warm-up's own targets as that distribution. Only prompts the starting model copies without a text miss,
and that GRPO does not sample, are anchored, so a fix on a sampled prompt comes from the reward, not from
supervision on it. The trainer's logged ``loss`` includes the anchor term; ``anchor_nll`` is the term alone.

TRL's GRPOTrainer has no auxiliary likelihood term (its ``aux_loss`` is a mixture-of-experts router's), hence
these few lines; :class:`~m2io.unified.grpo_trainer.UnifiedGRPOTrainer` adds them in ``compute_loss``.

    >>> from m2io.unified.model import UnifiedModel                                    # doctest: +SKIP
    >>> model = UnifiedModel.load("models/unified")                                    # doctest: +SKIP
    >>> pairs = anchor_examples(model, ["gimp/3"], users, targets)                     # doctest: +SKIP
    >>> target_nll(model.lm, *pairs[0][1:])                                          # doctest: +SKIP
    tensor(0.0312, grad_fn=...)
"""
from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from m2io.unified.odds import answer_logits


def anchor_examples(model, keys: list[str], users: dict[str, str], targets: dict[str, list],
                    seed: int = 0) -> list[tuple[str, list[int], list[int]]]:
    """(key, prompt ids, answer ids) of each of ``keys`` (a grounded user message and its target steps, encoded as
    ``model`` trains on them), in a seeded order."""
    keys = sorted(keys)
    random.Random(seed).shuffle(keys)
    return [(k, model.prompt_ids(users[k]), model.answer_ids(targets[k])) for k in keys]


def target_nll(lm, prompt: list[int], answer: list[int]) -> torch.Tensor:
    """Mean negative log-likelihood of ``answer`` given ``prompt`` under ``lm`` (with its gradient), on the
    teacher-forced pass the odds use (:func:`m2io.unified.odds.answer_logits`)."""
    logits = answer_logits(lm, prompt, answer)
    return F.cross_entropy(logits.float(), torch.tensor(answer, device=logits.device))
