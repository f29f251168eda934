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


def test_cached_vectors_equal_fresh_ones():
    enc, fresh = TextEncoder(cache_size=3), TextEncoder(cache_size=0)
    texts = ["open the layers dialog", "click OK", "open the layers dialog", "bananas", "crop the image"]
    first = enc.encode(texts[:3])
    assert len(enc._cache) == 2  # repeated texts are embedded once
    both = enc.encode(texts)  # 4 distinct texts > cache_size 3: encoded without the cache
    assert np.allclose(both, fresh.encode(texts), atol=1e-5) and np.allclose(both[:3], first, atol=1e-5)
    assert np.array_equal(enc.encode(["click OK", "click OK"])[0], enc.encode(["click OK"])[0])
