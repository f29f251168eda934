"""How m2io counts words: whitespace-separated words, and each wide (CJK) character a word of its own.

Every word budget (the answerer's section cut, the chunker's token estimate, the unified prompt's passage)
counts with :func:`word_count`. Counted by spaces alone, a Japanese paragraph is one "word": a 600-word
budget never cut a Japanese section, and a window of 110 "words" was a 6,000-token prompt (Tux Paint's
Japanese pages).

>>> word_count("Open the menu."), word_count("描画します。 Tux Paint")
(3, 8)
>>> first_words("One two three four", 2), first_words("あいうえお かきく", 3), first_words("あい うえ", 3)
('One two', 'あいう', 'あい う')
"""
from __future__ import annotations

import unicodedata


def is_wide(ch: str) -> bool:
    """A wide or full-width character (CJK ideographs, kana, full-width forms): a word of its own."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def word_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each word of ``text``: a run of characters that are neither whitespace nor wide, or one
    wide character.

    >>> word_spans("Tux 描画")
    [(0, 3), (4, 5), (5, 6)]
    """
    spans: list[tuple[int, int]] = []
    start = None
    for i, ch in enumerate(text):
        wide = is_wide(ch)
        if start is not None and (wide or ch.isspace()):
            spans.append((start, i))
            start = None
        if wide:
            spans.append((i, i + 1))
        elif start is None and not ch.isspace():
            start = i
    if start is not None:
        spans.append((start, len(text)))
    return spans


def word_count(text: str) -> int:
    """The words of ``text``: whitespace-separated words, each wide character counted as one."""
    if not any(is_wide(ch) for ch in text):
        return len(text.split())
    return len(word_spans(text))


def first_words(text: str, words: int) -> str:
    """The first ``words`` words of ``text`` (:func:`word_count`'s), whitespace collapsed (as
    ``" ".join(text.split()[:words])`` when it has no wide character)."""
    if not any(is_wide(ch) for ch in text):
        return " ".join(text.split()[:words])
    spans = word_spans(text)[:max(words, 0)]
    return " ".join(text[:spans[-1][1]].split()) if spans else ""
