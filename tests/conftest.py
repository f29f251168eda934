"""Shared fixtures: small real images and datasets written to tmp folders."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image as PILImage

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def make_png(path: Path, size: tuple[int, int] = (120, 80), color: str = "red") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.new("RGB", size, color).save(path)
    return path


def write_mramg(root: Path, name: str = "demo", docs: list | None = None, qa: list | None = None,
                collection: dict | None = None) -> Path:
    """Write raw MRAMG files (lists of JSON-able rows) so tests can break them on purpose."""
    root.mkdir(parents=True, exist_ok=True)
    if docs is not None:
        (root / f"doc_{name}.jsonl").write_text("".join(
            (row if isinstance(row, str) else json.dumps(row)) + "\n" for row in docs))
    if qa is not None:
        (root / f"{name}_mqa.jsonl").write_text("".join(
            (row if isinstance(row, str) else json.dumps(row)) + "\n" for row in qa))
    if collection is not None:
        (root / "images_info").mkdir(exist_ok=True)
        (root / "images_info" / f"{name}_imgs_collection.json").write_text(json.dumps(collection))
    return root


@pytest.fixture
def good_dataset(tmp_path: Path) -> Path:
    """A valid two-document dataset with int ids, three images and one multi-image QA item."""
    root = tmp_path / "ds"
    for i, color in [(1, "red"), (2, "green"), (3, "blue")]:
        make_png(root / "images" / "DEMO" / f"{i}.png", color=color)
    return write_mramg(
        root,
        docs=[[10, "Open the menu. <PIC> Pick a layer. <PIC>", [1, 2]],
              {"id": 11, "content": "Export the file. <PIC>", "images_list": [3]}],
        qa=[{"id": 1, "question": "How do I pick a layer?", "provenance": [10],
             "ground_truth": "Open the menu. <PIC> Then pick one. <PIC>", "images_list": [1, 2]},
            {"id": 2, "question": "How do I export?", "provenance": [11],
             "ground_truth": "Export it.", "images_list": [3]}],
        collection={str(i): {"image_path": f"images/DEMO/{i}.png", "image_caption": f"caption {i}"}
                    for i in (1, 2, 3)})
