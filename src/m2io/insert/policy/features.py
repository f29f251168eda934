"""What the Inserter-R1 placement policy sees: per candidate, per slot, and embeddings.

One answer (query, segments, candidates) becomes a few small arrays, made once from a frozen
sentence encoder (MiniLM by default; vectors cached per text by :class:`TextEncoder`):

- ``slot`` (candidates x slots x ``SLOT_FEATURES``): for candidate ``i`` placed at slot ``t``
  (after segment ``t``), how well the text *above* the image matches segment ``t`` (the one
  before the slot) and the text *below* it matches segment ``t + 1`` (the one after), the
  caption and the joined context against both, word overlap of the halves with those
  segments, the slot's relative position, and the ``rule`` inserter's choice. Each similarity
  also comes *relative*: minus the candidate's best over slots, and minus the best other
  candidate's at that slot, so that a decision rests on how a match compares inside this
  answer rather than on a corpus-specific absolute level (what did not transfer in a first
  measurement: DESIGN.md, "Inserter-R1 v2").
- ``cand`` (candidates x ``CAND_FEATURES``): the candidate's best matches over the answer,
  the same standardised over the answer's candidates, caption and context against the query,
  whether it has a caption and a context, and the answer's size.
- ``emb`` (candidates x 2 x dim): caption and context vectors, for what a caption says
  about the kind of figure.
- provenance (:mod:`m2io.insert.policy.structure_features`, the last columns of ``slot`` and
  ``cand``): where each figure stood relative to the answer's sentences, from the segments'
  and the candidates' origins; zeros where the answer has none.

The candidates' side vectors come from the index (``Candidate.side``), so at answer time only the
query and the answer's segments are encoded.

Retrieval rank is left out on purpose: in insertion tasks the gold images join the retrieved
distractors whether retrieval found them or not, so a rank would tell the policy which images
are gold in training and nothing true at inference.

>>> import numpy as np
>>> f = task_features("How?", ["Open the menu.", "Click OK."], [_cand("Menu", "Open the menu.", "Click OK.")],
...                   _Toy(), FeatureConfig())
>>> f.slot.shape, f.cand.shape, f.emb.shape
((1, 3, 37), (1, 22), (1, 2, 4))
>>> round(float(f.slot[0, 1, 0]), 3)        # above-text against segment 1, for slot 1
1.0
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from m2io.insert.policy.structure_features import STRUCT_CAND, STRUCT_SLOT, allowed_run, structure_features
from m2io.insert.side import HALF_WORDS, side_texts, side_vectors
from m2io.store.base import SIDE_TEXTS
from m2io.types import Candidate, Origin

BASE_SLOT, BASE_CAND = 30, 16
SLOT_FEATURES = BASE_SLOT + STRUCT_SLOT
CAND_FEATURES = BASE_CAND + STRUCT_CAND
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the and or of to in on at for with by from as is are be been it its this that these those you your "
    "can will may then than into out up over if not no so do does which what how when where who there their "
    "use used using click select choose".split())


@dataclass(frozen=True)
class FeatureConfig:
    rule_threshold: float = 0.6
    """The ``rule`` inserter's threshold: its choice is one of the features."""
    half_words: int = HALF_WORDS
    """Words of each context half compared with a segment (the ends nearest the image); the index's side vectors
    are made with the default."""


@dataclass
class TaskFeatures:
    slot: np.ndarray
    """(m, n + 1, SLOT_FEATURES) float32."""
    cand: np.ndarray
    """(m, CAND_FEATURES) float32."""
    emb: np.ndarray
    """(m, 2, dim) float32: caption and context vectors (zeros where empty)."""
    max_run: int = 1
    """The most figures a plan may put at one slot (the longest run its sources had)."""

    @property
    def n_candidates(self) -> int:
        return self.slot.shape[0]

    @property
    def n_slots(self) -> int:
        return self.slot.shape[1]


def content_words(text: str) -> set[str]:
    """Lower-cased words that carry meaning (a short stop list; numbers kept).

    >>> sorted(content_words("Click the Layers dialog, then OK"))
    ['dialog', 'layers', 'ok']
    """
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def overlap(half: set[str], segment: set[str]) -> float:
    """Share of a segment's content words found in a context half (0 when the segment has none)."""
    return len(half & segment) / len(segment) if segment else 0.0


def _rel_slot(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """x minus the candidate's best over valid slots (rows: candidates, columns: slots)."""
    best = np.where(valid, x, -np.inf).max(axis=1, keepdims=True)
    return np.where(valid, x - np.where(np.isfinite(best), best, 0), 0)


def _rel_cand(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """x minus the best *other* candidate's value at the same slot (0 with a single candidate)."""
    masked = np.where(valid, x, -np.inf)
    if x.shape[0] < 2:
        return np.zeros_like(x)
    order = np.sort(masked, axis=0)
    top, second = order[-1:], order[-2:-1]
    other = np.where(masked >= top, second, top)
    return np.where(valid & np.isfinite(other), x - other, 0)


def _standardise(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-3) if x.size > 1 else np.zeros_like(x)


def _candidate_texts(candidates: list[Candidate], config: FeatureConfig) -> tuple[list[str], ...]:
    """Captions, contexts, above-ends, below-ends and rule texts of the candidates (one list each)."""
    per = [side_texts(c.image.caption, c.context, c.above, c.below, config.half_words) for c in candidates]
    return tuple([p[k] for p in per] for k in range(SIDE_TEXTS))


def _side_block(candidates: list[Candidate], encoder, config: FeatureConfig) -> np.ndarray:
    """(SIDE_TEXTS, m, dim) side vectors: from the index where every candidate carries them, else encoded."""
    dim = encoder.dim
    if config.half_words == HALF_WORDS and all(c.side is not None and c.side.shape == (SIDE_TEXTS, dim)
                                               for c in candidates):
        return np.stack([c.side for c in candidates], axis=1).astype(np.float32) if candidates else np.zeros(
            (SIDE_TEXTS, 0, dim), np.float32)
    texts = [t for texts in _candidate_texts(candidates, config) for t in texts]
    return side_vectors(encoder, texts).reshape(SIDE_TEXTS, len(candidates), dim)


def feature_texts(query: str, segments: list[str], candidates: list[Candidate],
                  config: FeatureConfig = FeatureConfig()) -> list[str]:
    """Every text :func:`task_features` may embed (encode many tasks' at once, then featurise)."""
    return [query, *segments, *(t for texts in _candidate_texts(candidates, config) for t in texts)]


def task_features(query: str, segments: list[str], candidates: list[Candidate], encoder,
                  config: FeatureConfig = FeatureConfig(), provenance: list[Origin | None] | None = None
                  ) -> TaskFeatures:
    """The policy's input for one answer (any number of candidates and segments, both may be 0); ``provenance``:
    per segment, where it came from (:mod:`m2io.insert.policy.structure_features`)."""
    m, n = len(candidates), len(segments)
    captions, contexts, aboves, belows, _ = _candidate_texts(candidates, config)
    vecs = side_vectors(encoder, [query, *segments])
    q, seg = vecs[0], vecs[1:1 + n]
    cap, ctx, abv, blw, rul = _side_block(candidates, encoder, config)

    # (m, n) similarities with each segment, then padded to slots: "before" = segment t, "after" = t + 1.
    sims = {name: v @ seg.T for name, v in (("cap", cap), ("ctx", ctx), ("abv", abv), ("blw", blw), ("rule", rul))}
    seg_words = [content_words(s) for s in segments]
    ov_abv = np.array([[overlap(content_words(a), s) for s in seg_words] for a in aboves], np.float32).reshape(m, n)
    ov_blw = np.array([[overlap(content_words(b), s) for s in seg_words] for b in belows], np.float32).reshape(m, n)
    pad = np.zeros((m, 1), np.float32)
    before = lambda x: np.concatenate([pad, x], axis=1)   # noqa: E731  slot t: segment t (t >= 1)
    after = lambda x: np.concatenate([x, pad], axis=1)    # noqa: E731  slot t: segment t + 1 (t < n)
    has_before = np.broadcast_to(np.arange(n + 1) >= 1, (m, n + 1))
    has_after = np.broadcast_to(np.arange(n + 1) < n, (m, n + 1))

    rule_best = sims["rule"].argmax(axis=1) + 1 if n else np.zeros(m, int)
    rule_max = sims["rule"].max(axis=1) if n else np.zeros(m, np.float32)
    rule_slot = (np.arange(n + 1)[None, :] == rule_best[:, None]) & (rule_max[:, None] >= config.rule_threshold)
    rel_pos = np.broadcast_to(np.arange(n + 1) / max(n, 1), (m, n + 1))

    abv_b, blw_a = before(sims["abv"]), after(sims["blw"])
    cap_b, cap_a = before(sims["cap"]), after(sims["cap"])
    ctx_b, ctx_a = before(sims["ctx"]), after(sims["ctx"])
    ovab_b, ovbl_a = before(ov_abv), after(ov_blw)
    pair = abv_b * has_before + blw_a * has_after  # the image sits between the two halves' matches
    columns = [
        abv_b, blw_a, cap_b, cap_a, ctx_b, ctx_a, ovab_b, ovbl_a, pair,
        has_before, has_after, rel_pos, np.broadcast_to(np.arange(n + 1) == 0, (m, n + 1)),
        np.broadcast_to(np.arange(n + 1) == n, (m, n + 1)), rule_slot,
        _rel_slot(abv_b, has_before), _rel_slot(blw_a, has_after), _rel_slot(ctx_b, has_before),
        _rel_slot(ovab_b, has_before), _rel_slot(ovbl_a, has_after), _rel_slot(pair, np.ones_like(has_before)),
        _rel_cand(abv_b, has_before), _rel_cand(blw_a, has_after), _rel_cand(ctx_b, has_before),
        _rel_cand(ovab_b, has_before), _rel_cand(ovbl_a, has_after), _rel_cand(pair, np.ones_like(has_before)),
        _rel_cand(cap_b, has_before), _rel_slot(cap_b, has_before),
        np.broadcast_to(np.float32(np.log1p(n) / 4), (m, n + 1)),
    ]
    slot = np.stack([np.asarray(c, np.float32) for c in columns], axis=-1) if m else np.zeros(
        (0, n + 1, BASE_SLOT), np.float32)

    best = lambda x: x.max(axis=1) if n else np.zeros(m, np.float32)  # noqa: E731
    bests = [best(sims["abv"]), best(sims["blw"]), best(sims["ctx"]), best(sims["cap"]),
             best(ov_abv), best(ov_blw)]
    cand_cols = bests + [_standardise(b) for b in bests[:4]] + [
        cap @ q, ctx @ q, np.array([bool(c.strip()) for c in captions], np.float32),
        np.array([bool(c.strip()) for c in contexts], np.float32), rule_max >= config.rule_threshold,
        np.full(m, np.log1p(m) / 4, np.float32)]
    cand = np.stack([np.asarray(c, np.float32) for c in cand_cols], axis=-1) if m else np.zeros(
        (0, BASE_CAND), np.float32)
    struct_slot, struct_cand = structure_features(candidates, provenance, n)
    slot = np.concatenate([slot, struct_slot], axis=-1)
    cand = np.concatenate([cand, struct_cand], axis=-1)
    assert slot.shape[-1] == SLOT_FEATURES and cand.shape[-1] == CAND_FEATURES
    return TaskFeatures(slot, cand, np.stack([cap, ctx], axis=1).astype(np.float32),
                        allowed_run(candidates, provenance))


class _Toy:
    """A bag-of-words encoder for doctests (unit vectors over four words)."""

    dim = 4
    _vocab = ("menu", "ok", "open", "click")

    def encode(self, texts: list[str]) -> np.ndarray:
        v = np.array([[t.lower().count(w) for w in self._vocab] for t in texts], np.float32) + 1e-6
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def _cand(caption: str, above: str, below: str, k: int = 1) -> Candidate:
    from m2io.types import Image

    return Candidate(k, Image(f"i{k}", None, caption), f"{above} {below}", above, below)
