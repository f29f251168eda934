"""Teacher-forced odds of a target's figures on the tiny unified model: they are the model's own probabilities of
the reference steps, training on the target raises them, and the prompts left under the bar resume from a cache.
Text misses are the target's non-image tokens greedy decoding would not write; training on the target clears them."""
import json

import torch

from m2io.unified.model import UnifiedModel
from m2io.unified.odds import figure_odds, missed_items, missed_text_items, text_misses
from m2io.unified.trajectory import Step

USER = "Question: How do I crop?\n\nPassage:\nUse the crop tool.\n<vis><ref_2></vis>\n\nFigures:\n<ref_1> a\n<ref_2> b"
STEPS = [Step("text", text="Use the crop tool."), Step("reference", ref=2), Step("text", text="Then press Enter."),
         Step("reference", ref=1)]


def _full_odds(model, user, steps):
    """The same odds read off a full forward pass, one sequence prefix at a time (no kept-logits window)."""
    prompt, answer = model.prompt_ids(user), model.answer_ids(steps)
    out = []
    for i, t in enumerate(answer):
        if model.vocab.is_ref(t):
            with torch.no_grad():
                vis = model.lm(input_ids=torch.tensor([prompt + answer[:i - 1]])).logits[0, -1].softmax(-1)
                ref = model.lm(input_ids=torch.tensor([prompt + answer[:i]])).logits[0, -1].softmax(-1)
            out.append(vis[model.vocab.vis].item() * ref[t].item())
    return out


def _train_on_target(model, steps: int = 60) -> None:
    """Fit the tiny model to USER -> STEPS (a loaded folder comes frozen for inference)."""
    prompt, answer = model.prompt_ids(USER), model.answer_ids(STEPS)
    ids, labels = torch.tensor([prompt + answer]), torch.tensor([[-100] * len(prompt) + answer])
    model.lm.requires_grad_(True)
    optimizer = torch.optim.Adam(model.lm.parameters(), lr=3e-2)
    model.lm.train()
    for _ in range(steps):
        optimizer.zero_grad()
        model.lm(input_ids=ids, labels=labels).loss.backward()
        optimizer.step()


def test_odds_are_the_models_probabilities_of_the_reference_steps(tiny_unified_dir):
    model = UnifiedModel.load(tiny_unified_dir)
    odds = figure_odds(model, USER, STEPS)
    assert len(odds) == 2 and all(0.0 < p < 1.0 for p in odds)
    for got, want in zip(odds, _full_odds(model, USER, STEPS)):
        assert abs(got - want) < 1e-4 * max(want, 1e-6) + 1e-9
    assert figure_odds(model, USER, STEPS[:1]) == []


def test_training_on_the_target_raises_its_odds_and_drops_it_from_the_misses(tiny_unified_dir, tmp_path):
    model = UnifiedModel.load(tiny_unified_dir)
    targets = {"a/0": STEPS, "a/1": STEPS[:1]}  # a/1 shows no figure: never a miss
    users = {"a/0": USER, "a/1": USER}
    cache = tmp_path / "odds.jsonl"
    before = figure_odds(model, USER, STEPS)
    assert missed_items(model, targets, users, below=1.0, cache=cache, progress=False) == ["a/0"]
    assert [json.loads(line)["key"] for line in cache.read_text().splitlines()] == ["a/0"]

    _train_on_target(model)
    after = figure_odds(model, USER, STEPS)
    assert all(a > b + 0.3 for a, b in zip(after, before)) and min(after) > 0.5
    # the cache answers for the starting model: a resumed filter reads it, not the trained model
    assert missed_items(model, targets, users, below=1.0, cache=cache, progress=False) == ["a/0"]
    assert missed_items(model, targets, users, below=0.5, cache=tmp_path / "fresh.jsonl", progress=False) == []
    assert missed_items(model, targets, users, below=0.5, progress=False) == []  # no cache: nothing written


def _greedy_misses(model, user, steps):
    """The same count, one prefix at a time: the target tokens outside images that are not the argmax."""
    prompt, answer = model.prompt_ids(user), model.answer_ids(steps)
    v, inside, n = model.vocab, False, 0
    for i, t in enumerate(answer):
        inside = (inside or t == v.vis) and t != v.end_vis
        if inside or t == v.end_vis:
            continue
        with torch.no_grad():
            n += model.lm(input_ids=torch.tensor([prompt + answer[:i]])).logits[0, -1].argmax().item() != t
    return n


def test_text_misses_count_the_non_image_tokens_greedy_decoding_leaves_and_training_clears_them(tiny_unified_dir,
                                                                                               tmp_path):
    model = UnifiedModel.load(tiny_unified_dir)
    before = text_misses(model, USER, STEPS)
    assert before == _greedy_misses(model, USER, STEPS) and before > 5  # an untrained model writes other text
    targets, users = {"a/0": STEPS, "a/1": [Step("reference", ref=1)]}, {"a/0": USER, "a/1": USER}
    cache = tmp_path / "text.jsonl"
    assert missed_text_items(model, targets, users, cache=cache, progress=False) == ["a/0"]  # a/1 has no text
    assert [json.loads(line) for line in cache.read_text().splitlines()] == [{"key": "a/0", "misses": before}]

    _train_on_target(model)
    assert text_misses(model, USER, STEPS) == 0
    assert missed_text_items(model, targets, users, cache=cache, progress=False) == ["a/0"]  # the cache answers
    assert missed_text_items(model, targets, users, progress=False) == []
