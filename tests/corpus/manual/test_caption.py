"""Figures without figure containers: a stand-alone image and a caption line, cell or paragraph next to it."""
from __future__ import annotations

from pathlib import Path

from m2io.corpus.manual.page import TextBlock, parse_page_html

BASE = Path("/m")


def figures_and_text(body: str):
    page = parse_page_html(f"<html><body><h2>Viewshed</h2>{body}</body></html>", BASE)
    (section,) = page.sections
    figs = [(f.src.name, f.caption, f.caption_source) for f in section.figures]
    text = [b.text for b in section.blocks if isinstance(b, TextBlock)]
    return figs, text


def test_centred_div_with_italic_caption_after_a_line_break():
    figs, text = figures_and_text(
        '<p>Compute the viewshed from a point.</p><div align="center" style="margin: 10px">'
        '<a href="r.viewshed.png"><img src="r.viewshed.png" width="600" alt="r.viewshed example"><br></a>'
        '<i>Viewshed shown on shaded terrain (observer with white dot)</i></div><p>Then save it.</p>')
    assert figs == [("r.viewshed.png", "Viewshed shown on shaded terrain (observer with white dot)", "caption_line")]
    assert text == ["Compute the viewshed from a point.", "Then save it."]  # the caption is not read as text


def test_center_with_a_figure_paragraph_inside():
    figs, text = figures_and_text('<p>Display the streets.</p><center><img src="d_background.png" alt="Street network">'
                                  '<p>Figure: Wake County street network</p></center>')
    assert figs == [("d_background.png", "Wake County street network", "caption_line")]
    assert text == ["Display the streets."]


def test_paragraph_image_then_emphasised_paragraph():
    figs, text = figures_and_text('<p><img src="a.png"></p><p><em>The area tool</em></p><p><em>Note</em> this.</p>')
    assert figs == [("a.png", "The area tool", "caption_line")]
    assert text == ["Note this."]


def test_caption_class_span_and_small():
    figs, _ = figures_and_text('<div><img src="a.png"><span class="caption">Span caption</span></div>'
                               '<div><img src="b.png"><br><small>Small caption</small></div>')
    assert [f[1] for f in figs] == ["Span caption", "Small caption"]


def test_figure_line_above_the_image():
    figs, text = figures_and_text('<p>Intro text here.</p><p>Figure 3: The profile</p><p><img src="p.png"></p>')
    assert figs == [("p.png", "The profile", "caption_line")]
    assert text == ["Intro text here."]


def test_table_row_of_images_over_a_row_of_captions():
    figs, text = figures_and_text(
        '<table><tr><th><img src="sweep1.png"></th><th><img src="sweep2.png"></th></tr>'
        '<tr><th>The sweep-line.</th><th>The active cells.</th></tr></table>')
    assert figs == [("sweep1.png", "The sweep-line.", "table_cell"), ("sweep2.png", "The active cells.", "table_cell")]
    assert text == []


def test_caption_cell_in_the_same_row():
    figs, _ = figures_and_text('<table><tr><td><img src="t.png"></td><td>The tool options</td></tr></table>')
    assert figs == [("t.png", "The tool options", "table_cell")]


def test_inline_icons_and_long_italics_are_not_captions():
    figs, text = figures_and_text('<p>Click <img src="eye.png"> to <i>hide</i> a layer.</p>'
                                  '<div><img src="big.png"><i>' + "word " * 60 + '</i></div>')
    assert [(f[0], f[2]) for f in figs] == [("big.png", "file_name")]
    assert text[0] == "Click to hide a layer." and len(text[1].split()) == 60


def test_an_italic_caption_beats_the_alt_text():
    figs, _ = figures_and_text('<div align="center"><img src="x.png" alt="x example"><br><i>The real caption</i></div>')
    assert figs == [("x.png", "The real caption", "caption_line")]


def test_centred_block_with_a_plain_line_under_the_image():
    figs, text = figures_and_text('<p>Compare the two.</p><center><br><img src="swipe.jpg" alt="Map swipe screenshot">'
                                  '<br>Pre and post disaster images of the <b>tsunami</b> in 2011.</center><p>End.</p>')
    assert figs == [("swipe.jpg", "Pre and post disaster images of the tsunami in 2011.", "caption_line")]
    assert text == ["Compare the two.", "End."]
    # Text before the image: running text, the image is inline.
    figs, _ = figures_and_text('<div>It computes as:<br><img src="f.png"><br>with: a formula here</div>')
    assert figs == []
    figs, text = figures_and_text('<p><img src="alloc.png" alt="v.net.alloc example"><br>Any node reaches the nearest'
                                  ' center.</p><p>Next.</p>')
    assert figs == [("alloc.png", "Any node reaches the nearest center.", "caption_line")] and text == ["Next."]


def test_wiki_export_image_with_a_file_link_mark():
    figs, text = figures_and_text('<p>Here is the example.</p><p><img alt="CA tCA02.jpg" src="CA_tCA02.jpg">'
                                  '<a class="external" href="https://wiki/File:CA_tCA02.jpg">[*]</a></p>'
                                  '<div class="floatright"><img alt="Equirectangular projection" src="eq.jpg">'
                                  '<a class="external" href="https://wiki/File:eq.jpg">[*]</a></div>')
    assert [f[:2] for f in figs] == [("CA_tCA02.jpg", "CA tCA02.jpg"), ("eq.jpg", "Equirectangular projection")]
    assert text == ["Here is the example."]
