from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from conftest import pattern_png, tiny_clip
from m2io.encoders.image import ClipImageEncoder, EfficientNetLiteEncoder, ImageError, imagenet_label_names, load_image


def test_load_image_errors_name_the_file(tmp_path: Path):
    (tmp_path / "notes.png").write_text("this is text")
    with pytest.raises(ImageError, match=r"notes.png: not a readable image"):
        load_image(tmp_path / "notes.png")
    good = pattern_png(tmp_path / "good.png", seed=1)
    (tmp_path / "cut.png").write_bytes(good.read_bytes()[:200])
    with pytest.raises(ImageError, match=r"cut.png: not a readable image"):
        load_image(tmp_path / "cut.png")
    with pytest.raises(ImageError, match="image file not found"):
        load_image(tmp_path / "nope.png")


def test_transparency_goes_over_white(tmp_path: Path):
    PILImage.new("RGBA", (4, 4), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    assert load_image(tmp_path / "clear.png").getpixel((0, 0)) == (255, 255, 255)


@pytest.fixture(scope="module")
def effnet():
    return EfficientNetLiteEncoder()


def test_efficientnet_features(effnet, tmp_path: Path):
    a, b = (load_image(pattern_png(tmp_path / f"{s}.png", seed=s)) for s in (1, 2))
    feats = effnet.encode([a, b, a])
    assert feats.visual.shape == (3, 1280) and feats.probs.shape == (3, 1000)
    assert np.allclose(np.linalg.norm(feats.visual, axis=1), 1, atol=1e-5)
    assert np.allclose(feats.probs.sum(1), 1, atol=1e-4)
    assert float(feats.visual[0] @ feats.visual[2]) == pytest.approx(1.0, abs=1e-5)
    assert float(feats.visual[0] @ feats.visual[1]) < 0.99
    assert effnet.encode([]).visual.shape == (0, 1280)


def test_imagenet_labels():
    labels = imagenet_label_names()
    assert len(labels) == 1000 and labels[0] == "tench" and labels[999] == "toilet tissue"


def _tiny_siglip(folder: Path) -> Path:
    from transformers import SiglipImageProcessor, SiglipVisionConfig, SiglipVisionModel

    config = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                                image_size=32, patch_size=8)
    SiglipVisionModel(config).save_pretrained(folder)
    SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("build,dim,kind", [(tiny_clip, 16, "clip"), (_tiny_siglip, 32, "siglip")])
def test_clip_and_siglip_path_on_tiny_models(build, dim, kind, tmp_path: Path):
    enc = ClipImageEncoder(build(tmp_path / "model"))
    assert enc.kind == kind and enc.visual_dim == dim and enc.name == f"{kind}:model"
    a, b = (load_image(pattern_png(tmp_path / f"{s}.png", seed=s)) for s in (1, 2))
    feats = enc.encode([a, b, a])
    assert feats.visual.shape == (3, dim) and feats.probs is None
    assert np.allclose(np.linalg.norm(feats.visual, axis=1), 1, atol=1e-5)
    assert float(feats.visual[0] @ feats.visual[2]) == pytest.approx(1.0, abs=1e-5)
