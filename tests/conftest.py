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


def pattern_png(path: Path, seed: int, size: tuple[int, int] = (160, 120)) -> Path:
    """A distinct picture per seed: random coloured blocks, so visual vectors differ."""
    import numpy as np

    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(blocks).resize(size, PILImage.NEAREST).save(path)
    return path


TINY_DOCS = [
    ("layers", "Layers\nA layer is a transparent sheet stacked with others to build an image. <PIC>\n"
               "Reorder layers by dragging them in the Layers dialog.", ["L"], "The Layers dialog with three layers"),
    ("brush", "Brushes\nBrushes paint with a tip shape. Pick a brush size before you stroke. <PIC>", ["B"],
     "The brush tip selector"),
    ("export", "Exporting\nExport writes the image as PNG or JPEG files for other programs. <PIC>\n"
               "The export dialog asks for a file name. <PIC>", ["E1", "E2"], "The export dialog"),
    ("crop", "Cropping\nThe crop tool cuts away the borders of a photo to frame the subject. <PIC>", ["C"],
     "A photo being cropped"),
]


def write_tiny_corpus(root: Path, name: str = "tiny") -> Path:
    """Four short documents on distinct topics, five distinct images, one QA item per document."""
    collection, docs, qa = {}, [], []
    for n, (doc_id, content, images, caption) in enumerate(TINY_DOCS):
        for k, image_id in enumerate(images):
            pattern_png(root / "images" / name.upper() / f"{image_id}.png", seed=10 * n + k)
            collection[image_id] = {"image_path": f"images/{name.upper()}/{image_id}.png",
                                    "image_caption": caption if k == 0 else f"{caption}, second step"}
        docs.append([doc_id, content, images])
        title = content.split("\n", 1)[0]
        qa.append({"id": n + 1, "question": f"How do I use {title.lower()}?", "provenance": [doc_id],
                   "ground_truth": content.split("\n", 1)[1], "images_list": images})
    out = write_mramg(root, name=name, docs=docs, qa=qa, collection=collection)
    # The sources sidecar names three documents; "crop" has none, so its id stands in for it.
    sidecar = [{"id": d, "manual": "Tiny Paint Manual", "page": t, "heading_path": ["Basics", t], "file": f"{d}.html"}
               for d, t in [("layers", "Layers"), ("brush", "Brushes"), ("export", "Exporting")]]
    (out / f"{name}_sources.jsonl").write_text("".join(json.dumps(r) + "\n" for r in sidecar))
    return out


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    return write_tiny_corpus(tmp_path / "tiny")


@pytest.fixture(scope="session")
def pg_dsn(tmp_path_factory) -> str:
    """A real PostgreSQL server with pgvector, started by pgserver for this test session."""
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


_pg_prefix_counter = iter(range(10 ** 6))


@pytest.fixture(params=["lancedb", "pgvector"])
def backend(request) -> dict:
    """Settings of one store backend; every pgvector test gets its own table prefix."""
    if request.param == "lancedb":
        return {"backend": "lancedb", "pg_dsn": "", "pg_prefix": "m2io"}
    return {"backend": "pgvector", "pg_dsn": request.getfixturevalue("pg_dsn"),
            "pg_prefix": f"t{next(_pg_prefix_counter)}"}


def tiny_clip(folder: Path) -> Path:
    """A CLIP vision tower with random weights, built from a config (no download)."""
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    config = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                              image_size=32, patch_size=8, projection_dim=16)
    CLIPVisionModelWithProjection(config).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct, converted once from the GGUF shipped on PyPI into the m2io cache."""
    from m2io.lm.local import default_model_dir

    return default_model_dir()


@pytest.fixture(scope="session")
def local_lm(smollm2_dir):
    from m2io.lm.local import LocalChatModel

    return LocalChatModel(smollm2_dir)


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory, smollm2_dir) -> Path:
    """A one-layer Llama with random weights and SmolLM2's tokenizer: a real model that writes noise."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(str(smollm2_dir))
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=4096,
                         eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_index(tmp_path_factory) -> Path:
    """The tiny corpus, indexed once (LanceDB) for pipeline and evaluation tests; do not modify."""
    from m2io.index.build import IndexConfig, build_index

    root = tmp_path_factory.mktemp("tiny-indexed")
    corpus = write_tiny_corpus(root / "tiny")
    build_index([corpus], root / "index", IndexConfig(), progress=False)
    return root


@pytest.fixture(scope="module")
def tiny_retriever(tiny_index):
    """A retriever over the tiny index, one per test module."""
    from m2io.retrieve import Retriever

    r = Retriever.open(tiny_index / "index")
    yield r
    r.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(args: list[str], ready_path: str, timeout: float = 180.0, log: Path | None = None):
    """Start ``python -m m2io.cli ARGS --port P`` and wait until ``ready_path`` answers 200; (process, base URL).

    ``log``: a file for the server's stderr (its log lines), read by tests that check them.
    """
    import subprocess
    import sys
    import time

    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "m2io.cli", *args, "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=open(log, "wb") if log else subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(base + ready_path, timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
        if proc.poll() is not None:
            raise RuntimeError(log.read_text() if log else proc.stderr.read().decode())
    proc.kill()
    raise RuntimeError(f"{args[0]} did not start in {timeout:.0f} s")


def stop_server(proc) -> None:
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="session")
def serve_lm(smollm2_dir) -> str:
    """A real `m2io serve-lm` on loopback serving SmolLM2-135M-Instruct; yields its /v1 base URL."""
    proc, base = start_server(["serve-lm", "--model", str(smollm2_dir)], "/v1/models")
    yield base + "/v1"
    stop_server(proc)


API_TOKEN = "s3cret-token"


@pytest.fixture(scope="session")
def m2io_server(tiny_index, tiny_lm_dir) -> str:
    """A real `m2io serve` over the tiny index: a token, rule by default, the noise LM, 64 KiB uploads, no unified
    model (not even the shipped one)."""
    proc, base = start_server(["serve", "--index", str(tiny_index / "index"), "--token", API_TOKEN,
                               "--default-inserter", "rule", "--lm", str(tiny_lm_dir), "--max-upload-mb", "0.0625",
                               "--max-body-mb", "0.125", "--no-unified"], "/health")
    yield base
    stop_server(proc)


@pytest.fixture(scope="session")
def tiny_unified_dir(tmp_path_factory, tiny_lm_dir) -> Path:
    """A unified model folder as it ships (LoRA and the added rows): the one-layer noise Llama with an untrained
    8-channel image tokenizer's codes and 16 reference tokens."""
    import torch

    from m2io.unified.model import UnifiedModel
    from m2io.unified.tokenizer import ImageTokenizer, TokenizerConfig

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-unified")
    model = UnifiedModel.from_base(tiny_lm_dir, ImageTokenizer(TokenizerConfig(channels=8)), references=16)
    model.add_lora(r=2)
    model.save(folder)
    return folder


@pytest.fixture(scope="session")
def unified_server(tiny_index, tiny_unified_dir) -> str:
    """A real `m2io serve --unified-model` over the tiny index, with the tiny unified model (no token), in windows of
    6 passage words (a tiny section is a few windows)."""
    proc, base = start_server(["serve", "--index", str(tiny_index / "index"), "--default-inserter", "rule",
                               "--unified-model", str(tiny_unified_dir), "--passage-words", "6", "--windows", "3"],
                              "/health")
    yield base
    stop_server(proc)
