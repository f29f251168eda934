"""Structural slots and the source inserter: figures where they stood relative to the answer's sentences."""
from __future__ import annotations

import pytest

from m2io.insert.policy.structure_features import allowed_run, structure_features
from m2io.insert.source import SourceInserter
from m2io.insert.structure import adjacent, span_of, structural_slot
from m2io.types import Candidate, Image, Origin


def prov(*pairs):
    return [Origin(s, position=p) if s else None for s, p in pairs]


def test_structural_slot_follows_the_sentence_before_the_figure_in_any_order():
    answer = prov(("a", 2), ("a", 3), ("b", 0), ("a", 0))     # a passage of "a", then "b", then the start of "a"
    assert structural_slot(Origin("a", position=3), answer) == 1    # after "a" 2 (answer segment 1)
    assert structural_slot(Origin("a", position=9), answer) == 2    # after the nearest "a" sentence above it: "a" 3
    assert structural_slot(Origin("b", position=0), answer) == 2    # before "b" 0
    assert structural_slot(Origin("c", position=0), answer) is None
    assert span_of("a", answer) == (0, 4) and span_of("c", answer) is None
    assert adjacent(Origin("a", position=3), answer, 1) == (True, True)


def test_source_inserter_places_only_figures_inside_the_answers_part_of_their_section():
    answer = prov(("a", 2), ("a", 3), (None, 0))
    cands = [Candidate(1, Image("in", None), origin=Origin("a", position=3)),
             Candidate(2, Image("edge", None), origin=Origin("a", position=4)),
             Candidate(3, Image("out", None), origin=Origin("a", position=0)),
             Candidate(4, Image("other", None), origin=Origin("b", position=0)),
             Candidate(5, Image("unknown", None))]
    placed = SourceInserter().insert("q", ["x.", "y.", "z."], cands, answer).placements
    assert [(p.image_id, p.slot) for p in placed] == [("in", 1), ("edge", 2)]


def test_structure_features_and_the_run_limit():
    answer = prov(("a", 0), ("a", 1), ("b", 0))
    cands = [Candidate(1, Image("x", None), origin=Origin("a", position=1, run=2)),
             Candidate(2, Image("y", None), origin=Origin("c", position=0, run=4)), Candidate(3, Image("z", None))]
    slot, cand = structure_features(cands, answer, 3)
    assert slot.shape == (3, 4, 7) and cand.shape == (3, 6)
    assert slot[0, :, 0].tolist() == [0.0, 1.0, 0.0, 0.0]             # structural slot 1
    assert slot[0, 1, 2:4].tolist() == [1.0, 1.0]                      # "a" 0 just above, "a" 1 just below
    assert cand[0, :4].tolist() == pytest.approx([1.0, 2 / 3, 1.0, 1.0])             # in the answer, 2 of 3, first section, inside
    assert cand[1, 0] == 0.0 and cand[1, 5] == 1.0 and cand[2, 5] == 0.0  # not in the answer; no origin at all
    assert allowed_run(cands, answer) == 2                             # "c" is not in the answer: its run of 4 not
