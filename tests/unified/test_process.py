"""Process-level advantages of unified trajectories: group normalisation and per-token sums, by hand."""
import pytest
import torch

from m2io.unified.process import group_normalised, process_advantages


def test_steps_are_normalised_over_their_whole_group():
    steps = [[(0, 3, 1.0), (3, 5, 0.0)], [(0, 4, 0.5)], [(0, 2, 2.0)], [(0, 2, 2.0)]]
    got = group_normalised(steps, group=2)
    std = (((1.0 - 0.5) ** 2 + (0.0 - 0.5) ** 2 + 0.0) / 3) ** 0.5
    assert got[0] == pytest.approx([0.5 / (std + 1e-4), -0.5 / (std + 1e-4)])
    assert got[1] == pytest.approx([0.0])
    assert got[2] == got[3] == [0.0]  # equal rewards in a group: nothing to prefer


def test_per_token_advantages_for_a_hand_made_batch():
    # completion 0: a text step (tokens 0-3), an image step (4-9), then the end token (10)
    # completion 1: one text step (0-5), then the end token (6)
    steps = [[(0, 4, 0.9), (4, 10, 0.1)], [(0, 6, 0.5)]]
    r = group_normalised(steps, group=2)
    adv = process_advantages(torch.tensor([0.7, -0.7]), steps, group=2, weight=0.5, length=12)
    text0, image0, text1 = r[0][0], r[0][1], r[1][0]
    assert adv[0, :4].tolist() == pytest.approx([0.7 + 0.5 * (text0 + image0)] * 4)  # its step and the later one
    assert adv[0, 4:10].tolist() == pytest.approx([0.7 + 0.5 * image0] * 6)
    assert adv[0, 10:].tolist() == pytest.approx([0.7, 0.7])  # after the last step: outcome alone
    assert adv[1, :6].tolist() == pytest.approx([-0.7 + 0.5 * text1] * 6)
    assert adv[1, 6:].tolist() == pytest.approx([-0.7] * 6)
    assert text0 > text1 > image0  # 0.9 > 0.5 > 0.1, so the first text step's tokens gain most


def test_weight_zero_is_the_outcome_broadcast():
    outcome = torch.tensor([0.3, -0.3])
    adv = process_advantages(outcome, [[(0, 2, 1.0)], []], group=2, weight=0.0, length=4)
    assert torch.equal(adv, outcome[:, None].expand(2, 4))


def test_per_kind_normalisation_keeps_images_off_the_text_scale():
    # two completions, each a text step then an image: text rewards ~0.5, image rewards ~0.15
    steps = [[(0, 4, 0.6), (4, 10, 0.10)], [(0, 4, 0.4), (4, 10, 0.20)]]
    kinds = [["text", "image"], ["text", "image"]]
    pooled, apart = group_normalised(steps, 2), group_normalised(steps, 2, kinds)
    assert pooled[1][1] < 0 and pooled[0][1] < 0  # pooled: the better image still reads as a bad step
    assert apart[0] + apart[1] == pytest.approx([1.0, -1.0, -1.0, 1.0], abs=5e-3)  # apart: the better image gains
    adv = process_advantages(torch.zeros(2), steps, group=2, weight=1.0, length=10, kinds=kinds)
    assert adv[1, 4:].tolist() == pytest.approx([1.0] * 6, abs=5e-3)
    assert adv[0, 4:].tolist() == pytest.approx([-1.0] * 6, abs=5e-3)
    assert adv[0, :4].tolist() == pytest.approx([0.0] * 4, abs=5e-3)  # +1 text, -1 later image
