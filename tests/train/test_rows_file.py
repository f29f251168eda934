"""Rows kept in a file: read back for the same key, rebuilt for another, a corrupt row named by line."""
from __future__ import annotations

from pathlib import Path

import pytest

from m2io.errors import M2IOError
from m2io.train.rows_file import cached_rows


def test_rows_are_read_back_only_for_the_key_they_were_built_for(tmp_path: Path):
    path, builds = tmp_path / "rows.jsonl", []

    def build(tag):
        builds.append(tag)
        return [{"prompt": [{"role": "user", "content": tag}], "n": 1}, {"prompt": [], "n": 2}]

    first = cached_rows(path, {"seed": 0}, lambda: build("a"))
    assert cached_rows(path, {"seed": 0}, lambda: build("b")) == first and builds == ["a"]
    again = cached_rows(path, {"seed": 1}, lambda: build("c"))
    assert builds == ["a", "c"] and again[0]["prompt"][0]["content"] == "c"
    assert not path.with_suffix(".jsonl.tmp").exists()


def test_a_corrupt_row_names_the_file_and_line(tmp_path: Path):
    path = tmp_path / "rows.jsonl"
    cached_rows(path, {"seed": 0}, lambda: [{"n": 1}, {"n": 2}])
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2] + ['{"n": 3']) + "\n")
    with pytest.raises(M2IOError, match=r"rows\.jsonl:3: not a JSON row"):
        cached_rows(path, {"seed": 0}, lambda: [])


def test_a_file_without_a_header_is_rebuilt(tmp_path: Path):
    path = tmp_path / "rows.jsonl"
    path.write_text("not json\n")
    assert cached_rows(path, {"seed": 0}, lambda: [{"n": 1}]) == [{"n": 1}]
    assert path.read_text().startswith('{"m2io_rows": {"seed": 0}}')


def test_read_rows_reads_a_file_whatever_it_was_built_for(tmp_path: Path):
    from m2io.train.rows_file import read_rows

    path = tmp_path / "rows.jsonl"
    cached_rows(path, {"seed": 7}, lambda: [{"n": 1}, {"n": 2}])
    assert read_rows(path) == [{"n": 1}, {"n": 2}]
