from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import make_png, write_mramg
from m2io.corpus.mramg import Dataset, IdStyle, read_dataset, write_dataset
from m2io.corpus.problems import Problems
from m2io.errors import DatasetError
from m2io.types import Document, Image, QAItem


def test_reads_arrays_objects_and_int_ids(good_dataset: Path):
    ds = read_dataset(good_dataset)
    assert ds.name == "demo"
    assert [d.id for d in ds.documents] == ["10", "11"]
    assert ds.documents[0].image_ids == ["1", "2"]
    assert ds.documents[1].content == "Export the file. <PIC>"
    assert ds.qa[0].provenance == ["10"] and ds.qa[0].image_ids == ["1", "2"]
    assert ds.images["2"].caption == "caption 2" and ds.images["2"].path.is_file()
    assert ds.id_style == IdStyle(doc_int=True, image_int=True, qa_int=True)


def test_round_trip_is_equal_and_byte_stable(good_dataset: Path, tmp_path: Path):
    ds = read_dataset(good_dataset)
    write_dataset(ds, tmp_path / "a")
    back = read_dataset(tmp_path / "a")
    assert back.documents == ds.documents and back.qa == ds.qa and back.id_style == ds.id_style
    assert {k: v.caption for k, v in back.images.items()} == {k: v.caption for k, v in ds.images.items()}
    assert all(back.images[k].path.read_bytes() == ds.images[k].path.read_bytes() for k in ds.images)
    # Written int ids stay ints in the file, and a second write gives the same bytes.
    first_line = json.loads((tmp_path / "a" / "doc_demo.jsonl").read_text().splitlines()[0])
    assert first_line == [10, "Open the menu. <PIC> Pick a layer. <PIC>", [1, 2]]
    write_dataset(back, tmp_path / "b")
    for rel in ["doc_demo.jsonl", "demo_mqa.jsonl", "images_info/demo_imgs_collection.json"]:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_string_ids_round_trip(tmp_path: Path):
    png = make_png(tmp_path / "src" / "x.png")
    ds = Dataset("man", [Document("page#s1", "A <PIC> b", ["fig/one.png"])],
                 [QAItem("q-1", "Q?", ["page#s1"], "A <PIC>", ["fig/one.png"])],
                 {"fig/one.png": Image("fig/one.png", png, "one")})
    write_dataset(ds, tmp_path / "out")
    back = read_dataset(tmp_path / "out")
    assert back.documents == ds.documents and back.qa == ds.qa
    assert back.images["fig/one.png"].path.parent == tmp_path / "out" / "images" / "MAN"


def test_malformed_json_line_names_file_and_line(tmp_path: Path):
    root = write_mramg(tmp_path / "d", docs=[[1, "text", []], '[2, "broken', [3, "ok", []]], collection={})
    with pytest.raises(DatasetError) as e:
        read_dataset(root)
    assert e.value.path.endswith("doc_demo.jsonl") and e.value.line == 2
    assert "doc_demo.jsonl:2: malformed JSON" in str(e.value)


def test_pic_count_mismatch_names_doc(tmp_path: Path):
    make_png(tmp_path / "d" / "images" / "DEMO" / "1.png")
    root = write_mramg(tmp_path / "d", docs=[[1, "one <PIC> two <PIC>", [1]]],
                       collection={"1": {"image_path": "images/DEMO/1.png", "image_caption": ""}})
    with pytest.raises(DatasetError, match=r"doc_demo.jsonl:1: images_list: document '1' has 2 <PIC> marks but 1"):
        read_dataset(root)


def test_unknown_image_id_names_field_and_id(tmp_path: Path):
    root = write_mramg(tmp_path / "d", docs=[[1, "x <PIC>", ["nope"]]], collection={})
    with pytest.raises(DatasetError, match=r"doc_demo.jsonl:1: images_list: unknown image id 'nope'"):
        read_dataset(root)


def test_missing_image_file_names_id(tmp_path: Path):
    root = write_mramg(tmp_path / "d", docs=[[1, "x <PIC>", [5]]],
                       collection={"5": {"image_path": "images/DEMO/5.png", "image_caption": "c"}})
    with pytest.raises(DatasetError, match=r"demo_imgs_collection.json: 5: image file not found"):
        read_dataset(root)


def test_qa_with_unknown_document(good_dataset: Path):
    lines = (good_dataset / "demo_mqa.jsonl").read_text().splitlines()
    row = json.loads(lines[1]) | {"provenance": [99]}
    (good_dataset / "demo_mqa.jsonl").write_text(lines[0] + "\n" + json.dumps(row) + "\n")
    with pytest.raises(DatasetError, match=r"demo_mqa.jsonl:2: provenance: unknown doc id '99'"):
        read_dataset(good_dataset)


def test_empty_folder_and_empty_corpus(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="empty folder"):
        read_dataset(tmp_path / "empty")
    root = write_mramg(tmp_path / "d", docs=[])
    with pytest.raises(DatasetError, match="empty corpus"):
        read_dataset(root)


def test_lenient_reader_collects_every_problem(tmp_path: Path):
    root = write_mramg(tmp_path / "d", docs=['{"id": 1', [2, "a <PIC>", []], [3, "b <PIC>", ["x"]], [2, "dup", []]],
                       collection={})
    problems = Problems(strict=False)
    ds = read_dataset(root, problems=problems)
    assert problems.counts() == {"malformed_json": 1, "pic_mismatch": 1, "unknown_image": 1, "duplicate_id": 1}
    assert [d.id for d in ds.documents] == ["2", "3"]


def test_failed_write_keeps_previous_dataset(good_dataset: Path, tmp_path: Path):
    ds = read_dataset(good_dataset)
    out = tmp_path / "out"
    write_dataset(ds, out)
    before = (out / "doc_demo.jsonl").read_bytes()
    broken = Dataset("demo", ds.documents, ds.qa, {**ds.images, "9": Image("9", tmp_path / "gone.png", "")})
    with pytest.raises(FileNotFoundError):
        write_dataset(broken, out)
    assert (out / "doc_demo.jsonl").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "out"]  # no temp folder left behind


def test_write_refuses_to_clobber_another_dataset(good_dataset: Path):
    ds = read_dataset(good_dataset)
    with pytest.raises(DatasetError, match="holds other datasets"):
        write_dataset(Dataset("other", ds.documents), good_dataset)
