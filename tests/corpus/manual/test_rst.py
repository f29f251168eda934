"""reStructuredText / Sphinx sources: toctree order, Sphinx directives and roles, figures, built _sources trees."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_png
from m2io.corpus.manual.page import FigureBlock, TextBlock
from m2io.corpus.manual.rst import find_rst_pages, parse_rst, toctree_entries
from m2io.errors import DatasetError

CONF = """# Configuration file for the Sphinx documentation builder.
import os
project = 'Paint Manual'
master_doc = "contents"
version = '2.4'
language = 'en'
extensions = ['sphinx.ext.autodoc']
"""

CONTENTS = """Paint Manual
============

.. toctree::
   :maxdepth: 2
   :caption: Contents

   self
   Introduction <intro>
   guide/index
   Python <https://python.org>
   /appendix
"""

GUIDE_INDEX = """Guide
=====

.. toctree::
   :glob:

   layer*
   tools/*
"""

LAYERS = """.. _layers:

Layers
======

A layer is a sheet of pixels. See :ref:`the dialog <layers-dialog>`, :ref:`layers-dialog`,
:doc:`../intro` and :py:func:`~paint.layers.merge`. Press :kbd:`Ctrl+L` or pick
:menuselection:`Layer --> &New Layer...`, click :guilabel:`&OK`, edit :file:`~/.paint/{name}.cfg`,
read :abbr:`HSV (hue, saturation, value)`, try :frobnicate:`something odd` and |version| and |nothing|.

.. figure:: images/dialog.*
   :alt: Layers dialog screenshot
   :figwidth: 60%

   The Layers dialog

   It lists every layer of the image.

.. _layers-dialog:

The Layers dialog
-----------------

.. versionadded:: 2.0
   Layers can be locked.

.. code-block:: python
   :linenos:
   :emphasize-lines: 1

   image.add_layer("Background")

.. image:: /shared/icons-overview.png

.. image:: images/missing.png
   :alt: A picture nobody drew

.. automodule:: paint.layers
   :members:

.. seealso:: The brushes chapter.

.. frobnicate:: strongly
   :level: 3

   Text inside an unknown directive.

   .. figure:: images/inside.png

      A figure inside it

.. tabs::

   .. tab:: Windows

      Use the Start menu.

.. glossary::

   Alpha
      Transparency of a pixel.

.. toctree::

   tools/brush

.. index:: layers; locking

.. only:: html

   Only in HTML.

.. include:: ../snippets/footer.rst

.. py:function:: merge(a, b)

   Merge two layers.
"""


@pytest.fixture
def sphinx_tree(tmp_path: Path) -> Path:
    src = tmp_path / "docs"
    make_png(src / "guide" / "images" / "dialog.png")
    make_png(src / "guide" / "images" / "dialog.jpg")  # .png wins
    make_png(src / "guide" / "images" / "inside.png")
    make_png(src / "shared" / "icons-overview.png")
    (src / "conf.py").write_text(CONF)
    (src / "contents.rst").write_text(CONTENTS)
    (src / "intro.rst").write_text("Introduction\n============\n\nHello.\n")
    (src / "appendix.rst").write_text("Appendix\n========\n\nMore.\n")
    (src / "orphan.rst").write_text(":orphan:\n\nOrphan\n======\n\nNobody links here.\n")
    (src / "guide" / "index.rst").write_text(GUIDE_INDEX)
    (src / "guide" / "layers.rst").write_text(LAYERS)
    (src / "guide" / "layers_more.rst").write_text("More layers\n===========\n\nText.\n")
    (src / "guide" / "tools").mkdir()
    (src / "guide" / "tools" / "brush.rst").write_text("Brush\n=====\n\nPaints.\n")
    (src / "guide" / "tools" / "eraser.rst").write_text("Eraser\n======\n\nErases.\n")
    for skipped in ("_build/html/_sources/x.rst", ".git/y.rst", "_templates/t.rst"):
        (src / skipped).parent.mkdir(parents=True, exist_ok=True)
        (src / skipped).write_text("Skip\n====\n")
    return tmp_path


def _names(pages: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in pages]


def test_toctree_order_from_the_root_doc(sphinx_tree: Path):
    pages = find_rst_pages(sphinx_tree)  # the repository root: conf.py is found in docs/
    assert _names(pages, sphinx_tree / "docs") == [
        "contents.rst", "intro.rst", "guide/index.rst", "guide/layers.rst", "guide/tools/brush.rst",
        "guide/layers_more.rst", "guide/tools/eraser.rst", "appendix.rst", "orphan.rst"]


def test_toctree_entries():
    assert toctree_entries(CONTENTS) == [("self", False), ("intro", False), ("guide/index", False),
                                         ("https://python.org", False), ("/appendix", False)]
    assert toctree_entries(GUIDE_INDEX) == [("layer*", True), ("tools/*", True)]


def test_sections_roles_and_sphinx_directives(sphinx_tree: Path, capfd):
    path = sphinx_tree / "docs" / "guide" / "layers.rst"
    page = parse_rst(path, sphinx_tree)
    assert capfd.readouterr().err == ""  # docutils printed nothing
    assert (page.title, page.book, page.home, page.lang, page.path) == (
        "Layers", "Paint Manual", "Paint Manual", "en", path)
    # docutils' own section ids: the ".. _layers:" label takes "layers", the section the next free one.
    assert [(s.title, s.level, s.parents, s.anchor) for s in page.sections] == [
        ("Layers", 1, [], "layers-1"), ("The Layers dialog", 2, ["Layers"], "the-layers-dialog")]
    top, dialog = page.sections
    assert top.blocks[0] == TextBlock(
        "A layer is a sheet of pixels. See the dialog, The Layers dialog, intro and merge(). Press Ctrl+L or pick "
        "Layer > New Layer..., click OK, edit ~/.paint/name.cfg, read HSV (hue, saturation, value), try something "
        "odd and 2.4 and nothing.")
    images = (sphinx_tree / "docs" / "guide" / "images").resolve()
    assert top.blocks[1] == FigureBlock(images / "dialog.png", "The Layers dialog", "title",
                                        "Layers dialog screenshot")
    assert top.blocks[2] == TextBlock("It lists every layer of the image.")  # the legend is text
    texts = [b.text for b in dialog.blocks if isinstance(b, TextBlock)]
    assert texts == [
        "New in version 2.0: Layers can be locked.", 'image.add_layer("Background")', "See also: The brushes chapter.",
        "Text inside an unknown directive.", "Windows", "Use the Start menu.", "Alpha", "Transparency of a pixel.",
        "Only in HTML.", "merge(a, b)", "Merge two layers."]
    for word in ("System Message", "Unknown", "automodule", "toctree", "footer", ":ref:", "Error"):
        assert not any(word in t for t in texts + [top.blocks[0].text])
    overview, missing, inside = dialog.figures
    assert overview.src == (sphinx_tree / "docs" / "shared" / "icons-overview.png").resolve()  # /x: source root
    assert (overview.caption, overview.caption_source) == ("icons overview", "file_name")
    assert missing.src == images / "missing.png" and not missing.src.exists()
    assert (missing.caption, missing.caption_source) == ("A picture nobody drew", "alt")
    assert (inside.src, inside.caption, inside.caption_source) == (images / "inside.png", "A figure inside it", "title")


def test_missing_wildcard_image_is_kept(tmp_path: Path):
    (tmp_path / "page.rst").write_text("Page\n====\n\nSome text.\n\n.. figure:: gone.*\n\n   Gone\n")
    fig = parse_rst(tmp_path / "page.rst", tmp_path).sections[0].figures[0]
    assert (fig.src, fig.caption) == ((tmp_path / "gone.png").resolve(), "Gone")


def test_built_tree_sources_and_images(tmp_path: Path):
    html = tmp_path / "html"
    make_png(html / "_images" / "timeline.png")
    (html / "objects.inv").write_bytes(b"# Sphinx inventory version 2\n# Project: Video Editor\n# Version: 3\n")
    (html / "_sources").mkdir(parents=True)
    (html / "_sources" / "index.rst.txt").write_text(
        "Video Editor\n============\n\n.. toctree::\n\n   timeline\n   clips\n")
    (html / "_sources" / "clips.rst.txt").write_text("Clips\n=====\n\nCut clips.\n")
    (html / "_sources" / "timeline.rst.txt").write_text(
        "Timeline\n========\n\nDrag clips onto tracks.\n\n.. image:: images/timeline.png\n")
    (html / "_sources" / "notes.md.txt").write_text("# Markdown source, not reStructuredText\n")
    pages = find_rst_pages(html)
    assert _names(pages, html) == ["_sources/index.rst.txt", "_sources/timeline.rst.txt", "_sources/clips.rst.txt"]
    page = parse_rst(pages[1], html)
    assert (page.title, page.book) == ("Timeline", "Video Editor")
    assert page.sections[0].figures[0].src == (html / "_images" / "timeline.png").resolve()


def test_no_conf_starts_at_index(tmp_path: Path):
    (tmp_path / "b.rst").write_text("B\n=\n")
    (tmp_path / "a.rst").write_text("A\n=\n")
    (tmp_path / "index.rst").write_text("Top\n===\n\n.. toctree::\n   :glob:\n   :reversed:\n\n   *\n")
    assert [p.name for p in find_rst_pages(tmp_path)] == ["index.rst", "a.rst", "b.rst"]


def test_page_without_title(tmp_path: Path):
    (tmp_path / "loose.rst").write_text("Just a paragraph.\n")
    page = parse_rst(tmp_path / "loose.rst", tmp_path)
    assert [(s.title, s.level, s.blocks) for s in page.sections] == [("loose", 0, [TextBlock("Just a paragraph.")])]


def test_lone_subsection_stays_a_section(tmp_path: Path):
    (tmp_path / "p.rst").write_text("Title\n=====\n\nSub\n---\n\nText.\n")
    page = parse_rst(tmp_path / "p.rst", tmp_path)
    assert [(s.title, s.level, s.parents) for s in page.sections] == [("Title", 1, []), ("Sub", 2, ["Title"])]


def test_empty_file_has_no_sections(tmp_path: Path):
    (tmp_path / "empty.rst").write_text("")
    assert parse_rst(tmp_path / "empty.rst", tmp_path).sections == []


def test_not_utf8_is_a_dataset_error_naming_the_file(tmp_path: Path):
    bad = tmp_path / "latin1.rst"
    bad.write_bytes("Caf\u00e9\n====\n".encode("latin-1"))
    with pytest.raises(DatasetError, match=r"latin1\.rst: not UTF-8") as err:
        parse_rst(bad, tmp_path)
    assert err.value.path == str(bad)


def test_image_with_an_extension_option_is_kept(tmp_path: Path):
    make_png(tmp_path / "zoom.png")
    (tmp_path / "p.rst").write_text("Zoom\n====\n\nSome text.\n\n.. figure:: zoom.png\n   :alt: Zoomed\n"
                                    "   :lightbox:\n\n   The zoom tool\n\n.. figure::\n\n   A figure with no file\n")
    (section,) = parse_rst(tmp_path / "p.rst", tmp_path).sections
    assert section.figures == [FigureBlock((tmp_path / "zoom.png").resolve(), "The zoom tool", "title", "Zoomed")]
    assert section.blocks[-1] == TextBlock("A figure with no file")
