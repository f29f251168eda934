"""Build real manuals from Debian packages (downloaded once into the m2io cache)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image as PILImage

from m2io.corpus.check import check_folder
from m2io.corpus.manual.build import ManualConfig, build_manual_dataset
from m2io.corpus.manual.debian import default_cache_dir, fetch_package
from m2io.corpus.mramg import write_dataset

pytestmark = pytest.mark.corpus
NAV_OR_ADMONITION = re.compile(r"(^|__)(prev|next|up|home|note|tip|caution|important|warning)\.(png|gif)$")


@pytest.fixture(scope="module", params=[
    # package, name, min documents, min images, min multi-image QA
    ("gimp-help-en", "gimp", 700, 1500, 250),
    ("kicad-doc-en", "kicad", 150, 250, 40),
    ("debian-handbook", "debhandbook", 30, 40, 5),
    ("grass-doc", "grass", 220, 300, 50),  # centred images with italic captions, repeated section titles
    ("gnumeric-doc", "gnumeric", 180, 280, 40),  # DocBook XML, no HTML
])
def built(request, tmp_path_factory):
    package, name, *minimums = request.param
    root = fetch_package(package, default_cache_dir())
    ds, report = build_manual_dataset(root, ManualConfig(name=name))
    out = tmp_path_factory.mktemp(name)
    write_dataset(ds, out)
    return ds, report, out, minimums


def test_real_manual_is_a_valid_dataset(built):
    ds, report, out, (min_docs, min_images, min_multi) = built
    check = check_folder(out)
    assert check.ok, [str(e) for _, e in check.errors[:5]]
    stats = check.stats[0]
    assert stats.documents >= min_docs and stats.images >= min_images and stats.multi_image_qa >= min_multi
    assert stats.qa >= 0.9 * stats.documents


def test_real_manual_images_are_content(built):
    ds, report, _, _ = built
    for image in ds.images.values():
        assert not NAV_OR_ADMONITION.search(image.id), image.id
        with PILImage.open(image.path) as im:
            assert max(im.size) >= 40, (image.id, im.size)
    authored = sum(report.caption_sources[k] for k in ("title", "caption_line", "table_cell", "alt", "title_attr",
                                                       "term"))
    assert authored / report.figures_kept >= 0.9  # captions written by the manual's authors
    assert all(image.caption.strip() for image in ds.images.values())


def test_real_manual_qa_marks_gold_positions(built):
    ds, _, _, _ = built
    for q in ds.qa:
        assert q.ground_truth.count("<PIC>") == len(q.image_ids) >= 1
        assert q.question.endswith("?") and len(q.question) < 300


def test_real_manual_sources_name_pages_and_heading_paths(built):
    ds, _, _, _ = built
    assert set(ds.sources) == {d.id for d in ds.documents}
    labels = [s.label for s in ds.sources.values()]
    assert len(set(labels)) >= 0.9 * len(labels)  # sections are told apart by their heading paths
    if ds.name == "grass":
        assert ds.sources["d.background#examples"].label == "GRASS GIS manual \u203a d.background: Examples"
