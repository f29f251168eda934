"""The grounded unified model that ships in the repository (``models/unified``): LoRA on the bundled
SmolLM2-135M-Instruct plus the added tokens' rows, the image tokenizer and the vocabulary map.

``m2io ask --generator unified``, ``m2io serve`` and the API use it when no other model is named,
so a fresh clone answers with the unified model without a training run.

>>> resolve_unified("some/folder")
'some/folder'
"""
from __future__ import annotations

from pathlib import Path

from m2io.unified.model import UNIFIED_FILE


def shipped_unified() -> Path | None:
    """``models/unified`` of the checkout this package is installed from, if it is there."""
    folder = Path(__file__).resolve().parents[3] / "models" / "unified"
    return folder if (folder / UNIFIED_FILE).is_file() else None


def resolve_unified(folder: str | Path | None) -> str | None:
    """An explicit model folder, else the shipped one (None when neither is there)."""
    if folder:
        return str(folder)
    found = shipped_unified()
    return str(found) if found else None
