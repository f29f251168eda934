from pathlib import Path

import numpy as np
import pytest

from m2io.encoders.bridge import ImageAdapter, ImageMix, LabelBridge, mix_vectors, train_adapter, unit
from m2io.errors import M2IOError


def test_label_bridge_weights_top_k_labels():
    emb = np.eye(4, dtype=np.float32)
    bridge = LabelBridge(emb, top_k=2)
    out = bridge(np.array([[0.6, 0.1, 0.3, 0.0]], dtype=np.float32))
    assert out[0].tolist() == pytest.approx((np.array([0.6, 0, 0.3, 0]) / np.hypot(0.6, 0.3)).tolist())


def test_mix_drops_missing_parts_and_renormalises():
    v, c, x = np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), np.array([0, 0, 1.0])
    out = mix_vectors([v, c, x], ImageMix(visual=0.2, caption=0.5, context=0.3))
    assert out.tolist() == pytest.approx((np.array([0.2, 0.5, 0.3]) / np.linalg.norm([0.2, 0.5, 0.3])).tolist())
    assert mix_vectors([None, c, None], ImageMix()).tolist() == pytest.approx([0, 1, 0])
    with pytest.raises(ValueError):
        mix_vectors([None, None, None], ImageMix())


def test_adapter_learns_a_linear_relation_and_round_trips(tmp_path: Path):
    rng = np.random.default_rng(0)
    visual = unit(rng.normal(size=(400, 64)))
    text = unit(visual @ rng.normal(size=(64, 16)) + 0.01 * rng.normal(size=(400, 16)))
    adapter, stats = train_adapter(visual, text, epochs=40, meta={"image_encoder": "test"})
    assert stats["val_recall@1_before"] < 0.2 < 0.9 < stats["val_recall@1"]
    adapter.save(tmp_path / "a.npz")
    back = ImageAdapter.load(tmp_path / "a.npz")
    assert np.allclose(back(visual[:3]), adapter(visual[:3])) and back.meta["image_encoder"] == "test"
    with pytest.raises(M2IOError, match="expects 64-d visual features, got 8-d"):
        back(np.ones((1, 8), np.float32))


def test_adapter_errors(tmp_path: Path):
    with pytest.raises(M2IOError, match="at least 10 captioned images"):
        train_adapter(np.ones((3, 4)), np.ones((3, 2)))
    (tmp_path / "x.npz").write_bytes(b"junk")
    with pytest.raises(M2IOError, match="not an m2io image adapter"):
        ImageAdapter.load(tmp_path / "x.npz")
