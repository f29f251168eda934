"""The PDF reader on PDFs the tests write: with fpdf2 (outline, fonts, images, drawings, columns) and by
printing HTML with the Chromium the tests install."""
from __future__ import annotations

import subprocess
from pathlib import Path

import imagehash
import pytest
from fpdf import FPDF
from PIL import Image as PILImage

from conftest import make_png
from m2io.corpus.manual.build import ManualConfig, build_manual_dataset
from m2io.corpus.manual.page import FigureBlock, TextBlock
from m2io.corpus.manual.pdf import parse_pdf

LOREM = ("Layers are the building blocks of every image, and each one holds pixels that can be painted, moved "
         "or hidden without touching the others. ")


def _photo(path: Path, size=(300, 200), seed: int = 0) -> Path:
    import numpy as np

    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (8, 12, 3), dtype=np.uint8)
    PILImage.fromarray(base).resize(size, PILImage.NEAREST).save(path)
    return path


def _text(pdf: FPDF, text: str, size: float = 10, style: str = "") -> None:
    pdf.set_font("helvetica", style, size)
    pdf.set_x(pdf.l_margin)
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")


def _heading(pdf: FPDF, title: str, level: int, outline: bool = True) -> None:
    if outline:
        pdf.start_section(title, level=level)
    _text(pdf, title, 18 - 3 * level, "B")
    pdf.ln(2)


def _figure(pdf: FPDF, image: Path, caption: str | None, above: bool = False, width: float = 90) -> None:
    if caption and above:
        _text(pdf, caption, 9)
    pdf.image(str(image), x=pdf.l_margin + 20, w=width)
    pdf.ln(2)
    if caption and not above:
        _text(pdf, caption, 9, "I" if not caption.startswith("Fig") else "")
    pdf.ln(2)


@pytest.fixture
def manual_pdf(tmp_path: Path) -> Path:
    shots = [_photo(tmp_path / f"shot{i}.png", seed=i) for i in range(4)]
    make_png(tmp_path / "icon.png", (64, 64), "red")
    pdf = FPDF()
    pdf.set_auto_page_break(True, 25)
    pdf.set_title("The Paint Manual")

    def header() -> None:
        pdf.set_font("helvetica", "", 8)
        pdf.set_y(8)
        pdf.cell(0, 4, "The Paint Manual - draft edition")
        pdf.set_y(20)

    def footer() -> None:
        pdf.set_y(-15)
        pdf.set_font("helvetica", "", 8)
        pdf.cell(0, 4, str(pdf.page_no()), align="C")

    pdf.header, pdf.footer = header, footer
    pdf.add_page()
    _heading(pdf, "1 Layers", 0)
    _text(pdf, LOREM * 3 + "The dialog is a man-\nual way to reorder them.")
    _figure(pdf, shots[0], "Figure 1.1: The Layers dialog")
    _text(pdf, "After the figure, the text goes on about layers. " * 3)
    _heading(pdf, "1.1 Layer masks", 1)
    _text(pdf, "A mask hides parts of a layer without erasing them. " * 4)
    pdf.image(str(tmp_path / "icon.png"), x=pdf.l_margin, w=6)  # an icon, drawn 6 mm wide
    pdf.ln(2)
    _figure(pdf, shots[1], "Figure 1.2: Adding a mask", above=True)
    _text(pdf, "Masks can be applied or removed at any time. " * 3)
    pdf.add_page()
    _heading(pdf, "2 Paths", 0)
    _text(pdf, "A path is a curve made of segments, drawn with the Paths tool. " * 4)
    y = pdf.get_y() + 2
    pdf.set_draw_color(0, 0, 200)
    pdf.set_line_width(0.8)
    pdf.bezier([(30, y + 40), (60, y), (100, y + 60), (140, y + 10)])
    pdf.ellipse(40, y + 10, 30, 20)
    pdf.set_y(y + 65)
    _text(pdf, "Figure 2.1: A Bezier path with its handles", 9)
    _text(pdf, "The table below lists the path tools. " * 2)
    pdf.set_font("helvetica", "", 10)
    with pdf.table(col_widths=(40, 100)) as table:
        for row in (("Tool", "Use"), ("Paths", "Draw curves"), ("Align", "Line up layers"), ("Text", "Write")):
            r = table.row()
            for cell in row:
                r.cell(cell)
    _text(pdf, "Paths can be stroked or turned into selections. " * 3)
    _figure(pdf, shots[2], "The stroke dialog")  # a caption set in italics, no "Figure N"
    _text(pdf, "Stroking paints along the path with the current brush. " * 3)
    pdf.output(str(tmp_path / "paint.pdf"))
    return tmp_path / "paint.pdf"


def _texts(section) -> list[str]:
    return [b.text for b in section.blocks if isinstance(b, TextBlock)]


def test_sections_figures_captions_and_running_lines(manual_pdf: Path, tmp_path: Path):
    page = parse_pdf(manual_pdf, tmp_path / "figs")
    assert page.title == "The Paint Manual"
    assert [(s.title, s.level, s.parents) for s in page.sections] == [
        ("Layers", 1, []), ("Layer masks", 2, ["Layers"]), ("Paths", 1, [])]
    layers, masks, paths = page.sections
    assert [type(b).__name__ for b in layers.blocks] == ["TextBlock", "FigureBlock", "TextBlock"]
    fig = layers.figures[0]
    assert (fig.caption, fig.caption_source) == ("The Layers dialog", "caption_line")
    assert "manual way to reorder" in _texts(layers)[0]  # the hyphen at the line's end is taken out
    assert [(f.caption, f.caption_source) for f in masks.figures] == [("Adding a mask", "caption_line")]  # no icon
    assert [(f.caption, f.caption_source) for f in paths.figures] == [
        ("A Bezier path with its handles", "caption_line"), ("The stroke dialog", "caption_style")]
    all_text = " ".join(t for s in page.sections for t in _texts(s))
    assert "draft edition" not in all_text and "Figure 1.1" not in all_text  # running header, captions
    assert "Line up layers" in all_text  # a table is text, not a drawing
    assert not any(t.strip().isdigit() for s in page.sections for t in _texts(s))  # page numbers
    # The raster figure is the embedded picture itself, not a re-rendering.
    saved = imagehash.phash(PILImage.open(fig.src).convert("RGB"))
    assert saved - imagehash.phash(PILImage.open(tmp_path / "shot0.png").convert("RGB")) <= 4


def test_drawing_is_rendered_with_its_region(manual_pdf: Path, tmp_path: Path):
    drawing = parse_pdf(manual_pdf, tmp_path / "figs").sections[2].figures[0]
    with PILImage.open(drawing.src) as im:
        w, h = im.size
        assert 560 < w < 700 and 250 < h < 420  # about 110 x 60 mm (312 x 170 pt) of the page at 144 dpi
        assert im.convert("L").getextrema()[0] < 100  # the blue strokes are in it


def test_font_headings_when_there_is_no_outline(tmp_path: Path):
    shot = _photo(tmp_path / "s.png")
    pdf = FPDF()
    pdf.add_page()
    _heading(pdf, "Getting started", 0, outline=False)
    _text(pdf, LOREM * 2)
    _heading(pdf, "3.2 Installing brushes", 1, outline=False)
    _text(pdf, "Copy the brush files into the brushes folder of your profile. " * 3)
    _figure(pdf, shot, "Figure 3: The brushes folder")
    pdf.output(str(tmp_path / "plain.pdf"))
    page = parse_pdf(tmp_path / "plain.pdf", tmp_path / "figs")
    assert [(s.title, s.level) for s in page.sections] == [("Getting started", 1), ("Installing brushes", 2)]
    assert page.sections[1].figures[0].caption == "The brushes folder"


def test_pictures_side_by_side_are_separate_figures(tmp_path: Path):
    shots = [_photo(tmp_path / f"phone{i}.png", (200, 400), seed=10 + i) for i in range(2)]
    pdf = FPDF()
    pdf.add_page()
    _heading(pdf, "Logging in", 0)
    _text(pdf, "The first screen asks for the account, the second for the password. " * 2)
    y = pdf.get_y() + 2
    pdf.image(str(shots[0]), x=20, y=y, w=40)
    pdf.image(str(shots[1]), x=62, y=y, w=40)  # 2 mm apart
    pdf.set_y(y + 85)
    _text(pdf, "Then the contacts appear. " * 3)
    pdf.output(str(tmp_path / "side.pdf"))
    figures = parse_pdf(tmp_path / "side.pdf", tmp_path / "figs").sections[0].figures
    assert len(figures) == 2
    for fig, shot in zip(figures, shots):
        saved = imagehash.phash(PILImage.open(fig.src).convert("RGB"))
        assert saved - imagehash.phash(PILImage.open(shot).convert("RGB")) <= 4


def test_two_columns_are_read_column_by_column(tmp_path: Path):
    pdf = FPDF()
    pdf.add_page()
    pdf.start_section("Columns")
    _text(pdf, "Columns", 16, "B")
    pdf.set_font("helvetica", "", 10)
    left = " ".join(f"Left{i} sentence goes here." for i in range(40))
    right = " ".join(f"Right{i} sentence goes here." for i in range(40))
    top = pdf.get_y()
    pdf.set_xy(10, top)
    pdf.multi_cell(90, 5, left)
    pdf.set_xy(110, top)
    pdf.multi_cell(90, 5, right)
    pdf.output(str(tmp_path / "cols.pdf"))
    text = " ".join(_texts(parse_pdf(tmp_path / "cols.pdf", tmp_path / "figs").sections[0]))
    assert text.index("Left39") < text.index("Right0")
    assert [int(w[4:]) for w in text.split() if w.startswith("Left")] == list(range(40))


def test_build_from_pdf_files_names_figures_by_their_pdf(manual_pdf: Path, tmp_path: Path):
    ds, report = build_manual_dataset(None, ManualConfig(name="paint", cache=tmp_path / "cache", min_words=5),
                                      files=[manual_pdf])
    assert {d.id for d in ds.documents} == {"paint#layers", "paint#layer-masks", "paint#paths"}
    assert sorted(ds.images) == ["paint__p0001-1.png", "paint__p0001-2.png", "paint__p0002-1.png",
                                 "paint__p0002-2.png"]
    assert report.caption_sources == {"caption_line": 3, "caption_style": 1}
    assert ds.sources["paint#layer-masks"].label.endswith("Layers \u203a Layer masks")
    # A second build reuses the figures already written for this file.
    stamp = {p: p.stat().st_mtime_ns for p in (tmp_path / "cache" / "pdf-figures").rglob("*.png")}
    build_manual_dataset(None, ManualConfig(name="paint", cache=tmp_path / "cache", min_words=5), files=[manual_pdf])
    assert stamp == {p: p.stat().st_mtime_ns for p in (tmp_path / "cache" / "pdf-figures").rglob("*.png")}


def test_a_page_printed_by_chromium(tmp_path: Path):
    _photo(tmp_path / "dialog.png", (400, 260), seed=3)
    (tmp_path / "page.html").write_text(
        "<html><head><title>Brush Guide</title></head><body style='font-family:serif'>"
        "<h1>Brushes</h1><p>" + "A brush paints pixels in a shape you choose from the Brushes dialog. " * 6 + "</p>"
        "<h2>Brush dialog</h2><p>Open it from the Windows menu.</p>"
        "<figure><img src='dialog.png' width='400'><figcaption>Figure 1. The Brushes dialog</figcaption></figure>"
        "<p>" + "Pick a brush, then paint on the canvas. " * 5 + "</p></body></html>")
    pdf = tmp_path / "page.pdf"
    subprocess.run(["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    "--generate-pdf-document-outline", f"--print-to-pdf={pdf}", (tmp_path / "page.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    page = parse_pdf(pdf, tmp_path / "figs")
    assert page.title == "Brush Guide"
    assert [(s.title, s.level) for s in page.sections] == [("Brushes", 1), ("Brush dialog", 2)]
    blocks = page.sections[1].blocks
    assert [type(b) for b in blocks] == [TextBlock, FigureBlock, TextBlock]
    assert blocks[1].caption == "The Brushes dialog"
    saved = imagehash.phash(PILImage.open(blocks[1].src).convert("RGB"))
    assert saved - imagehash.phash(PILImage.open(tmp_path / "dialog.png").convert("RGB")) <= 6


def test_chapter_headers_are_running_lines_and_floats_return_to_their_citation(tmp_path: Path):
    shot = _photo(tmp_path / "plot.png", seed=7)
    pdf = FPDF()
    pdf.set_auto_page_break(True, 25)
    chapter = {"name": ""}

    def header() -> None:  # Texinfo's: the chapter on the left, the page number on the right
        pdf.set_font("helvetica", "", 8)
        pdf.set_xy(10, 8)
        pdf.cell(120, 4, chapter["name"])
        pdf.set_xy(170, 8)
        pdf.cell(20, 4, str(pdf.page_no()), align="R")
        pdf.set_y(20)

    pdf.header = header
    for n, name in ((1, "Plotting"), (2, "Geometry")):
        chapter["name"] = f"Chapter {n}: {name}"
        pdf.add_page()
        _heading(pdf, f"{n} {name}", 0)
        body = f"The {name.lower()} functions draw on the current figure and return handles to what they drew. "
        _text(pdf, body * 6)
        _text(pdf, f"The result of this code can be seen in Figure {n}.1. " + body * 2)
        for _ in range(12):  # two pages and more: each chapter's header is on three pages or more
            _text(pdf, body * 8)
        pdf.add_page()  # the float goes to the top of a later page
        pdf.image(str(shot), x=30, w=90)
        pdf.ln(2)
        _text(pdf, f"Figure {n}.1: The {name.lower()} example", 9)
        _text(pdf, body * 4)
    pdf.output(str(tmp_path / "floats.pdf"))
    page = parse_pdf(tmp_path / "floats.pdf", tmp_path / "figs")
    assert [s.title for s in page.sections] == ["Plotting", "Geometry"]
    for section in page.sections:
        texts = _texts(section)
        assert not any("Chapter" in t for t in texts)  # the header changes per chapter and is still left out
        kinds = [type(b) for b in section.blocks]
        at = kinds.index(FigureBlock)
        assert "can be seen in Figure" in section.blocks[at - 1].text  # right after the citing paragraph


def test_a_plain_title_line_standing_under_a_figure_is_its_caption(tmp_path: Path):
    shots = [_photo(tmp_path / f"s{i}.png", seed=20 + i) for i in range(2)]
    pdf = FPDF()
    pdf.add_page()
    _heading(pdf, "Aligning layers", 0)
    _text(pdf, "Pick the layers to align, then click one of the buttons. " * 2)
    pdf.image(str(shots[0]), x=pdf.l_margin, w=80)
    _text(pdf, "Align center of target clicked")
    pdf.ln(6)
    _text(pdf, "The layers now share one centre line, as the picture shows. " * 2)
    pdf.image(str(shots[1]), x=pdf.l_margin, w=80)
    _text(pdf, "Then click Apply to keep the result.")  # a sentence, not a caption
    _text(pdf, "The dialog closes and the image is saved with its layers. " * 2)
    pdf.output(str(tmp_path / "plain.pdf"))
    s = parse_pdf(tmp_path / "plain.pdf", tmp_path / "figs").sections[0]
    assert [(f.caption, f.caption_source) for f in s.figures] == [
        ("Align center of target clicked", "caption_style"), ("", "none")]
    assert any(t.startswith("Then click Apply") for t in _texts(s))


def test_two_pdfs_of_one_name_keep_their_own_figures_and_a_rotated_page_is_read(manual_pdf: Path, tmp_path: Path):
    import pypdfium2

    for folder in ("v1", "v2"):
        (tmp_path / folder).mkdir()
        doc = pypdfium2.PdfDocument(manual_pdf)
        if folder == "v2":
            doc[1].set_rotation(90)  # the drawing's page, turned for display
        doc.save(tmp_path / folder / "paint.pdf")
    ds, _ = build_manual_dataset(None, ManualConfig(name="paint", cache=tmp_path / "cache", min_words=5),
                                 files=[tmp_path / "v1" / "paint.pdf", tmp_path / "v2" / "paint.pdf"])
    assert len(ds.images) == 8 and {i.split("__")[0] for i in ds.images} == {"v1", "v2"}
    paths = {d.id.split("#")[0]: d for d in ds.documents if d.id.endswith("paths")}  # named apart: both have one
    assert sorted(paths) == ["v1/paint", "v2/paint"]
    drawing = ds.images[paths["v2/paint"].image_ids[0]]
    assert drawing.caption == "A Bezier path with its handles"


def test_a_logo_on_every_page_is_left_out_but_screenshots_of_one_size_are_not(tmp_path: Path):
    logo = _photo(tmp_path / "logo.png", (200, 200), seed=40)
    shots = [_photo(tmp_path / f"shot{i}.png", (320, 200), seed=50 + i) for i in range(6)]
    pdf = FPDF()
    pdf.set_auto_page_break(True, 25)
    for i, shot in enumerate(shots):
        pdf.add_page()
        pdf.start_section(f"Wizard page {i + 1}")
        pdf.image(str(logo), x=180, y=5, w=15)  # the same logo in the corner of every page
        pdf.image(str(shot), x=30, y=20, w=120)  # every screenshot the same size and place
        pdf.set_y(100)
        _text(pdf, f"Wizard page {i + 1}", 14, "B")
        _text(pdf, f"The wizard's page number {i + 1} asks for one more setting before it goes on. " * 3)
    pdf.output(str(tmp_path / "wizard.pdf"))
    page = parse_pdf(tmp_path / "wizard.pdf", tmp_path / "figs")
    figures = [f for s in page.sections for f in s.figures]
    assert len(figures) == 6
    assert all(abs(PILImage.open(f.src).width - 320) <= 2 for f in figures)  # the screenshots, not the logo
    assert [s.title for s in page.sections] == [f"Wizard page {i + 1}" for i in range(6)]


def test_a_label_before_a_page_break_keeps_its_figure(tmp_path: Path):
    shots = [_photo(tmp_path / f"w{i}.png", seed=60 + i) for i in range(2)]
    pdf = FPDF()
    pdf.set_auto_page_break(False)
    pdf.add_page()
    _heading(pdf, "Backups", 0)
    _text(pdf, "Backups are made from the System page of the web interface. " * 3)
    pdf.set_y(270)
    _text(pdf, "Step 1")  # the page ends with a label; its screenshot did not fit
    pdf.add_page()
    pdf.image(str(shots[0]), x=20, y=15, w=120)
    pdf.set_y(100)
    _text(pdf, "Step 2")
    pdf.image(str(shots[1]), x=20, w=120)
    pdf.output(str(tmp_path / "steps.pdf"))
    blocks = parse_pdf(tmp_path / "steps.pdf", tmp_path / "figs").sections[0].blocks
    assert [b.text if isinstance(b, TextBlock) else "FIG" for b in blocks][1:] == ["Step 1", "FIG", "Step 2", "FIG"]
