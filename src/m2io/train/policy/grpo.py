"""GRPO of the r1 placement policy, top to bottom in one loop (nanochat's ``chat_rl.py`` is the model).

Each step: draw ``tasks_per_step`` training examples; one forward pass of the policy gives every
candidate its categorical; ``group`` joint plans per example are sampled from it; each plan is
scored with the benchmark's metrics (:func:`m2io.train.rewards.plan_rewards`, weighted by
:class:`RewardWeights`) and each decision with its step reward; advantages are the group-normalised
outcome plus, times ``weights.process``, the process advantages
(:mod:`m2io.train.policy.advantages`); then ``updates`` clipped policy-gradient steps on the same
samples, with a KL penalty to the cold-start policy. No text is generated, so thousands of plans
are sampled a minute on a CPU.

Every ``eval_every`` steps: validation scores (never-trained corpora; the best step's policy is
kept as ``policy.pt``), dev scores if given, a checkpoint (resume), and the metrics log.

    run_grpo(train, val, GRPOConfig(out="runs/r1-grpo", init="runs/r1-cold/policy.pt"))  # doctest: +SKIP
"""
from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field

import torch
from tqdm import tqdm

from m2io.insert.policy.model import LEAVE_OUT, PlacementPolicy, collate, plan_of, sample
from m2io.train.policy.advantages import (action_log_probs, categorical_kl, decision_advantages,
                                          outcome_advantages, grpo_loss)
from m2io.train.policy.evaluate import score_examples, selection_score, set_leave_out_bias
from m2io.train.policy.run import RunFolder
from m2io.train.rewards import RewardWeights, clump_excess, plan_rewards, step_reward, total_reward


def policy_weights() -> RewardWeights:
    """The policy's reward: image F1 + 0.5 ordering + 0.5 soft + 0.5 exact position - 0.5 per figure beyond the
    longest run of figures its sources had at one place; process weight 0.

    Process rewards at 0.5 measured no different over 3 seeds (bench/RESULTS.md, "Ablations") and
    scored lower on the validation corpora in the full run, so they are off by default.
    """
    return RewardWeights(format=0.0, selection=1.0, order=0.5, position=0.5, exact=0.5, process=0.0, clump=0.5)


@dataclass(frozen=True)
class GRPOConfig:
    out: str = "runs/r1-grpo"
    init: str | None = None
    """The cold-start policy.pt to start from and to keep close to (KL); None: a fresh policy."""
    steps: int = 300
    tasks_per_step: int = 64
    group: int = 16
    """Plans sampled per task."""
    updates: int = 2
    """Clipped gradient steps on each batch of samples."""
    lr: float = 3e-4
    clip: float = 0.2
    beta: float = 0.02
    """KL coefficient to the cold-start policy (0: none)."""
    temperature: float = 1.0
    weights: RewardWeights = field(default_factory=policy_weights)
    eval_every: int = 25
    seed: int = 0


def rewards_of(actions: torch.Tensor, logits: torch.Tensor, examples, weights: RewardWeights):
    """(B, G) plan rewards, (B, G, M) step rewards and the mean of every outcome term."""
    B, G, M = actions.shape
    rewards = torch.zeros(B, G)
    steps = torch.zeros(B, G, M)
    terms_sum: dict[str, float] = {}
    for b, e in enumerate(examples):
        m = len(e.actions)
        for g in range(G):
            acts = actions[b, g]
            plan = plan_of(acts, logits[b], m)
            terms = plan_rewards(plan, e.gold, e.n_segments)
            terms["clump"] = clump_excess(plan, e.features.max_run)
            rewards[b, g] = total_reward(terms, weights)
            for key, value in terms.items():
                terms_sum[key] = terms_sum.get(key, 0.0) + value
            for i in range(m):
                a = int(acts[i])
                steps[b, g, i] = step_reward(i + 1, None if a == LEAVE_OUT else a - 1, e.gold, e.n_segments, weights)
    return rewards, steps, {k: v / (B * G) for k, v in terms_sum.items()}


def run_grpo(train, val, config: GRPOConfig, dev=None, command: str = "", progress: bool = True,
             record: dict | None = None) -> PlacementPolicy:
    """GRPO from ``config.init``; ``val`` chooses the kept step, ``dev`` (optional) is only logged."""
    run = RunFolder(config.out)
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    net = PlacementPolicy.load(config.init) if config.init else PlacementPolicy()
    reference = PlacementPolicy.load(config.init) if config.init and config.beta else None
    net.eval()  # dropout off: sampling and updates see the same policy
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    start, best = 0, {"score": float("-inf"), "step": None}
    if run.checkpoint.is_file():
        best = run.load(net, optimizer)
        start = run.resume_step()
    generator = torch.Generator().manual_seed(config.seed * 1_000_003 + start)

    def evaluate(step: int) -> dict:
        nonlocal best
        row = {}
        scores = score_examples(net, val)
        row.update({f"val/{k}": v for k, v in scores.items() if k != "n"})
        if dev:
            row.update({f"dev/{k}": v for k, v in score_examples(net, dev).items() if k != "n"})
        if val and selection_score(scores) > best["score"]:
            best = {"score": selection_score(scores), "step": step}
            net.save(run.policy)
        return row

    if start == 0:
        run.log({"step": 0, **evaluate(0)})
    bar = tqdm(total=config.steps, initial=start, desc="r1 GRPO", unit="step", disable=not progress)
    plans_sampled, sampling_seconds, loop_started = 0, 0.0, time.perf_counter()
    for step in range(start + 1, config.steps + 1):
        # 1. sample: one forward pass per task, `group` plans from it
        examples = random.sample(train, min(config.tasks_per_step, len(train)))
        batch = collate([e.features for e in examples], net.config.embed_dim)
        t0 = time.perf_counter()
        with torch.no_grad():
            logits = net(batch)
            actions = sample(logits / config.temperature, config.group, generator)          # (B, G, M)
            old_logp = action_log_probs(torch.log_softmax(logits / config.temperature, -1), actions)
            ref_logp = torch.log_softmax(reference(batch), -1) if reference is not None else None
        # 2. reward: the benchmark's metrics per plan, a step reward per decision
        rewards, steps, terms = rewards_of(actions, logits, examples, config.weights)
        sampling_seconds += time.perf_counter() - t0
        plans_sampled += actions.shape[0] * actions.shape[1]
        # 3. advantages: outcome (group-normalised) + process (normalised, summed from each step on)
        advantages = decision_advantages(outcome_advantages(rewards), steps, batch.cand_mask, config.weights.process)
        # 4. clipped policy-gradient updates on these samples, KL to the cold start
        for _ in range(config.updates):
            logp_all = torch.log_softmax(net(batch) / config.temperature, -1)
            kl = categorical_kl(logp_all, ref_logp) if ref_logp is not None else None
            loss = grpo_loss(action_log_probs(logp_all, actions), old_logp, advantages, batch.cand_mask,
                             config.clip, kl, config.beta)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
        placed = (actions != LEAVE_OUT).float() * batch.cand_mask[:, None, :]
        row = {"step": step, "reward": rewards.mean().item(), "loss": loss.item(),
               "kl": (kl * batch.cand_mask).sum().item() / batch.cand_mask.sum().item() if kl is not None else 0.0,
               "images_placed": placed.sum().item() / (actions.shape[0] * actions.shape[1]),
               "tied_groups": float((rewards.std(1) == 0).float().mean()),
               **{f"rewards/{k}/mean": v for k, v in terms.items() if k != "format"}}
        if step % config.eval_every == 0 or step == config.steps:
            row.update(evaluate(step))
            run.save(net, optimizer, step, best)
        run.log(row)
        bar.update(1)
        bar.set_postfix(reward=f"{row['reward']:.3f}", plans_per_min=f"{plans_sampled / max(sampling_seconds, 1e-9) * 60:,.0f}")
    bar.close()
    if not val or best["step"] is None:
        net.save(run.policy)
    bias = set_leave_out_bias(run.policy, val)
    rates = {"plans_per_minute_sampling": round(plans_sampled / max(sampling_seconds, 1e-9) * 60),
             "plans_per_minute_overall": round(plans_sampled / max(time.perf_counter() - loop_started, 1e-9) * 60)}
    run.finish({**(record or {}), "kind": "r1-grpo", "command": command, "examples": len(train), "validation": len(val),
                "best_step": best["step"], **bias, **rates, "config": asdict(config)})
    return PlacementPolicy.load(run.policy)
