"""Hybrid rewards of one unified trajectory (text steps and images), and the reward of each step.

Plain functions over the vectors the interleaved benchmark computes (:mod:`m2io.metrics.interleaved`),
so the reward is the benchmark's metric at training time:

- ``text``: relevance of the text steps, the mean of their cosine to the question and to the reference
  section (MiniLM vectors; the benchmark's question cosine, and a cheap stand-in for its BERTScore
  on the same MiniLM);
- ``visual``: for each image, half its alignment with the text steps around it (image encoder and
  adapter into text space) and half its fidelity (visual cosine to the nearest reference figure);
  the mean over images, 0 without images;
- ``structure``: half for a well-formed trajectory that has a text step (an answer of images alone is
  well formed by the benchmark's count, but it answers nothing: a first GRPO run without this
  condition learned to drop its text), half for the image count (drawn and referenced) against the
  reference's;
- ``rouge``: ROUGE-L of the answer's text (its text steps, joined) against the reference text, the
  benchmark's own text metric (:func:`m2io.metrics.rouge_l`, rouge-score). The cosine of ``text`` cannot see
  a grounded answer's copy errors (a dropped sentence, a swapped word leave its cosine where it was) and
  ROUGE-L against the target window's text counts each one; weight 0 by default, 1 in the shipped
  model's recipe (``make unified-grpo``, bench/RESULTS.md);
- ``reference``: the referenced candidates as Inserter-R1's plan is scored (:func:`m2io.train.rewards.plan_rewards`:
  image F1, ordering and soft position against the gold figures' slots, weighted 1 : 0.5 : 1 and
  scaled to [0, 1]); an answer that references nothing where nothing is gold scores 1.

Each text step, drawn image and reference is also a step with its own reward (:func:`text_step_reward`,
:func:`image_step_reward`, and Inserter-R1's :func:`m2io.train.rewards.step_reward` for a reference)
for the process-level advantages (:mod:`m2io.unified.process`).

>>> import numpy as np
>>> q, ref = np.array([1.0, 0.0]), np.array([0.0, 1.0])
>>> text_reward([np.array([1.0, 1.0])], q, ref)
0.7071
>>> structure_reward(True, 1, 1, 2), structure_reward(True, 0, 1, 1), structure_reward(False, 2, 0, 0)
(0.75, 0.5, 0.5)
>>> rouge_reward(["Click Save.", "Pick a folder."], "Click Save. Pick a folder."), rouge_reward([], "Click Save.")
(1.0, 0.0)
>>> visual_reward([], [])
0.0
>>> reference_reward([(1, 1)], {1: 1}, 2), reference_reward([(2, 1)], {1: 1}, 2), reference_reward([], {}, 2)
(1.0, 0.0, 1.0)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from m2io.metrics.interleaved import cosine, image_count_score

TERMS = ("text", "visual", "structure", "reference", "rouge")


@dataclass(frozen=True)
class HybridWeights:
    text: float = 1.0
    visual: float = 1.0
    structure: float = 1.0
    reference: float = 1.0
    process: float = 0.0
    """Weight of the process-level (per step) advantages; 0 is outcome GRPO."""
    rouge: float = 0.0
    """Weight of the ``rouge`` term (ROUGE-L of the text against the reference's)."""

    def outcome(self) -> list[float]:
        """The outcome terms' weights in :data:`TERMS` order (TRL's ``reward_weights``)."""
        return [getattr(self, t) for t in TERMS]


def text_step_reward(step_vec, question_vec, reference_vec) -> float:
    """One text step: the mean of its cosine to the question and to the reference section."""
    return 0.5 * cosine(step_vec, question_vec) + 0.5 * cosine(step_vec, reference_vec)


def image_step_reward(alignment: float | None, fidelity: float | None) -> float:
    """One image: half its alignment with the text around it, half its fidelity (a missing part counts 0)."""
    return 0.5 * (alignment or 0.0) + 0.5 * (fidelity or 0.0)


def text_reward(step_vecs, question_vec, reference_vec) -> float:
    """The text steps' relevance, their mean :func:`text_step_reward`; 0 without text."""
    if not len(step_vecs):
        return 0.0
    return round(float(np.mean([text_step_reward(v, question_vec, reference_vec) for v in step_vecs])), 4)


def rouge_reward(texts: list[str], reference: str) -> float:
    """ROUGE-L of the text steps, joined, against ``reference``; 0 without text or reference."""
    from m2io.metrics import rouge_l

    text = " ".join(t for t in texts if t.strip())
    if not text or not reference.strip():
        return 0.0
    return round(rouge_l(reference, text), 4)


def visual_reward(alignments: list[float | None], fidelities: list[float | None]) -> float:
    """The images' mean :func:`image_step_reward`; 0 without images."""
    if not fidelities:
        return 0.0
    return round(float(np.mean([image_step_reward(a, f) for a, f in zip(alignments, fidelities)])), 4)


def structure_reward(well_formed: bool, n_texts: int, n_images: int, n_reference: int) -> float:
    """Half for well-formed steps and image spans with some text, half for an image count close to the reference's."""
    return 0.5 * float(well_formed and n_texts > 0) + 0.5 * image_count_score(n_images, n_reference)


def reference_reward(items: list[tuple[int, int]], gold_slots: dict[int, int], n_segments: int) -> float:
    """Referenced candidates ``(k, slot)`` against the gold ``{k: slot}``: (F1 + 0.5 ordering + soft position) / 2.5."""
    from m2io.train.rewards import plan_rewards

    if not items and not gold_slots:
        return 1.0
    seen, kept = set(), []
    for k, slot in items:
        if k not in seen:
            seen.add(k)
            kept.append((k, slot))
    r = plan_rewards(kept, gold_slots, max(n_segments, 1))
    return round((r["selection"] + 0.5 * r["order"] + r["position"]) / 2.5, 4)
