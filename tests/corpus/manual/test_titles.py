from __future__ import annotations

from pathlib import Path

from m2io.corpus.manual.build import name_sections
from m2io.corpus.manual.page import parse_page_html, strip_numbering
from m2io.corpus.manual.titles import page_name, site_name


def test_site_name_is_the_title_part_most_pages_share():
    titles = ["Layers \u2014 Docs", "Masks \u2014 Docs", "Paths \u2014 Docs", "Index"]
    site = site_name(titles)
    assert site.text == "Docs" and page_name("Masks \u2014 Docs", site) == "Masks"
    assert page_name("Index", site) == "Index"
    assert site_name(["GIMP: Layers", "Align", "Frontends: aptitude"]) is None
    prefix = site_name(["Foo | Intro", "Foo | Setup", "Foo | Usage"])
    assert (prefix.text, prefix.suffix, page_name("Foo | Setup", prefix)) == ("Foo", False, "Setup")


def test_numbering_needs_a_dot_after_a_letter():
    assert strip_numbering("d.background - GRASS GIS manual") == "d.background - GRASS GIS manual"
    assert strip_numbering("A Guide to Layers") == "A Guide to Layers"
    assert strip_numbering("Appendix B. Files") == "Files"
    assert strip_numbering("B.2 Files") == "Files"


def test_repeated_section_titles_are_named_with_their_page():
    def page(name):
        return parse_page_html(f"<html><head><title>{name} - GRASS GIS manual</title></head><body>"
                               f"<h2>DESCRIPTION</h2><p>What {name} does.</p><h2>EXAMPLES</h2><p>Run it.</p>"
                               f"<h2>{name} internals</h2><p>Only here.</p></body></html>", Path("/m"))
    pages = [page(n) for n in ("d.background", "d.legend", "r.slope")]
    assert name_sections(pages) == "GRASS GIS manual"
    assert pages[0].title == "d.background"
    assert [s.title for s in pages[0].sections] == ["d.background: Description", "d.background: Examples",
                                                    "d.background internals"]
