"""Rewards of the Inserter-R1 policy: outcome terms that are the benchmark's metrics, and step rewards.

An output is the policy's text (``<plan><img2>@1 <img4>@3</plan>``, optionally after a
``<think>`` span). Outcome terms (DESIGN.md, "Rewards"): ``format`` is 1 when the plan parses
strictly (only candidates, no image twice, slots in range) and 0 otherwise, and then every
other term is 0; ``selection`` is image F1, ``order`` the ordering score, ``position`` soft
position accuracy, all computed by :mod:`m2io.metrics` through :func:`m2io.insert.score.score_plan`.
Process rewards score each placement (each ``<imgK>@S`` item is one step): +1 for a gold image
at its gold slot, ``partial * soft position`` for a gold image elsewhere, ``-penalty`` for an
image that is not gold.

>>> gold = {1: 1, 3: 2}                      # candidate number -> gold slot
>>> r = outcome_rewards("<plan><img1>@1 <img2>@2</plan>", gold, n_candidates=3, n_segments=2)
>>> r["format"], r["selection"], r["position"]
(1.0, 0.5, 0.5)
>>> [round(s.reward, 2) for s in step_rewards("<plan><img1>@1 <img3>@1</plan>", gold, 2)]
[1.0, 0.25]
>>> outcome_rewards("<plan><img9>@1</plan>", gold, 3, 2)["format"]
0.0
"""
from __future__ import annotations

from dataclasses import dataclass

from m2io.insert.grammar import PLAN_OPEN, PlanGrammar
from m2io.insert.plan import PLAN_ITEM, GoldPlan, PlanError, parse_plan
from m2io.insert.score import score_plan
from m2io.types import Placement


@dataclass(frozen=True)
class RewardWeights:
    format: float = 0.5
    """Weight of the format term (1 when the plan parses, else 0)."""
    selection: float = 1.0
    """Weight of image F1."""
    order: float = 0.5
    """Weight of the ordering score."""
    position: float = 1.0
    """Weight of soft position accuracy."""
    exact: float = 0.0
    """Weight of exact position accuracy (share of gold images at their gold slot)."""
    process: float = 0.0
    """Weight of the per-placement step rewards in each token's advantage (0: plain outcome GRPO)."""
    partial: float = 0.5
    """Step reward of a gold image at another slot, times its soft position score."""
    penalty: float = 0.5
    """A non-gold image's step reward is minus this."""
    clump: float = 0.0
    """Subtracted per figure that a plan puts at one slot beyond the longest run its sources had."""


@dataclass(frozen=True)
class Step:
    start: int
    """Character offsets of the step's item in the output text."""
    end: int
    k: int
    slot: int
    reward: float


def _gold(gold_slots: dict[int, int], n_segments: int) -> GoldPlan:
    return GoldPlan(segments=[""] * n_segments, slots={str(k): s for k, s in gold_slots.items()})


def parse_output(text: str, n_candidates: int, n_segments: int) -> list[tuple[int, int]] | None:
    """The plan's ``(k, slot)`` items, or None when the output is not a well-formed plan."""
    plan = PlanGrammar(n_candidates, n_segments, think=text.lstrip().startswith("<think>")).plan_text(text)
    if plan is None or "</plan>" not in text:
        return None
    try:
        return parse_plan(plan, n_candidates, n_segments)
    except PlanError:
        return None


def plan_rewards(items: list[tuple[int, int]], gold_slots: dict[int, int], n_segments: int) -> dict[str, float]:
    """The outcome terms of a valid plan (``(candidate number, slot)`` items in answer order), each in [0, 1].

    >>> plan_rewards([(3, 2), (1, 1)], {1: 1, 3: 2}, n_segments=2)
    {'format': 1.0, 'selection': 1.0, 'order': 1.0, 'position': 1.0, 'exact': 1.0}
    """
    placements = [Placement(str(k), s) for k, s in sorted(items, key=lambda kv: kv[1])]
    scores = score_plan(_gold(gold_slots, n_segments), placements)
    return {"format": 1.0, "selection": scores["image_f1"], "order": scores["ordering"],
            "position": scores["position_accuracy_soft"], "exact": scores["position_accuracy"]}


def outcome_rewards(text: str, gold_slots: dict[int, int], n_candidates: int, n_segments: int) -> dict[str, float]:
    """The outcome terms of one output (unweighted, each in [0, 1])."""
    items = parse_output(text, n_candidates, n_segments)
    if items is None:
        return {"format": 0.0, "selection": 0.0, "order": 0.0, "position": 0.0, "exact": 0.0}
    return plan_rewards(items, gold_slots, n_segments)


def total_reward(terms: dict[str, float], weights: RewardWeights) -> float:
    return (weights.format * terms["format"] + weights.selection * terms["selection"]
            + weights.order * terms["order"] + weights.position * terms["position"]
            + weights.exact * terms.get("exact", 0.0) - weights.clump * terms.get("clump", 0.0))


def clump_excess(items: list[tuple[int, int]], max_run: int) -> float:
    """How many figures a plan puts at one slot beyond ``max_run`` (summed over slots).

    >>> clump_excess([(1, 2), (2, 2), (3, 2), (4, 5)], max_run=1)
    2.0
    """
    counts: dict[int, int] = {}
    for _, slot in items:
        counts[slot] = counts.get(slot, 0) + 1
    return float(sum(max(0, c - max(1, max_run)) for c in counts.values()))


def step_reward(k: int, slot: int | None, gold_slots: dict[int, int], n_segments: int,
                weights: RewardWeights = RewardWeights()) -> float:
    """The process reward of one decision: candidate ``k`` placed at ``slot`` (None: left out).

    +1 for a gold image at its gold slot, ``partial * soft position`` for a gold image elsewhere,
    ``-penalty`` for a placed image that is not gold, 0 for an image left out.

    >>> [step_reward(1, 1, {1: 1}, 4), step_reward(1, 3, {1: 1}, 4), step_reward(2, 0, {1: 1}, 4),
    ...  step_reward(2, None, {1: 1}, 4)]
    [1.0, 0.25, -0.5, 0.0]
    """
    if slot is None:
        return 0.0
    if k not in gold_slots:
        return -weights.penalty
    if slot == gold_slots[k]:
        return 1.0
    return weights.partial * max(0.0, 1 - abs(slot - gold_slots[k]) / max(n_segments, 1))


def step_rewards(text: str, gold_slots: dict[int, int], n_segments: int,
                 weights: RewardWeights = RewardWeights()) -> list[Step]:
    """One step per ``<imgK>@S`` item of the plan, with its character span and reward."""
    start = text.find(PLAN_OPEN)
    if start < 0:
        return []
    steps = []
    for m in PLAN_ITEM.finditer(text, start):
        k, slot = int(m.group(1)), int(m.group(2))
        steps.append(Step(m.start(), m.end(), k, slot, step_reward(k, slot, gold_slots, n_segments, weights)))
    return steps
