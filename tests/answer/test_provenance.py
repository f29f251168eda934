"""Provenance by alignment: verbatim segments exactly, paraphrases by the real MiniLM's cosine."""
from __future__ import annotations

from m2io.answer.provenance import align, sections_used
from m2io.encoders.text import TextEncoder
from m2io.sections.read import Section


def _sections():
    return [Section("m/export", "", ["Export writes the image as PNG or JPEG files.", "The dialog asks for a name."],
                    ["m/export::0"] * 2, [0, 1]),
            Section("m/crop", "", ["The crop tool cuts away the borders of a photo."], ["m/crop::0"], [0])]


def test_verbatim_segments_align_exactly_without_an_encoder():
    got = align(["the dialog  asks for a name.", "Nothing like it."], _sections())
    assert (got[0].section, got[0].position, got[0].score) == ("m/export", 1, 1.0) and got[1] is None


def test_paraphrases_align_to_their_sentence_with_a_score_and_strangers_to_none():
    got = align(["You can save the picture as a PNG or JPEG file.", "Trim the edges of your photo with crop.",
                 "Bananas are yellow fruit."], _sections(), TextEncoder())
    assert (got[0].section, got[0].position) == ("m/export", 0) and 0.55 <= got[0].score < 1.0
    assert got[1].section == "m/crop"
    assert got[2] is None
    assert sections_used(got) == ["m/export", "m/crop"]
