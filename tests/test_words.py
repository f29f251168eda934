"""Word counting as every budget does it: English by spaces, each CJK character a word."""
from __future__ import annotations

import pytest

from m2io.words import first_words, word_count, word_spans


@pytest.mark.parametrize("text, words", [
    ("Open the  menu.", 3),
    ("", 0),
    ("描画します。", 6),                     # kana, kanji and the full stop: one word each
    ("Tux Paint で描画", 5),
    ("ＡＢＣ abc", 4),                       # full-width letters are wide too
])
def test_word_count(text, words):
    assert word_count(text) == words == len(word_spans(text))


@pytest.mark.parametrize("text", ["One two three four five", "あいうえお かきくけこ", "Tux Paint で描画します。 Open it."])
def test_first_words_takes_a_prefix_of_that_many_words(text):
    total = word_count(text)
    for n in range(total + 2):
        cut = first_words(text, n)
        assert word_count(cut) == min(n, total)
        assert text.replace(" ", "").startswith(cut.replace(" ", ""))
