"""The trained Inserter-R1 adapter that ships in the repository (``models/inserter-r1-lm``).

It was trained on the bundled SmolLM2-135M-Instruct, so it is used only with that base model:
``ComponentConfig(r1_adapter="auto")`` resolves to it when no other model is configured, and
r1 runs zero-shot when the folder is absent (an install without the repository checkout).

>>> resolve_adapter(None, lm_dir=None, lm_url=None) is None
True
>>> resolve_adapter("auto", lm_dir="some/other/model", lm_url=None) is None
True
"""
from __future__ import annotations

from pathlib import Path

AUTO = "auto"


def shipped_adapter() -> Path | None:
    """``models/inserter-r1-lm`` of the checkout this package is installed from, if it is there."""
    folder = Path(__file__).resolve().parents[3] / "models" / "inserter-r1-lm"
    return folder if (folder / "adapter_config.json").is_file() else None


def resolve_adapter(adapter: str | None, lm_dir: str | None, lm_url: str | None) -> str | None:
    """The adapter folder to load: an explicit path, the shipped one for ``auto`` on the bundled base, or None."""
    if adapter != AUTO:
        return adapter
    if lm_dir or lm_url:
        return None
    found = shipped_adapter()
    return str(found) if found else None
