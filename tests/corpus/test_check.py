from __future__ import annotations

import re
from pathlib import Path

from conftest import write_mramg
from m2io.corpus.check import check_folder


def test_counts_a_valid_dataset(good_dataset: Path):
    report = check_folder(good_dataset)
    assert report.ok, report.errors
    (s,) = report.stats
    assert (s.documents, s.images, s.qa, s.multi_image_qa, s.images_with_caption) == (2, 3, 2, 1, 3)
    assert s.mean_images_per_qa == 1.5


def test_reports_every_kind_of_problem_with_location(good_dataset: Path):
    (good_dataset / "images" / "DEMO" / "2.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (good_dataset / "images" / "DEMO" / "3.png").unlink()
    with open(good_dataset / "doc_demo.jsonl", "a") as f:
        f.write('[12, "no marks here", [1]]\n{"id": 13, oops}\n')
    report = check_folder(good_dataset)
    assert not report.ok
    assert report.error_counts() == {"missing_image": 1, "unreadable_image": 1, "pic_mismatch": 1, "malformed_json": 1}
    messages = [str(e) for _, e in report.errors]
    assert any("demo_imgs_collection.json: 3: image file not found" in m for m in messages)
    assert any(re.search(r"images/DEMO/2.png: 2: unreadable image \(.+\)$", m) for m in messages)
    assert any("doc_demo.jsonl:3: images_list: document '12' has 0 <PIC> marks but 1 images" in m for m in messages)
    assert any("doc_demo.jsonl:4: malformed JSON" in m for m in messages)


def test_empty_and_missing_folders(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    assert check_folder(tmp_path / "empty").error_counts() == {"empty": 1}
    assert check_folder(tmp_path / "nope").error_counts() == {"not_a_dataset": 1}


def test_checks_every_dataset_in_a_folder(good_dataset: Path):
    write_mramg(good_dataset, name="second", docs=[["a", "plain text", []]])
    report = check_folder(good_dataset)
    assert report.ok and [s.name for s in report.stats] == ["demo", "second"]
