"""The policy's features on hand-made answers, with a bag-of-words encoder whose cosines are known."""
import numpy as np
import pytest

from m2io.insert.policy.features import (CAND_FEATURES, SLOT_FEATURES, FeatureConfig, content_words, overlap,
                                         task_features)
from m2io.types import Candidate, Image


class BagOfWords:
    dim = 5
    vocab = ("menu", "ok", "layer", "brush", "export")

    def encode(self, texts):
        v = np.array([[t.lower().count(w) for w in self.vocab] for t in texts], np.float32) + 1e-6
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def cand(k, caption, above, below):
    return Candidate(k, Image(f"i{k}", None, caption), f"{above} {below}", above, below)


SEGMENTS = ["Open the menu.", "Pick a layer.", "Click OK."]


def test_above_matches_the_segment_before_the_slot_and_below_the_one_after():
    f = task_features("How?", SEGMENTS, [cand(1, "The layer list", "Open the menu.", "Pick a layer.")], BagOfWords())
    assert f.slot.shape == (1, 4, SLOT_FEATURES) and f.cand.shape == (1, CAND_FEATURES)
    above_vs_before, below_vs_after = f.slot[0, :, 0], f.slot[0, :, 1]
    # slot 1 sits after "Open the menu." (above's text) and before "Pick a layer." (below's text)
    assert above_vs_before[1] == pytest.approx(1.0, abs=1e-4) and below_vs_after[1] == pytest.approx(1.0, abs=1e-4)
    assert above_vs_before[0] == 0.0 and below_vs_after[3] == 0.0     # no segment before slot 0, none after slot 3
    assert f.slot[0, :, 6][1] == pytest.approx(1.0)                   # word overlap of the text above, segment 1
    # relative to its best slot: 0 at the best, negative elsewhere
    assert f.slot[0, 1, 15] == pytest.approx(0.0) and f.slot[0, 2, 15] < -0.5


def test_relative_to_other_candidates_at_the_same_slot():
    cands = [cand(1, "x", "Open the menu.", "Pick a layer."), cand(2, "y", "Click OK.", "")]
    f = task_features("How?", SEGMENTS, cands, BagOfWords())
    # at slot 1, candidate 1's above-match is 1.0 and candidate 2's is ~0: the margins are +1 and -1
    assert f.slot[0, 1, 21] == pytest.approx(1.0, abs=1e-3) and f.slot[1, 1, 21] == pytest.approx(-1.0, abs=1e-3)


def test_empty_captions_contexts_no_segments_and_no_candidates():
    f = task_features("How?", [], [cand(1, "", "", "")], BagOfWords())
    assert f.slot.shape == (1, 1, SLOT_FEATURES) and np.isfinite(f.slot).all() and np.isfinite(f.cand).all()
    assert (f.emb == 0).all()  # empty texts are no evidence: zero vectors
    none = task_features("How?", SEGMENTS, [], BagOfWords())
    assert none.slot.shape == (0, 4, SLOT_FEATURES) and none.cand.shape == (0, CAND_FEATURES)


def test_rule_choice_feature_follows_the_threshold():
    c = [cand(1, "menu", "Open the menu.", "")]
    on = task_features("How?", SEGMENTS, c, BagOfWords(), FeatureConfig(rule_threshold=0.5)).slot[0, :, 14]
    off = task_features("How?", SEGMENTS, c, BagOfWords(), FeatureConfig(rule_threshold=1.1)).slot[0, :, 14]
    assert on.tolist() == [0, 1, 0, 0] and off.sum() == 0


def test_word_overlap():
    assert content_words("Click the Layers dialog") == {"layers", "dialog"}
    assert overlap({"layers", "dialog"}, {"layers", "panel"}) == 0.5 and overlap({"a"}, set()) == 0.0


def test_origins_count_only_beside_the_answers_provenance():
    from m2io.insert.policy.structure_features import STRUCT_CAND, STRUCT_SLOT, structure_features
    from m2io.types import Origin

    c = [Candidate(1, Image("a", None), origin=Origin("m/a", position=1))]
    sourced = structure_features(c, [Origin("m/a", position=0), Origin("m/a", position=1)], 2)
    assert sourced[0][0, :, 0].tolist() == [0.0, 1.0, 0.0] and sourced[1][0].tolist() == [1.0, 1.0, 1.0, 1.0, 0.0, 1.0]
    # the same candidate, nothing known of the answer: as if its origin were unknown too
    slot, cands = structure_features(c, None, 2)
    assert slot.shape == (1, 3, STRUCT_SLOT) and cands.shape == (1, STRUCT_CAND)
    assert slot[0, :, 1].tolist() == [1.0, 1.0, 1.0] and slot[..., [0, 2, 3, 4, 5, 6]].sum() == 0 and cands.sum() == 0
