"""Process-level GRPO: per-token advantages by hand, and TRL's loss unchanged at process weight 0."""
from __future__ import annotations

import json

import pytest
import torch

from m2io.train.process import token_advantages
from m2io.train.rewards import RewardWeights, outcome_rewards, step_rewards

GOLD = {2: 1, 4: 3}


@pytest.fixture(scope="module")
def tokenizer(smollm2_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(smollm2_dir))


def test_per_token_advantages_for_a_hand_made_batch(tokenizer):
    texts = ["<plan><img2>@1 <img5>@0</plan>", "<plan></plan>"]
    strings = [[tokenizer.decode([t]) for t in tokenizer(x, add_special_tokens=False)["input_ids"]] for x in texts]
    assert ["".join(s) for s in strings] == texts
    steps = [[(s.start, s.end, s.reward) for s in step_rewards(x, GOLD, 4, RewardWeights(penalty=0.5))] for x in texts]
    adv = token_advantages(torch.tensor([1.0, -1.0]), strings, steps, weight=0.5, length=len(strings[0]) + 2)
    want = []
    pos = 0
    for piece in strings[0]:
        inside_first = pos < 14 and pos + len(piece) > 6      # "<img2>@1": gold at its slot, +1
        inside_second = pos < 23 and pos + len(piece) > 15    # "<img5>@0": not gold, -0.5
        want.append(1.0 + 0.5 * (1.0 if inside_first else -0.5 if inside_second else 0.0))
        pos += len(piece)
    assert adv[0, :len(want)].tolist() == pytest.approx(want)
    assert adv[0, len(want):].tolist() == [1.0, 1.0] and adv[1].tolist() == [-1.0] * adv.shape[1]
    assert sorted(set(round(v, 3) for v in want)) == [0.75, 1.0, 1.5]


def _reward(completions, gold, n_candidates, n_segments, **_):
    texts = [c[0]["content"] if isinstance(c, list) else c for c in completions]
    return [outcome_rewards(t, {int(k): v for k, v in json.loads(g).items()}, n, s)["selection"]
            for t, g, n, s in zip(texts, gold, n_candidates, n_segments)]


def test_process_weight_zero_gives_trl_loss(tiny_lm_dir, tmp_path):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig

    from m2io.train.grpo_trainer import ProcessGRPOTrainer

    tok = AutoTokenizer.from_pretrained(str(tiny_lm_dir))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_lm_dir))
    rows = [{"prompt": [{"role": "user", "content": f"Place images {n}."}], "gold": json.dumps({"2": 1}),
             "n_candidates": 3, "n_segments": 2} for n in range(2)]
    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=2,
                      max_completion_length=12, max_steps=1, report_to=[], use_cpu=True, logging_steps=1, seed=0)
    trainer = ProcessGRPOTrainer(model=model, processing_class=tok, reward_funcs=[_reward], args=args,
                                 train_dataset=Dataset.from_list(rows), process_weight=0.0)
    batch = [rows[0], rows[0], rows[1], rows[1]]
    torch.manual_seed(0)
    out = trainer._generate_and_score_completions(batch)
    assert out["advantages"].shape == out["completion_ids"].shape
    per_sequence = dict(out, advantages=out["advantages"][:, 0])
    assert torch.equal(out["advantages"], per_sequence["advantages"][:, None].expand_as(out["advantages"]))
    loss_tokens = trainer._compute_loss(trainer.model, out)
    loss_trl = trainer._compute_loss(trainer.model, per_sequence)
    assert torch.allclose(loss_tokens, loss_trl)
