from __future__ import annotations

from dataclasses import dataclass

import pytest

from m2io.answer.extractive import ExtractiveAnswerer, ExtractiveConfig
from m2io.encoders.text import TextEncoder


@dataclass
class R:
    chunk_id: str
    text: str


RESULTS = [
    R("a::0", "Cropping > Crop tool\nThe crop tool cuts away the borders of a photo. <PIC>\n"
              "Drag a rectangle over the part you want to keep. Press Enter to crop."),
    R("b::0", "Layers\nLayers stack images on top of each other. Bananas are yellow fruit sold in shops."),
    R("a::1", "The crop tool also straightens a tilted photo when you enable its straighten option."),
]


@pytest.fixture(scope="module")
def answerer():
    return ExtractiveAnswerer(TextEncoder(), ExtractiveConfig(max_words=30))


def test_picks_relevant_sentences_in_reading_order(answerer):
    a = answerer.answer("How do I crop a photo with the crop tool?", RESULTS)
    assert a.text.startswith("The crop tool cuts away the borders of a photo.")
    assert "Bananas" not in a.text and "Cropping > Crop tool" not in a.text and "<PIC>" not in a.text
    assert a.sources[0] == "a::0" and a.model_calls == 0
    assert 20 <= len(a.text.split()) <= 30 + 20  # stops once past the budget


def test_no_sentences_gives_an_empty_answer(answerer):
    assert answerer.answer("anything", []).text == ""
    assert answerer.answer("anything", [R("x::0", "Short. <PIC>")]).text == ""
