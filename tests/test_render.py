from __future__ import annotations

import json
from pathlib import Path

from conftest import make_png
from m2io.answer.base import Answer
from m2io.insert.base import InsertResult
from m2io.pipeline import AskResult
from m2io.render import blocks, render
from m2io.types import Candidate, Image, InterleavedAnswer, Placement


def _result(tmp_path: Path) -> AskResult:
    png = make_png(tmp_path / "a.png", (30, 20))
    cands = [Candidate(1, Image("a", png, "Dialog <b>")), Candidate(2, Image("b", tmp_path / "gone.png", ""))]
    answer = InterleavedAnswer(["Open it.", "Click OK.", "Done."], [Placement("a", 1), Placement("b", 3)], ["d/x"])
    return AskResult("How & why?", None, answer, cands, [], Answer("Open it. Click OK. Done."),
                     InsertResult(answer.placements, raw_output="<plan><img1>@1 <img2>@3</plan>", model_calls=1,
                                  tokens_generated=9), {"retrieve": 0.01, "answer": 0.02, "insert": 0.03, "total": 0.06})


def test_blocks_group_text_between_images():
    a = InterleavedAnswer(["A.", "B.", "C."], [Placement("x", 0), Placement("y", 2), Placement("z", 2)])
    assert blocks(a) == [("image", "x"), ("text", "A. B."), ("image", "y"), ("image", "z"), ("text", "C.")]
    assert blocks(InterleavedAnswer(["A."])) == [("text", "A.")]


def test_html_is_self_contained_with_images_in_place(tmp_path: Path):
    page = render(_result(tmp_path), "html", "r1", "extractive")
    assert page.index("<p>Open it.</p>") < page.index('data-image-id="a"') < page.index("<p>Click OK. Done.</p>")
    assert 'src="data:image/png;base64,' in page and "Dialog &lt;b&gt;" in page and "How &amp; why?" in page
    assert "image b: file not readable" in page and '<li id="source-1">d/x</li>' in page and "http" not in page


def test_json_lists_segments_placements_and_timings(tmp_path: Path):
    data = json.loads(render(_result(tmp_path), "json", "r1", "extractive"))
    assert data["segments"] == ["Open it.", "Click OK.", "Done."]
    assert data["placements"][0] == {"image_id": "a", "slot": 1, "k": 1, "caption": "Dialog <b>",
                                      "file": str(tmp_path / "a.png")}
    assert data["timings_ms"] == {"retrieve": 10.0, "answer": 20.0, "insert": 30.0, "total": 60.0}
    assert data["model_calls"] == 1 and data["tokens_generated"] == 9


def test_markdown(tmp_path: Path):
    md = render(_result(tmp_path), "md")
    assert md.splitlines()[:5] == ["**How & why?**", "", "Open it.", "", f"![Dialog <b>]({tmp_path / 'a.png'})"]


def test_sources_are_listed_by_manual_and_heading_path(tmp_path: Path):
    result = _result(tmp_path)
    result.answer.sources.append("d/y")
    result.answer.source_labels.extend(["Paint Manual \u203a Tools > Crop", "d/y"])
    page = render(result, "html", "rule", "extractive")
    assert ('<li id="source-1">Paint Manual \u203a Tools &gt; Crop <small>d/x</small></li>' in page
            and '<li id="source-2">d/y</li>' in page)
    md = render(result, "md", "rule", "extractive")
    assert "1. Paint Manual \u203a Tools > Crop (d/x)" in md and "2. d/y" in md
    assert json.loads(render(result, "json", "rule", "extractive"))["source_labels"][0].startswith("Paint Manual")


def test_each_paragraph_names_the_sections_it_came_from(tmp_path: Path):
    from m2io.types import Origin

    result = _result(tmp_path)
    result.answer.sources.append("d/y")
    result.answer.source_labels.extend(["Manual \u203a Crop", "Manual \u203a Export"])
    result.answer.provenance.extend([Origin("d/x", "d/x::0", 0), Origin("d/x", "d/x::0", 1), Origin("d/y", "", 0, 0.7)])
    page = render(result, "html", "r1", "focused")
    assert '<p>Open it.<sup class="ref"><a href="#source-1" title="Manual \u203a Crop">1</a></sup></p>' in page
    assert 'Click OK. Done.<sup class="ref"><a href="#source-1"' in page and '<a href="#source-2"' in page
    assert '<li id="source-1">Manual \u203a Crop <small>d/x</small> <em>(in the answer)</em></li>' in page
    md = render(result, "md")
    assert "Open it. [1]" in md and "Click OK. Done. [1][2]" in md
    data = json.loads(render(result, "json"))
    assert data["provenance"][2] == {"source": 1, "section": "d/y", "chunk": "", "position": 0, "score": 0.7}
