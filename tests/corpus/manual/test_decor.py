from m2io.corpus.manual.decor import DecorRules, decor_reason, image_size

from conftest import make_png


def test_reasons():
    assert decor_reason("[Note]", (48, 48)) == "admonition_icon"
    assert decor_reason("", (48, 48), file_stem="warning") == "admonition_icon"
    assert decor_reason("Next", (300, 40)) == "navigation_icon"
    assert decor_reason("A dialog", (39, 200)) is None
    assert decor_reason("A dialog", (38, 38)) == "tiny"
    assert decor_reason("A rule", (200, 7)) == "tiny"  # 1400 px < 40*40
    assert decor_reason("A dialog", (38, 38), rules=DecorRules(min_side=32, min_area=0)) is None
    assert decor_reason("Warning dialog", (400, 300), file_stem="paste-warning") is None


def test_image_size(tmp_path):
    assert image_size(make_png(tmp_path / "a.png", (30, 20))) == (30, 20)
    (tmp_path / "bad.png").write_bytes(b"nope")
    (tmp_path / "v.svg").write_text("<svg/>")
    assert image_size(tmp_path / "bad.png") is None and image_size(tmp_path / "v.svg") is None
    assert image_size(tmp_path / "missing.png") is None
