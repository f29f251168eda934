from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_png
from m2io.corpus.check import check_folder
from m2io.corpus.manual.build import ManualConfig, build_manual_dataset
from m2io.corpus.mramg import write_dataset
from m2io.errors import DatasetError

PAGE = """<html lang="{lang}"><head><link rel="home" title="Paint Manual"/></head><body>
<div class="navheader"><img src="../img/prev.png" alt="Prev"/></div>
<h2 id="brush">Brushes</h2><p>A brush paints pixels with a shape chosen in the Brushes dialog of the program.</p>
<div class="figure"><p class="title">Figure 1. The brush dialog</p><img src="../img/brush.png"/></div>
<p>Pick a size, then paint on the canvas with the brush.</p><img src="../img/stroke.png" alt="A stroke"/>
<p><img src="../img/note.png" alt="[Note]"/></p><p>Small brushes paint details.</p>
<p><img src="../img/brush.png"/></p>
<h3 id="opts">Options</h3><p>Options change how the brush paints on the canvas, like opacity and spacing.</p>
<p><img src="../img/tiny.png"/></p>
<h3 id="short">Short</h3><p>Too short.</p><p><img src="../img/stroke.png"/></p>
</body></html>"""


@pytest.fixture
def manual(tmp_path: Path) -> Path:
    root = tmp_path / "manual"
    make_png(root / "img" / "brush.png", (300, 200))
    make_png(root / "img" / "stroke.png", (200, 100), "blue")
    make_png(root / "img" / "note.png", (48, 48))
    make_png(root / "img" / "prev.png", (24, 24))
    make_png(root / "img" / "tiny.png", (16, 16))
    (root / "en").mkdir()
    (root / "en" / "paint.html").write_text(PAGE.format(lang="en"))
    (root / "de").mkdir()
    (root / "de" / "paint.html").write_text(PAGE.format(lang="de"))
    (root / "en" / "other.html").write_text(PAGE.format(lang="fr").replace('id="brush"', 'id="b2"'))
    return root


def test_builds_documents_with_marks_where_authors_put_figures(manual: Path):
    ds, report = build_manual_dataset(manual, ManualConfig(name="paint"))
    assert [d.id for d in ds.documents] == ["paint#brush"]  # 'Options' keeps only a tiny image; 'Short' is too short
    (doc,) = ds.documents
    assert doc.content.split("\n") == [
        "Brushes", "A brush paints pixels with a shape chosen in the Brushes dialog of the program.", "<PIC>",
        "Pick a size, then paint on the canvas with the brush.", "<PIC>", "Small brushes paint details.", "<PIC>"]
    assert doc.image_ids == ["brush.png", "stroke.png", "brush.png"]
    assert ds.images["brush.png"].caption == "The brush dialog"  # the figure title beats a later bare use
    assert ds.images["stroke.png"].caption == "A stroke"
    (qa,) = ds.qa
    assert qa.question == "Can you explain Brushes in Paint Manual?"
    assert qa.image_ids == ["brush.png", "stroke.png"]  # shown twice, placed once
    assert qa.ground_truth.count("<PIC>") == 2 and qa.ground_truth.startswith("A brush paints")
    assert report.pages == 1 and report.pages_other_language == 2
    assert report.figures_dropped == {"admonition_icon": 1, "tiny": 1}
    assert report.sections_too_short == 1


def test_built_dataset_passes_check(manual: Path, tmp_path: Path):
    ds, _ = build_manual_dataset(manual, ManualConfig(name="paint"))
    write_dataset(ds, tmp_path / "out")
    report = check_folder(tmp_path / "out")
    assert report.ok and report.stats[0].documents == 1 and report.stats[0].multi_image_qa == 1


def test_other_language(manual: Path):
    ds, report = build_manual_dataset(manual, ManualConfig(name="paint", lang="de"))
    assert [d.id for d in ds.documents] == ["paint#brush"] and report.pages == 1


def test_nothing_to_build_is_a_clear_error(tmp_path: Path):
    (tmp_path / "m").mkdir()
    with pytest.raises(DatasetError, match="no HTML pages"):
        build_manual_dataset(tmp_path / "m", ManualConfig(name="x"))
    (tmp_path / "m" / "a.html").write_text("<h1>Title</h1><p>No figures at all in this page.</p>")
    with pytest.raises(DatasetError, match="nothing to build"):
        build_manual_dataset(tmp_path / "m", ManualConfig(name="x"))


def test_missing_image_file_is_counted_not_fatal(tmp_path: Path):
    root = tmp_path / "m"
    make_png(root / "a.png", (100, 100))
    (root / "p.html").write_text("<h1>T</h1><p>Enough words here to make a real section of text.</p>"
                                 "<p><img src='a.png' alt='A'></p><p><img src='gone.png' alt='B'></p>")
    ds, report = build_manual_dataset(root, ManualConfig(name="x", min_words=3))
    assert ds.documents[0].image_ids == ["a.png"] and report.figures_dropped == {"missing_file": 1}


def test_question_templates():
    from m2io.corpus.manual.build import _question

    assert _question("How does Channel Mixer work?", "Channel Mixer", False, "GIMP", "k") == "How does Channel Mixer work?"
    assert _question("Installing Postfix", "Mail", False, "The Handbook", "k") == \
        "How does The Handbook describe installing Postfix?"
    # An ambiguous title ('Options' in many sections) names its parent section.
    assert "Options (Align)" in _question("Options", "Align", True, "GIMP", "k")
    assert "(Align)" not in _question("Options", "Align", False, "GIMP", "k")
