"""Score generated trajectories for GRPO: the hybrid terms and every step's reward, once per completion.

TRL calls one reward function per term; all three read the same parse, decoded images and encoder
vectors, so :class:`TrajectoryScorer` computes everything for a completion once and keeps it (keyed
by prompt and ids) for the other terms and for the process-level advantages. References (question,
section text, figures) are :class:`Reference` rows named by ``item`` in the training rows.

    scorer = TrajectoryScorer(unified_model, Retriever.open("index/gimp").models, references)  # doctest: +SKIP
    scorer.score(completion_ids, "gimp/12").terms   # {'text': ..., 'visual': ..., 'structure': ...}
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from m2io.metrics.interleaved import best_match, context_alignment, neighbour_text
from m2io.unified.rewards import (TERMS, image_step_reward, reference_reward, rouge_reward, structure_reward,
                                  text_reward, text_step_reward, visual_reward)


@dataclass(frozen=True)
class Reference:
    question: str
    text: str
    """The section's text (figure marks removed)."""
    figures: tuple[str, ...] = ()
    """Paths of the section's figures."""
    gold_slots: tuple[tuple[int, int], ...] = ()
    """Grounded prompts: (candidate number, slot) of each gold figure among the candidates, slots counted in
    the target's text steps."""
    n_segments: int = 0
    """Grounded prompts: text steps of the target."""


@dataclass
class Scored:
    terms: dict[str, float]
    steps: list[tuple[int, int, float]] = field(default_factory=list)
    """(start, end, reward) of each step, in completion token positions."""
    kinds: list[str] = field(default_factory=list)
    """``"text"``, ``"image"`` or ``"reference"``, one per entry of ``steps``."""
    well_formed: bool = False
    images: int = 0


class TrajectoryScorer:
    def __init__(self, model, models, references: dict[str, Reference], cache_size: int = 4096):
        """``model``: the :class:`~m2io.unified.model.UnifiedModel` (parse, decode); ``models``: the index's
        encoders (:class:`~m2io.index.models.IndexModels`)."""
        self.model, self.models, self.references = model, models, references
        self._score = lru_cache(maxsize=cache_size)(self._score_uncached)
        self._reference = lru_cache(maxsize=cache_size)(self._reference_uncached)

    def score(self, ids: list[int], item: str) -> Scored:
        return self._score(tuple(int(t) for t in ids), item)

    def _reference_uncached(self, item: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from m2io.evaluate.interleaved import square_pictures

        ref = self.references[item]
        q_vec, ref_vec = self.models.text.encode([ref.question, ref.text or " "])
        _, pictures = square_pictures(ref.figures, self.model.image_size)
        visual = self.models.image.encode(pictures).visual if pictures else np.zeros((0, 1))
        return q_vec, ref_vec, visual

    def _score_uncached(self, ids: tuple[int, ...], item: str) -> Scored:
        q_vec, ref_vec, ref_visual = self._reference(item)
        traj = self.model.parse(list(ids))
        steps = traj.steps
        texts = [k for k, s in enumerate(steps) if s.kind == "text"]
        images = [k for k, s in enumerate(steps) if s.kind == "image"]
        contexts = [neighbour_text(steps, k) for k in images]
        vectors = self.models.text.encode([steps[k].text for k in texts] + [c or " " for c in contexts]) \
            if texts or images else np.zeros((0, 1))
        text_vecs, ctx_vecs = vectors[:len(texts)], vectors[len(texts):]
        alignments, fidelities = [], []
        if images:
            feats = self.models.image.encode([self.model.decode_image(steps[k].codes) for k in images])
            in_text = self.models.image_text_vectors(feats)
            for j in range(len(images)):
                alignments.append(context_alignment(in_text[j], ctx_vecs[j] if contexts[j] else None))
                fidelities.append(best_match(feats.visual[j], ref_visual)[1])
        from m2io.train.rewards import step_reward

        ref = self.references[item]
        gold = dict(ref.gold_slots)
        refs = [k for k, s in enumerate(steps) if s.kind == "reference"]
        # slots as the answer shows them (as_interleaved): after the text steps before it, never above the first
        placed = [(steps[k].ref, max(sum(1 for j in texts if j < k), 1 if texts else 0)) for k in refs]
        reward_of = {k: text_step_reward(v, q_vec, ref_vec) for k, v in zip(texts, text_vecs)}
        reward_of |= {k: image_step_reward(a, f) for k, a, f in zip(images, alignments, fidelities)}
        seen: set[int] = set()
        for k, (r, slot) in zip(refs, placed):  # a figure shown again adds nothing (the answer shows it once)
            reward_of[k] = 0.0 if r in seen else step_reward(r, slot, gold, max(ref.n_segments, 1))
            seen.add(r)
        n_reference = len(gold) if ref.gold_slots or ref.n_segments else len(ref.figures)
        terms = {"text": text_reward(text_vecs, q_vec, ref_vec), "visual": visual_reward(alignments, fidelities),
                 "structure": structure_reward(traj.well_formed, len(texts), len(images) + len(refs), n_reference),
                 "reference": reference_reward(placed, gold, ref.n_segments),
                 "rouge": rouge_reward([steps[k].text for k in texts], ref.text)}
        spanned = [k for k, s in enumerate(steps) if s.span is not None]
        spans = [(*steps[k].span, round(reward_of[k], 4)) for k in spanned]
        return Scored(terms, spans, [steps[k].kind for k in spanned], traj.well_formed, len(images))


def reward_functions(scorer: TrajectoryScorer) -> list:
    """One TRL reward function per hybrid term (:data:`~m2io.unified.rewards.TERMS`), reading the ``item`` column."""
    def make(term: str):
        def reward(completion_ids, item, **_):
            return [scorer.score(ids, it).terms[term] for ids, it in zip(completion_ids, item)]

        reward.__name__ = term
        return reward

    return [make(t) for t in TERMS]
