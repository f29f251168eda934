"""DocBook XML books: entities and XIncludes from local files, sections, figures, inline images, tables."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_png
from m2io.corpus.manual.build import ManualConfig, build_manual_dataset
from m2io.corpus.manual.docbook import is_docbook_root, parse_docbook
from m2io.corpus.mramg import read_dataset, write_dataset
from m2io.errors import DatasetError

BOOK = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE book PUBLIC "-//OASIS//DTD DocBook XML V4.5//EN" "http://www.oasis-open.org/docbook/xml/4.5/docbookx.dtd" [
  <!ENTITY app "Sheets">
  <!ENTITY charts SYSTEM "charts.xml">
]>
<book id="index" xmlns:xi="http://www.w3.org/2001/XInclude">
<bookinfo><title>The &app; Manual</title><legalnotice><para>Copying is allowed.</para></legalnotice></bookinfo>
<chapter id="cells"><title>1. Cells</title>
<para>A cell holds a value or a formula; &app; recomputes it when its inputs change.</para>
<figure id="fig-cell"><title>Figure 1.1. A cell being edited</title>
<screenshot><mediaobject><imageobject><imagedata fileref="figures/cell.eps" format="EPS"/></imageobject>
<imageobject><imagedata fileref="figures/cell.png" format="PNG"/></imageobject>
<textobject><phrase>The cell editor</phrase></textobject></mediaobject></screenshot></figure>
<sect1 id="cells-format"><title>Formatting cells</title>
<para>Click <inlinemediaobject><imageobject><imagedata fileref="figures/bold.png"/></imageobject></inlinemediaobject>
to make the text bold, or pick a number format in the dialog.</para>
<informalfigure><mediaobject><imageobject><imagedata fileref="figures/format.png"/></imageobject>
<textobject><phrase>The Format Cells dialog</phrase></textobject></mediaobject></informalfigure>
<indexterm><primary>format</primary></indexterm>
<informaltable><tgroup cols="2"><tbody><row><entry>Bold</entry><entry>Ctrl+B</entry></row></tbody></tgroup></informaltable>
</sect1></chapter>
&charts;
<xi:include href="sorting.xml"/>
</book>"""

CHARTS = """<chapter id="charts"><title>Charts</title><para>A chart draws a range of cells of &app; as bars, lines or
pies, and follows the cells when they change.</para><figure><title>A bar chart</title><mediaobject><imageobject>
<imagedata fileref="figures/bars.png"/></imageobject></mediaobject></figure></chapter>"""

SORTING = """<?xml version="1.0"?><chapter id="sorting"><title>Sorting</title><para>Sorting orders the rows of a
range by one or more keys, ascending or descending, and keeps each row together.</para><mediaobject><imageobject>
<imagedata fileref="figures/sort.png"/></imageobject><caption><para>The Sort dialog</para></caption></mediaobject>
</chapter>"""


@pytest.fixture
def book(tmp_path: Path) -> Path:
    root = tmp_path / "help" / "C" / "sheets"
    for name in ("cell", "bold", "format", "bars", "sort"):
        make_png(root / "figures" / f"{name}.png", (16, 16) if name == "bold" else (320, 200))
    (root / "sheets.xml").write_text(BOOK)
    (root / "index.docbook").write_text(BOOK)  # GNOME packages ship the same book twice
    (root / "charts.xml").write_text(CHARTS)
    (root / "sorting.xml").write_text(SORTING)
    return root


def test_parse_docbook_sections_figures_and_includes(book: Path):
    assert is_docbook_root(book / "sheets.xml") and not is_docbook_root(book / "charts.xml")
    page = parse_docbook(book / "sheets.xml")
    assert page.home == "The Sheets Manual"
    titles = [(s.title, s.level, s.anchor) for s in page.sections]
    assert titles == [("The Sheets Manual", 1, "index"), ("Cells", 2, "cells"), ("Formatting cells", 3, "cells-format"),
                      ("Charts", 2, "charts"), ("Sorting", 2, "sorting")]
    cells, fmt, charts, sorting = page.sections[1:]
    assert [(f.src.name, f.caption, f.caption_source) for f in cells.figures] == [
        ("cell.png", "A cell being edited", "title")]  # the raster one of the two image objects
    assert [(f.src.name, f.caption, f.caption_source) for f in fmt.figures] == [
        ("format.png", "The Format Cells dialog", "alt")]  # the inline bold icon is not a figure
    assert "Click to make the text bold" in fmt.blocks[0].text
    assert [f.caption for f in charts.figures] == ["A bar chart"]
    assert [(f.src.name, f.caption) for f in sorting.figures] == [("sort.png", "The Sort dialog")]
    assert all("Copying is allowed" not in b.text for s in page.sections for b in s.blocks if hasattr(b, "text"))


def test_build_reads_docbook_when_there_is_no_html(book: Path, tmp_path: Path):
    ds, report = build_manual_dataset(book.parents[1], ManualConfig(name="sheets", min_words=10))
    assert report.pages == 1  # the identical index.docbook is read once
    assert {d.id for d in ds.documents} == {"index#cells", "index#cells-format", "index#charts", "index#sorting"}
    assert ds.sources["index#cells-format"].label == "The Sheets Manual \u203a The Sheets Manual \u203a Cells \u203a Formatting cells"
    assert ds.qa[0].question.endswith("in The Sheets Manual?") or "The Sheets Manual" in ds.qa[0].question
    write_dataset(ds, tmp_path / "out")
    back = read_dataset(tmp_path / "out")
    assert back.sources == ds.sources


def test_html_wins_in_auto_and_docbook_can_be_forced(book: Path):
    (book / "extra.html").write_text("<html><body><h2>Extra page</h2><p>" + "word " * 20 + "</p>"
                                     "<p><img src='figures/cell.png' alt='A cell'></p></body></html>")
    ds, _ = build_manual_dataset(book, ManualConfig(name="sheets", min_words=10))
    assert [d.id for d in ds.documents] == ["extra#extra-page"]
    ds, _ = build_manual_dataset(book, ManualConfig(name="sheets", min_words=10, source="docbook"))
    assert len(ds.documents) == 4
    with pytest.raises(DatasetError, match="source"):
        build_manual_dataset(book, ManualConfig(name="sheets", source="epub"))
    with pytest.raises(DatasetError, match="no pdf files"):
        build_manual_dataset(book, ManualConfig(name="sheets", source="pdf"))


def test_broken_docbook_is_reported_not_fatal(book: Path):
    (book / "sheets.xml").write_text(BOOK.replace("</book>", ""))  # truncated: recovered as far as it goes
    (book / "index.docbook").unlink()
    ds, report = build_manual_dataset(book, ManualConfig(name="sheets", min_words=10))
    assert len(ds.documents) >= 2 and not report.pages_unparsable
