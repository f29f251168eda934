"""The placement policy network: valid distributions, plans and sampling on padded batches."""
import torch

from m2io.insert.policy.model import (IMPOSSIBLE, LEAVE_OUT, PlacementPolicy, PolicyConfig, _random_features, collate,
                                      greedy, plan_of, sample)


def net(**kw):
    torch.manual_seed(0)
    return PlacementPolicy(PolicyConfig(dim=16, embed_dim=4, **kw)).eval()


def test_slots_past_an_answers_end_have_probability_zero():
    batch = collate([_random_features(3, 4), _random_features(2, 1, seed=1)])
    probs = net()(batch).softmax(-1)
    assert probs.shape == (2, 3, 6)
    assert torch.all(probs[1, :, 3:] == 0)  # the second answer has 1 segment: slots 0 and 1 only
    assert torch.allclose(probs.sum(-1), torch.ones(2, 3))


def test_decisions_are_joint_a_candidate_changes_another_ones_distribution():
    model = net()
    alone = model(collate([_random_features(1, 3)]))[0, 0]
    with_other = model(collate([_random_features(2, 3)]))[0, 0]  # candidate 0 is the same in both
    assert not torch.allclose(alone, with_other)


def test_padding_does_not_change_a_tasks_logits():
    model = net()
    one = model(collate([_random_features(2, 3)]))[0, :2, :5]
    padded = model(collate([_random_features(2, 3), _random_features(5, 7, seed=3)]))[0, :2, :5]
    assert torch.allclose(one, padded, atol=1e-5)


def test_greedy_and_sampled_plans_are_valid():
    batch = collate([_random_features(4, 2), _random_features(50, 9, seed=2)])
    logits = net()(batch)
    for plan, (m, n) in zip(greedy(logits, batch), [(4, 2), (50, 9)]):
        ks = [k for k, _ in plan]
        assert len(ks) == len(set(ks)) and all(1 <= k <= m for k in ks) and all(0 <= s <= n for _, s in plan)
        assert [s for _, s in plan] == sorted(s for _, s in plan)
    actions = sample(logits, 8, torch.Generator().manual_seed(0))
    assert actions.shape == (2, 8, 50)
    assert int(actions[0, :, :4].max()) <= 3  # slot 2 is action 3
    assert torch.all(actions[0, :, 4:] == LEAVE_OUT)  # padded candidates can only be left out


def test_plan_of_orders_by_slot_then_logit():
    logits = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 3.0], [5.0, 0.0, 0.0]])
    assert plan_of(torch.tensor([2, 2, LEAVE_OUT]), logits, 3) == [(2, 1), (1, 1)]


def test_save_and_load_give_the_same_policy(tmp_path):
    model = net(use_embeddings=False)
    model.save(tmp_path / "p.pt")
    batch = collate([_random_features(3, 3)])
    assert torch.equal(model(batch), PlacementPolicy.load(tmp_path / "p.pt")(batch))
    assert IMPOSSIBLE < -1e8


def test_leave_out_bias_lowers_the_leave_out_logit_in_greedy_plans():
    batch = collate([_random_features(1, 2)])
    logits = torch.tensor([[[2.0, 1.0, 0.5, -1.0]]])
    assert greedy(logits, batch) == [[]]
    assert greedy(logits, batch, leave_out_bias=1.5) == [[(1, 0)]]
