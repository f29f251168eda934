"""Rewards by hand: the outcome terms are the benchmark's metrics, steps score each placement."""
from __future__ import annotations

import pytest

from m2io.train.rewards import RewardWeights, outcome_rewards, parse_output, step_rewards, total_reward

GOLD = {2: 1, 4: 3}  # <img2> after segment 1, <img4> after segment 3


@pytest.mark.parametrize("text,want", [
    ("<plan><img2>@1 <img4>@3</plan>", {"format": 1.0, "selection": 1.0, "order": 1.0, "position": 1.0,
                                        "exact": 1.0}),
    ("<plan><img4>@1 <img2>@3</plan>", {"format": 1.0, "selection": 1.0, "order": pytest.approx(2 / 3),
                                        "position": pytest.approx(0.5), "exact": 0.0}),
    ("<plan><img2>@1</plan>", {"format": 1.0, "selection": pytest.approx(2 / 3), "order": 0.25, "position": 0.5,
                               "exact": 0.5}),
    ("<plan></plan>", {"format": 1.0, "selection": 0.0, "order": 0.0, "position": 0.0, "exact": 0.0}),
    ("<think>two images</think><plan><img2>@1 <img4>@3</plan>", {"format": 1.0, "selection": 1.0, "order": 1.0,
                                                                "position": 1.0, "exact": 1.0}),
])
def test_outcome_terms(text, want):
    assert outcome_rewards(text, GOLD, n_candidates=5, n_segments=4) == want


@pytest.mark.parametrize("text", ["<plan><img2>@1 <img2>@3</plan>", "<plan><img6>@1</plan>", "<plan><img2>@5</plan>",
                                  "<plan><img2>@1", "<img2>@1", "Sure! <plan>img2@1</plan>", ""])
def test_malformed_output_scores_zero_everywhere(text):
    assert outcome_rewards(text, GOLD, 5, 4) == {"format": 0.0, "selection": 0.0, "order": 0.0, "position": 0.0,
                                                 "exact": 0.0}
    assert parse_output(text, 5, 4) is None


def test_weighted_total():
    terms = outcome_rewards("<plan><img2>@1</plan>", GOLD, 5, 4)
    w = RewardWeights(format=0.5, selection=1.0, order=0.5, position=1.0)
    assert total_reward(terms, w) == pytest.approx(0.5 + 2 / 3 + 0.125 + 0.5)


def test_steps_score_each_placement_with_its_span():
    text = "<plan><img2>@1 <img4>@1 <img5>@0</plan>"
    steps = step_rewards(text, GOLD, n_segments=4, weights=RewardWeights(partial=0.5, penalty=0.5))
    assert [(s.k, s.slot) for s in steps] == [(2, 1), (4, 1), (5, 0)]
    assert [s.reward for s in steps] == [1.0, pytest.approx(0.5 * (1 - 2 / 4)), -0.5]
    assert [text[s.start:s.end] for s in steps] == ["<img2>@1", "<img4>@1", "<img5>@0"]
    assert step_rewards("<think><img2>@1</think>no plan", GOLD, 4) == []
