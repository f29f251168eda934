import numpy as np

from m2io.encoders.text import TextEncoder


def test_bundled_minilm():
    enc = TextEncoder()
    assert (enc.name, enc.dim) == ("all-MiniLM-L6-v2", 384)
    v = enc.encode(["open the layers dialog", "show the layers panel", "bananas are yellow"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.3
    assert enc.encode([]).shape == (0, 384)
    assert enc.count_tokens("open the layers dialog") == 5  # layers = layer + ##s
