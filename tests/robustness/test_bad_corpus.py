"""Corpora no one here wrote: every bad input is a located error (file, line or field), nothing is lost."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from bad_files import BAD_IMAGES, real_image
from conftest import write_mramg
from m2io.cli import cli
from m2io.corpus.check import check_folder
from m2io.corpus.mramg import read_dataset, write_dataset
from m2io.corpus.problems import Problems
from m2io.errors import DatasetError

GOOD_DOCS = [["d1", "Open the menu. <PIC> Then pick a layer.", ["i1"]], ["d2", "Export the file. <PIC>", ["i2"]]]
GOOD_QA = [{"id": 1, "question": "How?", "provenance": ["d1"], "ground_truth": "Open it. <PIC>", "images_list": ["i1"]}]


def corpus(root: Path, docs=None, qa=None, images: dict[str, bytes] | None = None) -> Path:
    images = images or {"i1": real_image(), "i2": real_image("JPEG")}
    (root / "images" / "DEMO").mkdir(parents=True, exist_ok=True)
    collection = {}
    for image_id, data in images.items():
        (root / "images" / "DEMO" / f"{image_id}.png").write_bytes(data)
        collection[image_id] = {"image_path": f"images/DEMO/{image_id}.png", "image_caption": f"caption {image_id}"}
    return write_mramg(root, docs=GOOD_DOCS if docs is None else docs, qa=GOOD_QA if qa is None else qa,
                       collection=collection)


def errors(root: Path) -> list[tuple[str, str]]:
    report = check_folder(root)
    return [(kind, str(e)) for kind, e in report.errors]


def test_a_good_corpus_is_clean(tmp_path):
    assert errors(corpus(tmp_path)) == []


@pytest.mark.parametrize("line,kind,where", [
    ('["d3", "broken', "malformed_json", "doc_demo.jsonl:3"),
    ('{"id": "d3", "content": "x"', "malformed_json", "doc_demo.jsonl:3"),  # truncated
    ('["d3", 5, []]', "bad_record", "doc_demo.jsonl:3"),
    ('["d1", "again <PIC>", ["i1"]]', "duplicate_id", "doc_demo.jsonl:3"),
    ('["d3", "two <PIC> marks <PIC>", ["i1"]]', "pic_mismatch", "doc_demo.jsonl:3"),
    ('["d3", "unknown <PIC>", ["nope"]]', "unknown_image", "doc_demo.jsonl:3"),
    ('[null, "x", []]', "bad_record", "doc_demo.jsonl:3"),
    ('"just a string"', "bad_record", "doc_demo.jsonl:3"),
])
def test_bad_document_lines_are_located(tmp_path, line, kind, where):
    root = corpus(tmp_path, docs=[*GOOD_DOCS, line])
    found = errors(root)
    assert [k for k, _ in found] == [kind] and where in found[0][1], found
    with pytest.raises(DatasetError, match=where.replace(".", r"\.")):
        read_dataset(root)  # strict readers stop at it, naming the line


def test_wrong_encodings(tmp_path):
    root = corpus(tmp_path)
    doc = root / "doc_demo.jsonl"
    doc.write_bytes(doc.read_bytes() + '["d3", "caf\u00e9 <PIC>", ["i1"]]\n'.encode("latin-1"))
    assert [(k, "doc_demo.jsonl:3" in m) for k, m in errors(root)] == [("encoding", True)]
    doc.write_bytes('\ufeff'.encode() + json.dumps(GOOD_DOCS[0]).encode() + b"\n")  # a UTF-8 BOM is fine
    assert errors(root) == []
    doc.write_bytes(json.dumps(GOOD_DOCS[0]).encode("utf-16"))
    assert "encoding" in {k for k, _ in errors(root)}
    (root / "images_info" / "demo_imgs_collection.json").write_bytes(b'{"i1": "\xff"}')
    assert ("encoding" in {k for k, _ in errors(root)})


def test_bad_qa_and_collection(tmp_path):
    root = corpus(tmp_path, qa=[GOOD_QA[0], {"id": 2, "question": "Q", "provenance": ["ghost"], "ground_truth": "A",
                                             "images_list": []}, {"id": 1, "question": "dup", "provenance": ["d1"],
                                                                  "ground_truth": "A", "images_list": []}])
    found = errors(root)
    assert [k for k, _ in found] == ["unknown_doc", "duplicate_id"]
    assert "demo_mqa.jsonl:2" in found[0][1] and "provenance" in found[0][1] and "demo_mqa.jsonl:3" in found[1][1]
    (root / "images_info" / "demo_imgs_collection.json").write_text('{"i1": {"image_path": ')
    assert [k for k, _ in errors(root)][0] == "malformed_json"


def test_empty_and_huge_documents(tmp_path):
    root = corpus(tmp_path, docs=[], qa=[])
    assert [k for k, _ in errors(root)] == ["empty"]
    huge = " ".join(["word"] * 300_000) + " <PIC>"
    root = corpus(tmp_path / "huge", docs=[["big", huge, ["i1"]], ["blank", "", []]], qa=[])
    assert errors(root) == []
    from m2io.corpus.chunk import ChunkConfig, chunk_document
    ds = read_dataset(root)
    chunks = chunk_document(ds.documents[0], ChunkConfig())
    assert len(chunks) > 1000 and sum(len(c.image_ids) for c in chunks) == 1
    assert chunk_document(ds.documents[1], ChunkConfig()) == []


@pytest.mark.parametrize("kind", sorted(BAD_IMAGES))
def test_bad_image_files_are_named(tmp_path, kind):
    root = corpus(tmp_path, images={"i1": real_image(), "i2": BAD_IMAGES[kind]})
    found = errors(root)
    assert [k for k, _ in found] == ["unreadable_image"] and "i2.png" in found[0][1], found


def test_one_pixel_image_is_kept_with_a_warning(tmp_path):
    root = corpus(tmp_path, images={"i1": real_image(size=(1, 1)), "i2": real_image()})
    report = check_folder(root)
    assert report.ok and [k for k, _ in report.warnings] == ["tiny_image"]


def test_symlinks_out_of_the_corpus_are_refused(tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(real_image())
    root = corpus(tmp_path / "c")
    link = root / "images" / "DEMO" / "i2.png"
    link.unlink()
    os.symlink(outside, link)
    found = errors(root)
    assert [k for k, _ in found] == ["outside_corpus"] and "i2" in found[0][1]
    collection = root / "images_info" / "demo_imgs_collection.json"
    data = json.loads(collection.read_text())
    data["i2"]["image_path"] = "../secret.png"
    link.unlink()
    collection.write_text(json.dumps(data))
    assert [k for k, _ in errors(root)] == ["outside_corpus"]


def test_a_failed_write_keeps_the_old_dataset(tmp_path):
    root = corpus(tmp_path / "src")
    ds = read_dataset(root)
    out = tmp_path / "out"
    write_dataset(ds, out)
    before = sorted((p.relative_to(out), p.read_bytes()) for p in out.rglob("*") if p.is_file())
    broken = read_dataset(root)
    broken.images["i1"] = type(broken.images["i1"])("i1", tmp_path / "gone.png", "x")  # the copy will fail
    with pytest.raises(OSError):
        write_dataset(broken, out)
    after = sorted((p.relative_to(out), p.read_bytes()) for p in out.rglob("*") if p.is_file())
    assert after == before


def test_cli_check_refuses_and_index_skips_only_the_bad_line(tmp_path):
    root = corpus(tmp_path / "bad", docs=[*GOOD_DOCS, '["d3", "broken'])
    runner = CliRunner()
    res = runner.invoke(cli, ["corpus", "check", str(root)])
    assert res.exit_code != 0 and "doc_demo.jsonl:3" in res.output
    index = tmp_path / "index"
    index.mkdir()
    (index / "keep.txt").write_text("already here")
    res = runner.invoke(cli, ["index", str(root), "--out", str(index)])
    assert res.exit_code == 0 and "doc_demo.jsonl:3" in res.output, res.output  # reported, then skipped
    assert "documents 2" in res.output and (index / "keep.txt").read_text() == "already here"


def test_problems_collects_everything_in_lenient_mode(tmp_path):
    root = corpus(tmp_path, docs=[*GOOD_DOCS, '["d3"', '["d1", "dup", []]', b"\xff".decode("latin-1")])
    problems = Problems(strict=False)
    read_dataset(root, problems=problems)
    assert problems.counts() == {"malformed_json": 2, "duplicate_id": 1}
