"""TRL's GRPOTrainer with process-level (per-placement) advantages, extended as narrowly as possible.

Only ``_generate_and_score_completions`` is overridden: after TRL has generated, scored and
normalised (outcome advantages, shape (B,)), the advantages become (B, T) per-token values
with :func:`m2io.train.process.token_advantages`. TRL's loss accepts (B, T) advantages as they
are. Rows must carry ``gold`` (JSON ``{"k": slot}``) and ``n_segments`` columns.

    trainer = ProcessGRPOTrainer(model=..., reward_funcs=[...], args=GRPOConfig(...),
                                 train_dataset=rows, process_weight=0.5)   # doctest: +SKIP
"""
from __future__ import annotations

import json

from trl import GRPOTrainer

from m2io.train.process import token_advantages
from m2io.train.rewards import RewardWeights, step_rewards


class ProcessGRPOTrainer(GRPOTrainer):
    def __init__(self, *args, process_weight: float = 0.0, step_weights: RewardWeights = RewardWeights(), **kwargs):
        super().__init__(*args, **kwargs)
        self.process_weight, self.step_weights = process_weight, step_weights

    def _generate_and_score_completions(self, inputs):
        out = super()._generate_and_score_completions(inputs)
        ids = out["completion_ids"]
        tokenizer = self.processing_class
        strings = [[tokenizer.decode([int(t)]) for t, m in zip(row, mask) if m]
                   for row, mask in zip(ids.tolist(), out["completion_mask"].tolist())]
        steps = []
        for row, tokens in zip(inputs, strings):
            gold = {int(k): int(s) for k, s in json.loads(row["gold"]).items()}
            found = step_rewards("".join(tokens), gold, int(row["n_segments"]), self.step_weights)
            steps.append([(s.start, s.end, s.reward) for s in found])
        out["advantages"] = token_advantages(out["advantages"], strings, steps, self.process_weight,
                                             length=ids.shape[1]).to(out["advantages"].device)
        return out
