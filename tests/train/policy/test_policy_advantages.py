"""Outcome and process advantages of the placement policy's GRPO, and its loss, on hand-made batches."""
import pytest
import torch

from m2io.insert.policy.model import PlacementPolicy, PolicyConfig, _random_features, collate, sample
from m2io.train.policy.advantages import (action_log_probs, categorical_kl, decision_advantages, grpo_loss,
                                          outcome_advantages, process_advantages)
from m2io.train.rewards import RewardWeights, step_reward


def test_outcome_advantages_are_group_normalised():
    adv = outcome_advantages(torch.tensor([[1.0, 0.0, 0.5, 0.5], [2.0, 2.0, 2.0, 2.0]]))
    assert adv[0].tolist() == pytest.approx([1.4142, -1.4142, 0.0, 0.0], abs=1e-3)   # mean .5, std .3536
    assert adv[1].tolist() == [0.0, 0.0, 0.0, 0.0]                                     # a tied group learns nothing


def test_process_advantages_by_hand():
    # one task, two plans, three candidates of which the last is padding
    # plan 1: gold at its slot (+1), non-gold placed (-0.5); plan 2: both left out (0, 0)
    steps = torch.tensor([[[1.0, -0.5, 0.0], [0.0, 0.0, 0.0]]])
    mask = torch.tensor([[True, True, False]])
    # real step rewards 1, -0.5, 0, 0: mean 0.125, std sqrt(0.296875) = 0.544862
    n = lambda r: (r - 0.125) / 0.544862  # noqa: E731
    expected = [[n(1.0) + n(-0.5), n(-0.5), 0.0], [n(0.0) + n(0.0), n(0.0), 0.0]]
    assert process_advantages(steps, mask)[0].tolist() == [pytest.approx(row, abs=1e-3) for row in expected]


def test_decision_advantage_adds_weighted_process_to_outcome():
    outcome = torch.tensor([[0.5, -0.5]])
    steps = torch.tensor([[[1.0, -0.5], [0.0, 0.0]]])
    mask = torch.tensor([[True, True]])
    adv = decision_advantages(outcome, steps, mask, weight=0.5)
    assert adv[0, 0].tolist() == pytest.approx([0.5 + 0.5 * 0.4587, 0.5 + 0.5 * -1.1469], abs=1e-3)
    assert adv[0, 1].tolist() == pytest.approx([-0.5 + 0.5 * -0.4587, -0.5 + 0.5 * -0.2294], abs=1e-3)


def _batch(seed=0):
    torch.manual_seed(seed)
    net = PlacementPolicy(PolicyConfig(dim=16, embed_dim=4)).eval()
    batch = collate([_random_features(3, 2), _random_features(2, 4, seed=1)])
    with torch.no_grad():
        old = torch.log_softmax(net(batch), -1)
    actions = sample(old, 4, torch.Generator().manual_seed(seed))
    return net, batch, actions, action_log_probs(old, actions)


def test_at_process_weight_zero_the_update_is_outcome_grpo():
    net, batch, actions, old_logp = _batch()
    rewards = torch.tensor([[1.0, 0.2, 0.4, 0.9], [0.0, 0.5, 0.5, 1.0]])
    steps = torch.randn(2, 4, 3)
    adv = decision_advantages(outcome_advantages(rewards), steps, batch.cand_mask, weight=0.0)

    def grads(advantages):
        net.zero_grad()
        new = action_log_probs(torch.log_softmax(net(batch), -1), actions)
        loss = grpo_loss(new, old_logp, advantages, batch.cand_mask)
        loss.backward()
        return loss.item(), [p.grad.clone() for p in net.parameters() if p.grad is not None]

    outcome_only = outcome_advantages(rewards)[:, :, None].expand(2, 4, 3)
    loss_a, grads_a = grads(adv)
    loss_b, grads_b = grads(outcome_only)
    assert loss_a == loss_b and all(torch.equal(a, b) for a, b in zip(grads_a, grads_b))
    # and a non-zero weight changes it
    loss_c, _ = grads(decision_advantages(outcome_advantages(rewards), steps, batch.cand_mask, weight=1.0))
    assert loss_c != loss_a


def test_loss_at_the_sampling_policy_is_minus_the_mean_advantage_and_kl_is_zero():
    net, batch, actions, old_logp = _batch(1)
    adv = torch.randn(2, 4, 3)
    logp = torch.log_softmax(net(batch), -1)
    loss = grpo_loss(action_log_probs(logp, actions), old_logp, adv, batch.cand_mask,
                     kl=categorical_kl(logp, logp.detach()), beta=1.0)
    mask = batch.cand_mask[:, None, :].expand_as(adv)
    assert loss.item() == pytest.approx(-adv[mask].mean().item(), abs=1e-5)


def test_step_rewards_of_decisions():
    w = RewardWeights(partial=0.5, penalty=0.5)
    assert [step_reward(1, 2, {1: 2}, 4, w), step_reward(1, 0, {1: 2}, 4, w), step_reward(3, 1, {1: 2}, 4, w),
            step_reward(1, None, {1: 2}, 4, w)] == [1.0, 0.25, -0.5, 0.0]
