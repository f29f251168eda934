"""Manuals as they arrive, broken: each bad PDF, Markdown or reST input is a clear error naming the file,
and the dataset folder already written stays as it was."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fpdf import FPDF
from PIL import Image as PILImage

from m2io.cli import cli
from m2io.corpus.manual.build import ManualConfig, build_manual_dataset
from m2io.corpus.manual.pdf import parse_pdf
from m2io.errors import DatasetError


def _good_pdf(path: Path, image: Path) -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.start_section("Layers")
    pdf.cell(0, 10, "Layers", new_x="LMARGIN", new_y="NEXT")
    pdf.start_section("Masks")
    pdf.set_font("helvetica", size=10)
    pdf.multi_cell(0, 5, "A layer holds the pixels of one part of the image, and layers stack up. " * 4)
    pdf.image(str(image), x=20, w=80)
    pdf.output(str(path))
    return path


@pytest.fixture
def good(tmp_path: Path) -> Path:
    PILImage.new("RGB", (300, 200), "teal").save(tmp_path / "shot.png")
    return _good_pdf(tmp_path / "good.pdf", tmp_path / "shot.png")


def _encrypted(tmp_path: Path) -> Path:
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_page()
    pdf.set_font("helvetica", size=10)
    pdf.cell(0, 5, "Secret text.")
    pdf.output(str(tmp_path / "locked.pdf"))
    return tmp_path / "locked.pdf"


def _scanned(tmp_path: Path) -> Path:
    PILImage.new("RGB", (1240, 1754), "white").save(tmp_path / "scan.png")
    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.image(str(tmp_path / "scan.png"), x=0, y=0, w=210, h=297)
    pdf.output(str(tmp_path / "scanned.pdf"))
    return tmp_path / "scanned.pdf"


MESSAGES = {"empty": "empty file", "not_a_pdf": "not a PDF", "truncated": "truncated PDF",
            "garbled": "unreadable PDF", "encrypted": "encrypted PDF", "scanned": "no text layer"}


def _bad_pdf(kind: str, tmp: Path, good: Path) -> Path:
    if kind == "encrypted":
        return _encrypted(tmp)
    if kind == "scanned":
        return _scanned(tmp)
    data = {"empty": b"", "not_a_pdf": b"just some notes\n", "truncated": good.read_bytes()[: good.stat().st_size // 2],
            "garbled": b"%PDF-1.7\n" + b"\x00garbage" * 500 + b"\n%%EOF\n"}[kind]
    path = tmp / f"{kind}.pdf"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_bad_pdfs_are_named_errors(tmp_path: Path, good: Path, kind: str):
    path = _bad_pdf(kind, tmp_path, good)
    with pytest.raises(DatasetError, match=MESSAGES[kind]) as err:
        parse_pdf(path, tmp_path / "figs")
    assert str(path) in str(err.value)
    assert not list(tmp_path.glob("*figs*"))  # no figures, not even a temporary folder, are left


@pytest.mark.parametrize("kind", ["truncated", "encrypted", "scanned"])
def test_cli_keeps_the_old_dataset_when_a_pdf_is_bad(tmp_path: Path, good: Path, kind: str):
    out = tmp_path / "out"
    runner = CliRunner()
    ok = runner.invoke(cli, ["corpus", "manual", "--pdf", str(good), "--name", "paint", "--out", str(out),
                             "--min-words", "5", "--cache", str(tmp_path / "cache")])
    assert ok.exit_code == 0, ok.output
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bad = _bad_pdf(kind, tmp_path, good)
    result = runner.invoke(cli, ["corpus", "manual", "--pdf", str(good), "--pdf", str(bad), "--name", "paint",
                                 "--out", str(out), "--min-words", "5", "--cache", str(tmp_path / "cache")])
    assert result.exit_code != 0
    assert str(bad) in str(result.exception) + result.output
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_markdown_and_rst_pages_that_do_not_decode_are_listed_and_the_rest_built(tmp_path: Path):
    for kind, suffix, heading in (("markdown", "md", "# Brushes\n\n"), ("rst", "rst", "Brushes\n=======\n\n")):
        root = tmp_path / kind
        (root / "img").mkdir(parents=True)
        PILImage.new("RGB", (300, 200), "teal").save(root / "img" / "brush.png")
        figure = "![The brush dialog](img/brush.png)\n" if kind == "markdown" else \
            ".. figure:: img/brush.png\n\n   The brush dialog\n"
        (root / f"index.{suffix}").write_text(heading + "A brush paints pixels in the shape you pick. " * 3 + "\n\n"
                                              + figure)
        (root / f"broken.{suffix}").write_bytes(b"# Title\n\n\xff\xfe caf\xe9 latin-1 text\n")
        ds, report = build_manual_dataset(root, ManualConfig(name="paint", source=kind, min_words=5))
        assert [d.id for d in ds.documents] == ["index#brushes"]
        assert ds.images[ds.documents[0].image_ids[0]].caption == "The brush dialog"
        assert len(report.pages_unparsable) == 1 and f"broken.{suffix}" in report.pages_unparsable[0]
        assert "UTF-8" in report.pages_unparsable[0]


def test_missing_figure_files_in_sources_are_counted_not_fatal(tmp_path: Path):
    root = tmp_path / "docs"
    root.mkdir()
    PILImage.new("RGB", (300, 200), "teal").save(root / "there.png")
    (root / "index.md").write_text("# Brushes\n\n" + "A brush paints pixels in the shape you pick. " * 3 +
                                   "\n\n![Here](there.png)\n\n![Gone](gone.png)\n")
    ds, report = build_manual_dataset(root, ManualConfig(name="paint", min_words=5))
    assert len(ds.images) == 1 and report.figures_dropped["missing_file"] == 1
