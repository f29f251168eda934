"""The page parser on markup from each common manual generator."""
from __future__ import annotations

from pathlib import Path

from m2io.corpus.manual.page import FigureBlock, TextBlock, parse_page_html, strip_caption_prefix, strip_numbering

BASE = Path("/manual")

DOCBOOK = """<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>4.2. Align</title>
<link rel="home" href="index.html" title="GNU Image Manipulation Program"/></head><body>
<div class="navheader"><table><tr><td><a href="p.html"><img src="images/prev.png" alt="Prev"/></a></td></tr></table></div>
<div class="sect2"><div class="titlepage"><h3 class="title"><a id="gimp-tool-align"></a>4.2. Align</h3></div>
<div class="figure"><a id="f1"></a><p class="title"><strong>Figure 14.120. The Align tool in toolbox</strong></p>
<div class="figure-contents"><div class="mediaobject"><img src="images/toolbox/align.png" alt="The Align tool"/></div></div></div>
<p>The Align tool is useful to <span class="emphasis"><em>align</em></span> layers.</p>
<div class="sect3"><h4 class="title"><a id="act"></a>4.2.1. Activating the Tool</h4>
<p>Click the tool icon: <span class="guiicon"><img src="images/toolbox/align-icon.png"/></span> in the toolbox.</p>
<div class="tip"><table><tr><td rowspan="2"><img alt="[Tip]" src="images/tip.png"/></td><th>Tip</th></tr>
<tr><td><p>Hold Shift to pick several layers.</p></td></tr></table></div>
<dl class="variablelist"><dt><span class="term">Relative to</span></dt>
<dd><div class="mediaobject"><img src="images/options/relative.png"/></div><p>Choose the target.</p></dd></dl>
</div></div>
<div class="navfooter"><img src="images/next.png" alt="Next"/></div></body></html>"""

PUBLICAN = """<html><head><title>6.5. Frontends</title>
<link rel="home" href="index.html" title="The Debian Administrator's Handbook"/></head><body>
<div id="banner"><a href="http://example.org"><span class="text">Download</span></a></div>
<p id="title"><a class="left" href="http://www.debian.org"><img alt="Product Site" src="Common_Content/images/image_left.png"/></a></p>
<ul class="docnav top"><li class="previous"><a href="a.html"><strong>Prev</strong></a></li></ul>
<div class="section"><div class="titlepage"><h2 class="title"><a id="sect.apt-frontends"></a>6.5. Frontends: <code>aptitude</code></h2></div>
<div class="para"><code class="command">aptitude</code> is an interactive program.</div>
<div class="figure"><div class="figure-contents"><div class="mediaobject"><img src="images/aptitude.png" alt="The aptitude package manager"/></div></div>
<p class="title"><strong>Figure 6.1. The <code class="command">aptitude</code> package manager</strong></p></div>
</div><ul class="docnav"><li class="up"><a href="#"><strong>Up</strong></a></li></ul></body></html>"""

ASCIIDOCTOR = """<!DOCTYPE html><html lang="en"><head><meta name="generator" content="Asciidoctor 2.0.18"><title>KiCad</title></head>
<body class="book toc2"><div id="header"><h1>Pcbnew</h1><div id="toc" class="toc2"><ul><li><a href="#_a">Intro</a></li></ul></div></div>
<div id="content"><div class="sect1"><h2 id="_installing">2. Installing KiCad</h2><div class="sectionbody">
<div class="sect2"><h3 id="settings">2.1. Importing settings</h3>
<div class="paragraph"><p>The first time you run a new version you are asked how to initialize the settings:</p></div>
<div class="imageblock"><div class="content"><img src="images/configure_settings.png" alt="configure settings"></div>
<div class="title">Figure 1. The settings dialog</div></div>
<div class="paragraph"><p>Use <span class="image"><img src="images/icons/zoom_in_24.png" alt="Zoom In icon"></span> to zoom.</p></div>
<div class="paragraph"><p><span class="image"><img src="images/pcbnew_ui.png" alt="pcbnew user interface"></span></p></div>
</div></div></div></div><div id="footer"><div id="footer-text">Last updated</div></div></body></html>"""

SPHINX = """<!DOCTYPE html><html lang="en"><head><title>Layers &#8212; Docs</title></head><body>
<div class="related" role="navigation"><ul><li><a href="index.html">index</a></li></ul></div>
<div class="body" role="main"><section id="layers"><h1>Layers<a class="headerlink" href="#layers">¶</a></h1>
<p>Layers stack images on top of each other.</p>
<figure class="align-default" id="id1"><img alt="_images/layers.png" src="_images/layers.png" />
<figcaption><p><span class="caption-text">The layers panel</span><a class="headerlink" href="#id1">¶</a></p></figcaption></figure>
<section id="masks"><h2>Masks<a class="headerlink" href="#masks">¶</a></h2><p>Masks hide parts of a layer.</p>
<img alt="A mask being painted" src="_images/mask.png" /></section></section></div>
<div class="sphinxsidebar" role="navigation"><img src="_static/logo.png" alt="Logo"/></div></body></html>"""

PLAIN = """<html><body><h1>My Tool</h1><p>Start it from the menu.</p>
<p><img src="shot.jpg" title="Main window"></p><p>Then quit.</p><footer><img src="badge.png"></footer></body></html>"""


def kinds(section):
    return [("T" if isinstance(b, TextBlock) else "F") for b in section.blocks]


def test_docbook_sections_figures_and_icons():
    page = parse_page_html(DOCBOOK, BASE)
    assert page.book == "GNU Image Manipulation Program" and page.title == "Align"
    align, activate = page.sections
    assert (align.title, align.level, align.anchor) == ("Align", 3, "gimp-tool-align")
    assert kinds(align) == ["F", "T"]
    fig = align.blocks[0]
    assert fig.src == Path("/manual/images/toolbox/align.png")
    assert (fig.caption, fig.caption_source) == ("The Align tool in toolbox", "title")
    assert align.blocks[1].text == "The Align tool is useful to align layers."
    assert activate.parents == ["Align"] and activate.title == "Activating the Tool"
    # The inline guiicon is not a figure; the tip icon stands alone and is kept for the decor filter.
    srcs = [b.src.name for b in activate.figures]
    assert srcs == ["tip.png", "relative.png"]
    relative = activate.figures[1]
    assert (relative.caption, relative.caption_source) == ("Relative to", "term")
    assert "Click the tool icon: in the toolbox." in [b.text for b in activate.blocks if isinstance(b, TextBlock)]


def test_publican_skips_banner_and_docnav():
    page = parse_page_html(PUBLICAN, BASE)
    (section,) = page.sections
    assert section.title == "Frontends: aptitude"
    assert [f.src.name for f in section.figures] == ["aptitude.png"]
    assert section.figures[0].caption == "The aptitude package manager"
    assert all("Prev" not in b.text and "Up" != b.text for b in section.blocks if isinstance(b, TextBlock))


def test_asciidoctor_imageblocks_and_paragraph_images():
    page = parse_page_html(ASCIIDOCTOR, BASE)
    assert page.book == "Pcbnew"
    titles = [s.title for s in page.sections]
    assert titles == ["Pcbnew", "Installing KiCad", "Importing settings"]
    settings = page.sections[2]
    assert settings.parents == ["Pcbnew", "Installing KiCad"]
    assert [(f.src.name, f.caption, f.caption_source) for f in settings.figures] == [
        ("configure_settings.png", "The settings dialog", "title"),
        ("pcbnew_ui.png", "pcbnew user interface", "alt")]
    assert kinds(settings) == ["T", "F", "T", "F"]
    assert all("Last updated" not in b.text for s in page.sections for b in s.blocks if isinstance(b, TextBlock))


def test_sphinx_figcaption_headerlinks_and_sidebar():
    page = parse_page_html(SPHINX, BASE)
    layers, masks = page.sections
    assert layers.title == "Layers" and masks.parents == ["Layers"]
    assert [(f.src.name, f.caption) for f in layers.figures] == [("layers.png", "The layers panel")]
    assert [(f.src.name, f.caption) for f in masks.figures] == [("mask.png", "A mask being painted")]
    assert "¶" not in " ".join(b.text for b in layers.blocks if isinstance(b, TextBlock))


def test_plain_html_title_attribute_and_footer():
    page = parse_page_html(PLAIN, BASE)
    (section,) = page.sections
    assert kinds(section) == ["T", "F", "T"]
    assert (section.figures[0].caption, section.figures[0].caption_source) == ("Main window", "title_attr")


def test_page_without_headings_becomes_one_section():
    page = parse_page_html("<html><head><title>3. Notes</title></head><body><p>Text here.</p>"
                           "<p><img src='a.png' alt='A diagram'></p></body></html>", BASE)
    (section,) = page.sections
    assert section.title == "Notes" and kinds(section) == ["T", "F"]


def test_numbering_and_caption_prefixes():
    assert strip_numbering("4.2.1. Activating the Tool") == "Activating the Tool"
    assert strip_numbering("Chapter 6. Maintenance") == "Maintenance"
    assert strip_numbering("A. Appendix stuff") == "Appendix stuff"
    assert strip_numbering("3D Transform") == "3D Transform"
    assert strip_numbering("Step 1 \u2013 Import media files") == "Import media files"
    assert strip_numbering("Mid-range - tones") == "Mid-range - tones"
    assert strip_caption_prefix("Figure 14.120. The Align tool") == "The Align tool"
    assert strip_caption_prefix("Figure 3: Board") == "Board"
    assert strip_caption_prefix("Figures of speech") == "Figures of speech"


LATEX2HTML = """<html><head><META NAME="Generator" CONTENT="LaTeX2HTML v2021"><title>Viewshed</title></head><body>
<!--Navigation Panel--><a name="tex2html1" href="node3.html"><img width="37" height="24" alt="next" src="next.png"></a>
<a href="node1.html"><img alt="up" src="up.png"></a><br><b> Next:</b> <a href="node3.html">Other</a><br><br>
<!--End of Navigation Panel-->
<h2><a name="SECTION0020">2 Viewshed analysis</a></h2>
<p>The viewshed shows what can be seen from a point, as Figure <a href="#fig:v">1</a> shows.</p>
<div align="center"><a name="fig:v"></a>
<table><caption align="bottom"><strong>Figure 1:</strong> Viewshed on shaded terrain</caption>
<tr><td><img width="400" height="300" border="0" src="img3.png" alt="Image viewshed"></td></tr></table></div>
<p>Then the analysis continues.</p>
<div align="center"><table><tr><td><img src="img5.png" alt="\\includegraphics[width=3in]{slope_map.eps}"></td></tr></table></div>
</body></html>"""


def test_latex2html_table_caption_and_latex_alt():
    s = parse_page_html(LATEX2HTML, BASE).sections[0]
    assert s.title == "Viewshed analysis"
    figs = s.figures
    assert [(f.src.name, f.caption, f.caption_source) for f in figs] == [
        ("img3.png", "Viewshed on shaded terrain", "caption_line"), ("img5.png", "slope map", "file_name")]
    texts = [b.text for b in s.blocks if isinstance(b, TextBlock)]
    assert not any("Viewshed on shaded terrain" in t for t in texts)  # the caption is not body text
    assert texts[0].startswith("The viewshed shows")
