"""The grounded unified model that ships in the repository (``models/unified``): LoRA on the bundled
SmolLM2-135M-Instruct plus the added tokens' rows (the warm-up, in ``parent/``), GRPO's LoRA over it, the image
tokenizer and the vocabulary map.

``m2io ask --generator unified``, ``m2io serve`` and the API use it when no other model is named,
so a fresh clone answers with the unified model without a training run. :func:`ship_unified` writes it from a
run folder: a warm-up's adapter, or a GRPO run's adapter with the warm-up it grew from inside (``parent/``: its
adapter and vocabulary only, the tokenizers are the top folder's), so that no path outside the folder is named.

>>> resolve_unified("some/folder")
'some/folder'
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from m2io.unified.model import ADAPTER_CONFIG, CODEC_DIR, UNIFIED_FILE

ADAPTER = (ADAPTER_CONFIG, "adapter_model.safetensors", UNIFIED_FILE)
"""What a LoRA folder of the chain needs to be merged."""
TOP = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", CODEC_DIR)
RECORDS = ("m2io-train.json", "metrics.jsonl", "curves.png")
PARENT_DIR = "parent"


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


def ship_unified(run: str | Path, out: str | Path) -> Path:
    """Replace ``out`` with the model of ``run`` (a LoRA folder) as it ships: its adapter, tokenizers, vocabulary
    and records, and, for an adapter over a parent folder (a GRPO run over its warm-up), the parent's adapter and
    vocabulary in ``out/parent`` (recursively), named by a relative path. Returns ``out``."""
    run, out = Path(run), Path(out)
    if not (run / ADAPTER_CONFIG).is_file():
        raise ValueError(f"{run}: not a LoRA model folder (no {ADAPTER_CONFIG}); a full model (540 MB) does not ship")
    partial = out.with_name(out.name + ".partial")  # the shipped folder is replaced only once the copy is whole
    if partial.exists():
        shutil.rmtree(partial)
    try:
        _copy_chain(run, partial, TOP)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    return out


def _copy_chain(folder: Path, out: Path, extra: tuple[str, ...]) -> None:
    out.mkdir(parents=True)
    for name in ADAPTER + extra + RECORDS:
        source = folder / name
        if source.is_dir():
            shutil.copytree(source, out / name)
        elif source.is_file():
            shutil.copy2(source, out / name)
        elif name in ADAPTER + extra:
            raise FileNotFoundError(f"{source} is missing: the folder cannot ship without it")
    meta = json.loads((folder / UNIFIED_FILE).read_text())
    if meta.get("parent"):
        parent = folder / meta["parent"]  # an absolute parent stays itself
        if not (parent / ADAPTER_CONFIG).is_file():
            raise ValueError(f"{folder}: its parent {parent} is not a LoRA folder")
        _copy_chain(parent, out / PARENT_DIR, ())
        meta["parent"] = PARENT_DIR
        (out / UNIFIED_FILE).write_text(json.dumps(meta, indent=1) + "\n")
