"""Score the policy's greedy plans on featurised examples (the training runs' dev and validation curves).

The terms are the ``insert`` evaluation's metrics, computed by the same code
(:func:`m2io.train.rewards.plan_rewards` through :func:`m2io.insert.score.score_plan`).

>>> from m2io.insert.policy.model import PlacementPolicy, PolicyConfig, _random_features
>>> import numpy as np
>>> from m2io.train.policy.data import Example
>>> ex = Example(_random_features(2, 3), np.array([1, 0]), {1: 0}, [1], 3, "d/q", "base")
>>> sorted(score_examples(PlacementPolicy(PolicyConfig(dim=8, embed_dim=4)), [ex]))
['image_f1', 'n', 'ordering', 'position_accuracy', 'position_accuracy_soft']
"""
from __future__ import annotations

import numpy as np
import torch

from m2io.insert.policy.model import collate, greedy
from m2io.train.rewards import plan_rewards

METRIC_OF = {"selection": "image_f1", "order": "ordering", "exact": "position_accuracy",
             "position": "position_accuracy_soft"}


def greedy_plans(net, examples, batch_size: int = 256, leave_out_bias: float | None = None) -> list[list[tuple[int, int]]]:
    bias = net.config.leave_out_bias if leave_out_bias is None else leave_out_bias
    was_training = net.training
    net.eval()
    plans = []
    with torch.no_grad():
        for i in range(0, len(examples), batch_size):
            chunk = examples[i:i + batch_size]
            batch = collate([e.features for e in chunk], net.config.embed_dim)
            plans += greedy(net(batch), batch, bias, [e.features.max_run for e in chunk])
    net.train(was_training)
    return plans


def score_examples(net, examples, leave_out_bias: float | None = None) -> dict[str, float]:
    """Mean image F1, ordering, exact and soft position of the greedy plans, and ``n``."""
    if not examples:
        return {"n": 0}
    plans = greedy_plans(net, examples, leave_out_bias=leave_out_bias)
    terms = [plan_rewards(plan, e.gold, e.n_segments) for plan, e in zip(plans, examples)]
    out = {metric: float(np.mean([t[term] for t in terms])) for term, metric in METRIC_OF.items()}
    return {"n": len(examples), **out}


def selection_score(scores: dict[str, float]) -> float:
    """What checkpoints are chosen by: the mean of image F1, ordering and exact position."""
    return (scores["image_f1"] + scores["ordering"] + scores["position_accuracy"]) / 3


BIASES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)


def tune_leave_out_bias(net, val, grid=BIASES) -> tuple[float, dict[float, float]]:
    """The leave-out bias with the best mean of F1, ordering, exact and soft position on ``val`` (ties: the
    smallest). A policy trained on gold decisions is cautious on extractive answers, where a gold image's
    context is rarely verbatim in the answer; the bias trades a little precision for recall there.
    """
    means = {}
    for b in grid:
        s = score_examples(net, val, leave_out_bias=b)
        means[b] = (s["image_f1"] + s["ordering"] + s["position_accuracy"] + s["position_accuracy_soft"]) / 4
    best = max(grid, key=lambda b: (means[b], -b))
    return best, means


def set_leave_out_bias(policy_file, val) -> dict:
    """Tune the kept policy's leave-out bias on ``val`` and save it into the file; what was chosen, for the record."""
    from dataclasses import replace

    from m2io.insert.policy.model import PlacementPolicy

    net = PlacementPolicy.load(policy_file)
    if not val:
        return {"leave_out_bias": net.config.leave_out_bias}
    bias, means = tune_leave_out_bias(net, val)
    net.config = replace(net.config, leave_out_bias=bias)
    net.save(policy_file)
    return {"leave_out_bias": bias, "leave_out_bias_scores": {str(b): round(m, 4) for b, m in means.items()}}
