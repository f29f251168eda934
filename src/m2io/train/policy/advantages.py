"""GRPO advantages and loss of the placement policy, outcome and process-level (per decision).

A task's group holds ``G`` plans sampled from one forward pass; a plan is ``M`` decisions, one
per candidate (leave out, or a slot), taken in candidate order: decision ``i`` is step ``i``.

- outcome: each plan's reward, normalised over its group, ``(R - mean) / (std + eps)``;
- process (the unified-GRPO paper's form, after DeepSeekMath's process supervision): every step
  reward of the group (all plans, all real steps) is normalised by the group's mean and std of
  step rewards, and a decision's process advantage is the sum of the normalised rewards of its
  own step and of every later step of its plan;
- a decision's advantage = outcome advantage + ``weight`` x process advantage. At weight 0 it
  is the outcome advantage on every decision, and the loss is plain outcome GRPO.

The loss is PPO's clipped objective per decision (the ratio of the new and the sampling
policy's probability of the action taken), averaged over real decisions, plus ``beta`` times
the exact KL between each candidate's categorical and the reference (cold-start) policy's.
Written by hand: TRL's GRPOTrainer trains generative LMs only.

>>> import torch
>>> outcome_advantages(torch.tensor([[1.0, 0.0]]))          # mean 0.5, std 0.5
tensor([[ 0.9998, -0.9998]])
>>> steps = torch.tensor([[[1.0, -0.5], [0.0, 0.0]]])        # 1 task, 2 plans, 2 decisions
>>> process_advantages(steps, torch.tensor([[True, True]])).round(decimals=4)   # mean 0.125, std 0.5449
tensor([[[ 0.4587, -1.1469],
         [-0.4587, -0.2294]]])
"""
from __future__ import annotations

import torch

EPS = 1e-4


def outcome_advantages(rewards: torch.Tensor) -> torch.Tensor:
    """(B, G) plan rewards -> (B, G) group-normalised advantages (0 where a group's rewards tie)."""
    mean = rewards.mean(dim=1, keepdim=True)
    std = rewards.std(dim=1, keepdim=True, unbiased=False)
    return (rewards - mean) / (std + EPS)


def process_advantages(steps: torch.Tensor, cand_mask: torch.Tensor) -> torch.Tensor:
    """(B, G, M) step rewards -> (B, G, M): normalised over the group's real steps, summed from each step on."""
    mask = cand_mask[:, None, :].expand_as(steps).float()
    count = mask.sum(dim=(1, 2), keepdim=True).clamp(min=1)
    mean = (steps * mask).sum(dim=(1, 2), keepdim=True) / count
    var = (((steps - mean) * mask) ** 2).sum(dim=(1, 2), keepdim=True) / count
    normed = (steps - mean) / (var.sqrt() + EPS) * mask
    # suffix sums: step i gets the normalised rewards of steps i, i + 1, ..., M - 1
    return normed.flip(-1).cumsum(-1).flip(-1) * mask


def decision_advantages(outcome: torch.Tensor, steps: torch.Tensor | None, cand_mask: torch.Tensor,
                        weight: float) -> torch.Tensor:
    """(B, G, M): the plan's outcome advantage on each decision, plus ``weight`` x its process advantage."""
    B, G = outcome.shape
    adv = outcome[:, :, None].expand(B, G, cand_mask.shape[1]).clone()
    if weight and steps is not None:
        adv = adv + weight * process_advantages(steps, cand_mask)
    return adv


def action_log_probs(logp: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """(B, M, A) log-probabilities and (B, G, M) actions -> (B, G, M) log-probability of each action."""
    B, G, M = actions.shape
    return logp[:, None].expand(B, G, M, logp.shape[-1]).gather(-1, actions[..., None]).squeeze(-1)


def categorical_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """(B, M) KL(policy || reference) of each candidate's categorical (impossible actions add 0)."""
    p = logp.exp()
    terms = p * (logp - ref_logp)
    return torch.where(p > 0, terms, torch.zeros_like(terms)).sum(-1)


def grpo_loss(new_logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, cand_mask: torch.Tensor,
              clip: float = 0.2, kl: torch.Tensor | None = None, beta: float = 0.0) -> torch.Tensor:
    """Clipped surrogate over real decisions (all (B, G, M)), mean, plus ``beta`` x mean KL over real candidates."""
    mask = cand_mask[:, None, :].expand_as(advantages).float()
    ratio = (new_logp - old_logp).exp()
    surrogate = torch.minimum(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages)
    loss = -(surrogate * mask).sum() / mask.sum().clamp(min=1)
    if kl is not None and beta:
        loss = loss + beta * (kl * cand_mask).sum() / cand_mask.sum().clamp(min=1)
    return loss
