"""TRL's GRPOTrainer for one text-and-image trajectory, extended as narrowly as Inserter-R1's.

Two overrides, nothing else: completions are sampled under the modality grammar (a
:class:`~m2io.unified.grammar.ModalityGrammar` handed to ``generate`` for the one call TRL makes),
and after TRL has scored and normalised the outcome advantages (B,), they become per-token (B, T)
with :func:`m2io.unified.process.process_advantages` from the scorer's step rewards (normalised per
kind of step with ``step_norm="per_kind"``; and, with
``image_credit="own"``, image codes take their own image's reward alone:
:func:`~m2io.unified.process.own_image_credit`). The per-token
ratio, clipping, KL and loss are TRL's own for every token of either modality. Rows carry an
``item`` column naming the :class:`~m2io.unified.scorer.Reference`; with ``prompts_log``, each generation's
items are appended to that JSONL file (``{"step": ..., "items": [...]}``), so which prompts a run trained on can
be told from those it never saw (``bench/unified_text_misses.py``). With ``anchor`` ((item, prompt ids, answer ids)
triples) and ``anchor_weight``, each pass's loss also holds that weight of one anchor example's likelihood term
(:mod:`m2io.unified.anchor`, PPO-ptx), logged as ``anchor_nll``; the step's anchor items go to ``prompts_log`` too
(``"anchor"``).

    trainer = UnifiedGRPOTrainer(model=lm, processing_class=tok, args=GRPOConfig(...), train_dataset=rows,
                                 reward_funcs=reward_functions(scorer), scorer=scorer, vocab=vocab,
                                 process_weight=0.5)                                    # doctest: +SKIP
"""
from __future__ import annotations

import json
from functools import partial

from transformers import LogitsProcessorList
from trl import GRPOTrainer

from m2io.unified.anchor import target_nll
from m2io.unified.grammar import ModalityGrammar
from m2io.unified.process import own_image_credit, process_advantages


class UnifiedGRPOTrainer(GRPOTrainer):
    def __init__(self, *args, scorer, vocab, process_weight: float = 0.0, text_temperature: float | None = None,
                 image_temperature: float | None = None, image_credit: str = "outcome", step_norm: str = "joint",
                 prompts_log=None, anchor: list[tuple[str, list[int], list[int]]] | None = None,
                 anchor_weight: float = 0.0, **kwargs):
        if image_credit not in ("outcome", "own"):
            raise ValueError(f"image_credit must be 'outcome' or 'own', not {image_credit!r}")
        if step_norm not in ("joint", "per_kind"):
            raise ValueError(f"step_norm must be 'joint' or 'per_kind', not {step_norm!r}")
        if anchor_weight and not anchor:
            raise ValueError(f"anchor_weight {anchor_weight} needs anchor examples (none given)")
        super().__init__(*args, **kwargs)
        self.scorer, self.vocab, self.process_weight = scorer, vocab, process_weight
        self.image_credit, self.step_norm = image_credit, step_norm
        self.modality_temperatures = (text_temperature, image_temperature)
        self.prompts_log = prompts_log
        self.anchor, self.anchor_weight = anchor or [], anchor_weight

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if self.anchor_weight and model.training:
            _, prompt, answer = self._anchor_at(self._step % self.current_gradient_accumulation_steps)
            nll = target_nll(model, prompt, answer)
            self._metrics["train"]["anchor_nll"].append(nll.item())
            loss = loss + self.anchor_weight * nll / self.current_gradient_accumulation_steps
        return loss

    def _anchor_at(self, at: int):
        """The anchor example of this step's pass ``at``: numbered by step and pass (TRL's ``_step`` counts passes),
        so a resumed run takes up the same order."""
        passes = self.current_gradient_accumulation_steps
        return self.anchor[(self.state.global_step * passes + at) % len(self.anchor)]

    def _generate_single_turn(self, prompt_ids, *args, **kwargs):
        model = self.accelerator.unwrap_model(self.model)
        grammar = ModalityGrammar(self.vocab, model.get_output_embeddings().weight.shape[0], None,
                                  self.max_completion_length, *self.modality_temperatures, references="prompt")
        model.generate = partial(type(model).generate, model, logits_processor=LogitsProcessorList([grammar]))
        try:
            return super()._generate_single_turn(prompt_ids, *args, **kwargs)
        finally:
            del model.generate  # the class's own generate again

    def _generate_and_score_completions(self, inputs):
        out = super()._generate_and_score_completions(inputs)
        if self.prompts_log is not None:
            with open(self.prompts_log, "a") as sink:
                row = {"step": self.state.global_step + 1, "items": list(dict.fromkeys(x["item"] for x in inputs))}
                if self.anchor_weight:
                    row["anchor"] = [self._anchor_at(a)[0] for a in range(self.current_gradient_accumulation_steps)]
                sink.write(json.dumps(row) + "\n")
        ids, mask = out["completion_ids"].tolist(), out["completion_mask"].tolist()
        scored = [self.scorer.score([t for t, m in zip(row, keep) if m], x["item"])
                  for row, keep, x in zip(ids, mask, inputs)]
        steps, kinds = [s.steps for s in scored], [s.kinds for s in scored]
        adv = process_advantages(out["advantages"], steps, self.num_generations, self.process_weight,
                                 length=out["completion_ids"].shape[1],
                                 kinds=kinds if self.step_norm == "per_kind" else None)
        if self.image_credit == "own":
            images = [[s for s, k in zip(row_steps, row_kinds) if k == "image"]
                      for row_steps, row_kinds in zip(steps, kinds)]
            adv = own_image_credit(adv, images, self.num_generations)
        out["advantages"] = adv.to(out["advantages"].device)
        return out
