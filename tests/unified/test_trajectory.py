"""Trajectories to ids and back; damaged generations are read as far as they go."""
from m2io.unified.trajectory import Step, parse_ids, trajectory_ids
from m2io.unified.vocab import UnifiedVocab

V = UnifiedVocab(think=0, end_think=1, vis=2, end_vis=3, image_ids=[10, 11, 12], tokens_per_image=3, end_ids=[9])


def enc(text):
    return [100 + ord(c) for c in text]


def dec(ids):
    return "".join(chr(i - 100) for i in ids)


def test_round_trip():
    steps = [Step("text", text="open"), Step("image", codes=[0, 2, 1]), Step("text", text="ok")]
    ids = trajectory_ids(steps, V, enc) + [9]
    back = parse_ids(ids, V, dec)
    assert back.well_formed and [(s.kind, s.text, s.codes) for s in back.steps] == \
        [(s.kind, s.text, s.codes) for s in steps]


def test_cut_inside_an_image_span_keeps_the_text():
    ids = trajectory_ids([Step("text", text="first")], V, enc) + [2, 10, 11]
    t = parse_ids(ids, V, dec)
    assert not t.well_formed
    assert [s.text for s in t.texts] == ["first"] and t.images == []
    assert t.damage == ["image 1 cut after 2 of 3 image tokens", "no end token"]


def test_open_step_stray_text_and_short_span():
    t = parse_ids([0] + enc("a") + [2, 10, 3] + enc("zz") + [9], V, dec)
    assert "text step not closed" in t.damage
    assert any(d.startswith("image 1 malformed (1 image tokens") for d in t.damage)
    assert "2 tokens outside any step" in t.damage
    assert [s.text for s in t.texts] == ["a", "zz"]


def test_plain_text_is_not_well_formed():
    t = parse_ids(enc("hello") + [9], V, dec)
    assert not t.well_formed and t.texts[0].text == "hello"
