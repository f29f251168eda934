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


def greedy_plans(net, examples, batch_size: int = 256) -> list[list[tuple[int, int]]]:
    was_training = net.training
    net.eval()
    plans = []
    with torch.no_grad():
        for i in range(0, len(examples), batch_size):
            chunk = examples[i:i + batch_size]
            batch = collate([e.features for e in chunk], net.config.embed_dim)
            plans += greedy(net(batch), batch)
    net.train(was_training)
    return plans


def score_examples(net, examples) -> dict[str, float]:
    """Mean image F1, ordering, exact and soft position of the greedy plans, and ``n``."""
    if not examples:
        return {"n": 0}
    terms = [plan_rewards(plan, e.gold, e.n_segments) for plan, e in zip(greedy_plans(net, examples), examples)]
    out = {metric: float(np.mean([t[term] for t in terms])) for term, metric in METRIC_OF.items()}
    return {"n": len(examples), **out}


def selection_score(scores: dict[str, float]) -> float:
    """What checkpoints are chosen by: the mean of image F1, ordering and exact position."""
    return (scores["image_f1"] + scores["ordering"] + scores["position_accuracy"]) / 3
