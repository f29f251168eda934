from pathlib import Path

import pytest

from m2io.insert.plan import PlanError, format_plan, gold_from_marks, parse_plan, segment_answer, to_placements
from m2io.types import Candidate, Image, Placement


def test_segments_are_sentences_line_by_line():
    assert segment_answer("Open it. Then click OK!\n<PIC>\nA list item\nDone? Yes.") == [
        "Open it.", "Then click OK!", "A list item", "Done?", "Yes."]
    assert segment_answer("") == [] and segment_answer("<PIC>") == []


def test_gold_slots_from_marks():
    gold = gold_from_marks("<PIC>\nIntro line\nFirst. Second. <PIC>\nThird.\n<PIC>", ["a", "b", "c"])
    assert gold.segments == ["Intro line", "First.", "Second.", "Third."]
    assert gold.slots == {"a": 0, "b": 3, "c": 4} and gold.order == ["a", "b", "c"]


def test_mark_inside_a_sentence_goes_before_it():
    gold = gold_from_marks("One. Click <PIC> then OK. Two.", ["x"])
    assert gold.segments == ["One.", "Click then OK.", "Two."] and gold.slots == {"x": 1}


def test_image_marked_twice_keeps_its_first_place_and_mismatch_is_an_error():
    assert gold_from_marks("A. <PIC> B. <PIC>", ["x", "x"]).slots == {"x": 1}
    with pytest.raises(ValueError, match="2 <PIC> marks but 1 image ids"):
        gold_from_marks("A <PIC> <PIC>", ["x"])


def test_parse_plan_accepts_separators_and_empty():
    assert parse_plan(" <img1>@0, <img3> @ 2; <img2>@2 ", n_candidates=3, n_segments=2) == [(1, 0), (3, 2), (2, 2)]
    assert parse_plan("", 3, 2) == [] and parse_plan("  ", 3, 2) == []


@pytest.mark.parametrize("text,message", [
    ("<img4>@1", r"<img4> is not a candidate \(there are 3\)"),
    ("<img0>@1", "not a candidate"),
    ("<img1>@3", r"slot 3 of <img1> is outside 0..2"),
    ("<img1>@1 <img1>@2", "placed twice"),
    ("<img1>@1 and then <img2>@2", "unexpected text at 9"),
    ("img1@1", "unexpected text at 0"),
    ("<img1>", "unexpected text"),
])
def test_parse_plan_is_strict(text, message):
    with pytest.raises(PlanError, match=message):
        parse_plan(text, n_candidates=3, n_segments=2)


def test_format_round_trip_and_placements_in_answer_order():
    items = [(3, 2), (1, 0), (2, 2)]
    assert parse_plan(format_plan(items), 3, 2) == items
    candidates = [Candidate(k, Image(f"id{k}", Path(f"/{k}.png"), f"c{k}")) for k in (1, 2, 3)]
    assert to_placements(items, candidates) == [Placement("id1", 0), Placement("id3", 2), Placement("id2", 2)]
