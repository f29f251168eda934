"""Which r1 adapter loads: explicit folders, the shipped one for auto on the bundled base, none otherwise."""
from m2io.insert.shipped import resolve_adapter, shipped_adapter


def test_resolve_adapter():
    assert resolve_adapter("runs/x", lm_dir="m", lm_url=None) == "runs/x"
    assert resolve_adapter(None, lm_dir=None, lm_url=None) is None
    assert resolve_adapter("auto", lm_dir="other-model", lm_url=None) is None  # trained on another base
    assert resolve_adapter("auto", lm_dir=None, lm_url="http://h/v1") is None
    found = shipped_adapter()
    assert resolve_adapter("auto", lm_dir=None, lm_url=None) == (str(found) if found else None)
