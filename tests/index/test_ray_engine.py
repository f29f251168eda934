"""``--engine ray`` writes the rows the local engine writes: same ids, texts and vectors, same BM25 ids, same report.

One local Ray cluster (2 CPUs) serves the whole module: it starts in about 10 s here; every build on it starts its
own two actors, which load their models (about 10 s more on two cores).
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import make_png, pattern_png, write_mramg, write_tiny_corpus
from m2io.cli import cli
from m2io.index.build import IndexConfig, build_index
from m2io.index.manifest import IndexManifest
from m2io.index.snapshot import Snapshot, open_view
from m2io.store import open_store

KEYS = {"chunks": "id", "images": "id", "docs": "doc_id"}


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster of 2 CPUs for this module; engines reuse it and leave it running."""
    import ray

    from m2io.index.ray_engine import start_ray

    t0 = time.perf_counter()
    assert start_ray(num_cpus=2)
    print(f"\nRay started in {time.perf_counter() - t0:.1f} s")
    yield
    ray.shutdown()


def _corpus(root: Path) -> list[Path]:
    """The tiny corpus with one truncated image, and a dataset of int ids whose image 2, used by two documents,
    is missing."""
    tiny = write_tiny_corpus(root / "tiny")
    bad = tiny / "images" / "TINY" / "B.png"
    bad.write_bytes(bad.read_bytes()[:100])
    demo = root / "demo"
    make_png(demo / "images" / "DEMO" / "1.png", color="red")
    pattern_png(demo / "images" / "DEMO" / "3.png", seed=7)
    write_mramg(demo, docs=[[10, "Open the menu. <PIC> Pick a layer. <PIC>", [1, 2]],
                            [11, "Export the file. <PIC>", [3]],
                            [12, "Menus\nThe menu again, from the top. <PIC>", [2]]],
                collection={str(i): {"image_path": f"images/DEMO/{i}.png", "image_caption": f"caption {i}"}
                            for i in (1, 2, 3)})
    return [tiny, demo]


def _build(folders: list[Path], out: Path, engine=None):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        report = build_index(folders, out, IndexConfig(batch_docs=1), progress=False, engine=engine)
    return report, sorted(str(w.message) for w in caught if str(w.message).startswith("skipping image"))


@pytest.fixture(scope="module")
def built(ray_cluster, tmp_path_factory) -> dict:
    """The same corpus indexed by both engines: {engine: (index folder, report, skip warnings)}."""
    from m2io.index.ray_engine import ray_engine

    root = tmp_path_factory.mktemp("ray-vs-local")
    folders = _corpus(root / "corpus")
    out = {}
    for name, engine in [("local", None), ("ray", ray_engine(actors=2))]:
        out[name] = (root / name, *_build(folders, root / name, engine))
    return out


def _read(index: Path) -> tuple[dict[str, list[dict]], list[str]]:
    """Every row of the three tables (sorted by id) and the BM25 ids of the published snapshot."""
    m = IndexManifest.load(index)
    store = open_store(m.backend, index, m.text_dim, m.visual_dim)
    try:
        view = open_view(index, Snapshot.of(m.snapshot), store)
        tables = {t: sorted(store.tables[t].to_arrow().to_pylist(), key=lambda r: r[k]) for t, k in KEYS.items()}
        return tables, list(view.bm25.ids)
    finally:
        store.close()


def _same_rows(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert ra.keys() == rb.keys()
        for col, va in ra.items():
            vb = rb[col]
            if isinstance(va, list) and va and isinstance(va[0], float):
                np.testing.assert_allclose(va, vb, atol=1e-5, err_msg=f"{ra.get('id', ra.get('doc_id'))}.{col}")
            else:
                assert va == vb, (ra.get("id", ra.get("doc_id")), col)


def test_ray_rows_equal_local_rows(built):
    (local, local_report, _), (ray, ray_report, _) = built["local"], built["ray"]
    local_tables, local_bm25 = _read(local)
    ray_tables, ray_bm25 = _read(ray)
    for table in KEYS:
        _same_rows(local_tables[table], ray_tables[table])
    assert [len(local_tables[t]) for t in KEYS] == [7, 9, 7]
    assert ray_bm25 == local_bm25 and len(local_bm25) == 7  # in the same order too: Ray keeps the todo order
    fields = ("documents", "indexed", "unchanged", "deleted", "purged", "chunks", "images", "problems")
    counts = [tuple(getattr(r, f) for f in fields) for r in (ray_report, local_report)]
    assert counts[0] == counts[1] == (7, 7, 0, 0, 0, 7, 9, [])
    assert ray_report.encode_seconds > 0


def test_skipped_images_reported_alike(built):
    (_, local_report, local_warned), (_, ray_report, ray_warned) = built["local"], built["ray"]
    assert sorted(ray_report.images_skipped) == sorted(local_report.images_skipped)
    assert len(local_report.images_skipped) == 2  # image 2 of demo once, though two documents (two actors) use it
    assert any("B.png: not a readable image" in s for s in local_report.images_skipped)
    assert any("demo: image '2': file missing" in s for s in local_report.images_skipped)
    assert ray_warned == local_warned and len(ray_warned) == 2


def test_cli_engine_ray(ray_cluster, tmp_path: Path):
    corpus = write_tiny_corpus(tmp_path / "tiny")
    runner = CliRunner()
    result = runner.invoke(cli, ["index", str(corpus), "--out", str(tmp_path / "index"), "--engine", "ray",
                                 "--ray-cpus", "2", "--ray-actors", "2", "--batch-docs", "2"])
    assert result.exit_code == 0, result.output
    assert "documents 4: indexed 4, unchanged 0" in result.output and "chunks 4, image occurrences 5" in result.output
    assert "docs/s per actor while encoding" in result.output
    again = runner.invoke(cli, ["index", str(corpus), "--out", str(tmp_path / "index"), "--engine", "ray"])
    assert again.exit_code == 0 and "indexed 0, unchanged 4" in again.output  # nothing to encode: no actors


@pytest.mark.parametrize("args, message", [
    (["--engine", "ray", "--ray-address", "127.0.0.1:1"], "Invalid value for --ray-address: Ray address "
                                                           "'127.0.0.1:1': nothing answers there"),
    (["--engine", "ray", "--ray-address", "nowhere"], "Invalid value for --ray-address: Ray address 'nowhere': "
                                                       "expected host:port"),
    (["--ray-actors", "2"], "--ray-actors: only with --engine ray"),
])
def test_cli_bad_ray_options(args, message, tmp_path: Path):
    corpus = write_tiny_corpus(tmp_path / "tiny")
    result = CliRunner().invoke(cli, ["index", str(corpus), "--out", str(tmp_path / "index"), *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "index").exists()
