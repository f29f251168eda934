"""Sections read whole from a real index: the same segments and figure slots as the corpus's gold answers."""
from __future__ import annotations

from pathlib import Path

import pytest

from m2io.corpus.mramg import read_dataset
from m2io.insert.plan import gold_from_marks
from m2io.sections.reranker import passage_text


@pytest.fixture(scope="module")
def retriever(tiny_retriever):
    return tiny_retriever


def test_every_section_matches_its_gold_answer(retriever, tiny_index: Path):
    ds = read_dataset(tiny_index / "tiny", "tiny")
    sections = retriever.sections.read([f"tiny/{q.provenance[0]}" for q in ds.qa])
    for q in ds.qa:
        if q.provenance[0] == "crop":
            continue  # no heading in the sources for it: its first line stays (next test)
        s = sections[f"tiny/{q.provenance[0]}"]
        gold = gold_from_marks(q.ground_truth, q.image_ids)
        assert s.segments == gold.segments
        assert {f.image_id: f.slot for f in s.figures} == gold.slots
    export = sections["tiny/export"]
    assert export.heading == "Basics > Exporting"  # named by the sources sidecar, and left out of the text
    assert export.text() == ("Export writes the image as PNG or JPEG files for other programs.\n"
                             "The export dialog asks for a file name.")
    assert [f.row.side.shape for f in export.figures] == [(5, 384), (5, 384)]  # side vectors from the index
    assert export.origin(1).section == "tiny/export" and export.origin(1).position == 1


def test_a_section_without_a_heading_keeps_its_first_line(retriever):
    crop = retriever.sections.read(["tiny/crop"])["tiny/crop"]  # no sidecar line: the first line is text
    assert crop.heading == "" and crop.segments[0] == "Cropping"


def test_reader_keeps_recent_sections_and_skips_unknown_keys(retriever):
    reader = retriever.sections
    got = reader.read(["tiny/layers", "tiny/nope"])
    assert list(got) == ["tiny/layers"]
    assert reader.read(["tiny/layers"])["tiny/layers"] is got["tiny/layers"]  # from memory


def test_passage_text_puts_captions_where_figures_stand(retriever):
    s = retriever.sections.read(["tiny/export"])["tiny/export"]
    text = passage_text(s, words=200)
    assert text.startswith("Basics > Exporting: Export writes")
    assert text.index("[image: The export dialog]") < text.index("The export dialog asks")


def test_reading_a_section_puts_the_indexs_vectors_of_its_sentences_in_the_encoders_cache(tiny_index: Path):
    """Ranking and placing then encode nothing of the section: the vectors are the encoder's own, made at index time."""
    import numpy as np

    from m2io.retrieve import Retriever

    r = Retriever.open(tiny_index / "index")
    s = r.sections.read(["tiny/export"])["tiny/export"]
    cache = r.models.text._cache
    assert all(t in cache for t in [*s.segments, s.title, s.opening()])
    fresh = r.models.text._embed([*s.segments, s.title, s.opening()])
    assert np.allclose(np.stack([cache[t] for t in [*s.segments, s.title, s.opening()]]), fresh, atol=1e-5)
    r.close()


def test_a_japanese_section_counts_and_opens_by_characters():
    """The focused answerer cuts a section over 600 words: by spaces a Japanese section is a handful of "words"
    and was never cut (and its opening, what the ranker reads, was the whole section)."""
    from m2io.sections.read import read_section
    from m2io.store.base import ChunkRow

    text = "このツールは画像のレイヤーを揃えます。" * 40  # 760 characters, no space
    s = read_section("m/ja", [ChunkRow("m/ja::0", "m/ja", "m", text, [])], [])
    assert s.words == 760 > 600
    assert len(s.segments) == 40 and s.opening(80).replace(" ", "") == text[:80]
