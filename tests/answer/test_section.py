"""The section answerers on a real index: the best section verbatim, a passage of a long one, help for a stub."""
from __future__ import annotations


import pytest

from m2io.answer.section import ComposeConfig, FocusedAnswerer, SectionAnswerer, window
from m2io.encoders.text import TextEncoder
from m2io.sections.rank import SectionRanker


@pytest.fixture(scope="module")
def retriever(tiny_retriever):
    return tiny_retriever


@pytest.fixture(scope="module")
def encoder():
    return TextEncoder()


def test_section_answer_is_the_best_section_verbatim_with_provenance(retriever, encoder):
    question = "How do I export my image as a PNG file?"
    answer = SectionAnswerer(SectionRanker(retriever.sections), encoder).answer(
        question, retriever.search(question, k=10))
    assert answer.sections == ["tiny/export"]
    assert answer.segments == ["Export writes the image as PNG or JPEG files for other programs.",
                               "The export dialog asks for a file name."]
    assert [(o.section, o.position, o.score) for o in answer.provenance] == [("tiny/export", 0, 1.0),
                                                                              ("tiny/export", 1, 1.0)]
    assert answer.text == "\n".join(answer.segments) and answer.ranking[0].key == "tiny/export"
    assert answer.model_calls == 0


def test_focused_cuts_a_long_section_to_its_most_relevant_paragraphs():
    relevance = [0.1, 0.2, 0.9, 0.8, 0.1, 0.1]
    words = [10, 10, 10, 10, 10, 10]
    lines = [0, 0, 1, 1, 2, 3]
    assert window(relevance, words, lines, max_words=20) == (2, 4)
    assert window(relevance, words, lines, max_words=35) == (2, 5)   # whole paragraphs only: 30 words
    assert window(relevance, words, lines, max_words=5) == (2, 4)    # at least one paragraph, even over budget


def test_focused_keeps_a_short_section_whole_and_may_add_the_next(retriever, encoder):
    question = "How do I export my image as a PNG file?"
    results = retriever.search(question, k=10)
    ranker = SectionRanker(retriever.sections)
    whole = FocusedAnswerer(ranker, encoder, ComposeConfig(short_words=5)).answer(question, results)
    assert whole.sections == ["tiny/export"] and len(whole.segments) == 2
    helped = FocusedAnswerer(ranker, encoder, ComposeConfig(short_words=100, second_margin=10.0)).answer(
        question, results)
    assert len(helped.sections) == 2 and helped.sections[0] == "tiny/export"
    assert helped.provenance[-1].section == helped.sections[1]
    cut = FocusedAnswerer(ranker, encoder, ComposeConfig(max_words=5)).answer(question, results)
    assert cut.sections == ["tiny/export"] and len(cut.segments) == 1  # one paragraph of the two


def test_no_results_give_an_empty_answer(retriever, encoder):
    answer = FocusedAnswerer(SectionRanker(retriever.sections), encoder).answer("anything", [])
    assert answer.text == "" and answer.segments == [] and answer.provenance == []


def test_compose_answers_from_a_reordered_ranking(retriever, encoder):
    """``answer`` is ``compose`` of the ranker's order; moving the second section first answers from it."""
    question = "How do I export my image as a PNG file?"
    results = retriever.search(question, k=10)
    answerer = FocusedAnswerer(SectionRanker(retriever.sections), encoder, ComposeConfig(short_words=5))
    default = answerer.answer(question, results)
    ranking = default.ranking
    assert answerer.compose(question, ranking).text == default.text
    moved = answerer.compose(question, [ranking[1], ranking[0], *ranking[2:]])
    assert moved.sections == [ranking[1].key] and moved.text != default.text
