"""The supervised anchor on the tiny unified model: its loss is the target's own likelihood, as the model's
labelled loss computes it, and its examples are the prompts and answers the model trains on, in a seeded order."""
import torch

from m2io.unified.anchor import anchor_examples, target_nll
from m2io.unified.model import UnifiedModel
from m2io.unified.trajectory import Step

USER = "Question: How do I crop?\n\nPassage:\nUse the crop tool.\n<vis><ref_2></vis>\n\nFigures:\n<ref_1> a\n<ref_2> b"
STEPS = [Step("text", text="Use the crop tool."), Step("reference", ref=2), Step("text", text="Then press Enter.")]


def test_target_nll_is_the_labelled_loss_and_has_a_gradient(tiny_unified_dir):
    model = UnifiedModel.load(tiny_unified_dir)
    prompt, answer = model.prompt_ids(USER), model.answer_ids(STEPS)
    with torch.no_grad():
        labelled = model.lm(input_ids=torch.tensor([prompt + answer]),
                            labels=torch.tensor([[-100] * len(prompt) + answer])).loss.item()
    model.lm.requires_grad_(True)
    nll = target_nll(model.lm, prompt, answer)
    assert abs(nll.item() - labelled) < 1e-4 and nll.item() > 1.0  # the untrained tiny model: far from its target
    nll.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.lm.parameters())


def test_anchor_examples_are_the_training_encoding_in_a_seeded_order(tiny_unified_dir):
    model = UnifiedModel.load(tiny_unified_dir)
    keys = [f"tiny/{k}" for k in range(6)]
    users = {k: USER.replace("crop", f"crop {k}") for k in keys}
    targets = {k: STEPS for k in keys}
    pairs = anchor_examples(model, list(reversed(keys)), users, targets, seed=3)
    assert sorted(k for k, _, _ in pairs) == keys and [k for k, _, _ in pairs] != keys
    assert [k for k, _, _ in pairs] == [k for k, _, _ in anchor_examples(model, keys, users, targets, seed=3)]
    key, prompt, answer = pairs[0]
    assert prompt == model.prompt_ids(users[key]) and answer == model.answer_ids(STEPS)
