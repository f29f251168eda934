"""User-phrased question files: read strictly, gold answers from their sections, and the project's own files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from m2io.corpus.mramg import read_dataset
from m2io.corpus.questions import KINDS, read_questions, user_qa
from m2io.errors import DatasetError

QUESTIONS = Path(__file__).resolve().parents[2] / "questions"


def test_user_questions_get_their_sections_gold(tiny_corpus: Path, tmp_path: Path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "u1", "doc_id": "export", "kind": "task",
                                "question": "save my picture for the web?"}) + "\n")
    ds = read_dataset(tiny_corpus, "tiny")
    (item,) = user_qa(ds, read_questions(path), path)
    assert item.provenance == ["export"] and item.image_ids == ["E1", "E2"]
    assert item.ground_truth.startswith("Export writes") and item.ground_truth.count("<PIC>") == 2


@pytest.mark.parametrize("line,message", [
    ("{not json", r"q.jsonl:2: malformed JSON"),
    ('{"id": "u2", "doc_id": "export"}', r"q.jsonl:2: question: missing or empty"),
    ('{"id": "u2", "doc_id": "export", "question": "x", "kind": "rant"}', r"q.jsonl:2: kind: 'rant' is not one of"),
    ('{"id": "u1", "doc_id": "export", "question": "x"}', r"q.jsonl:2: id: 'u1' appears twice"),
])
def test_bad_question_lines_are_named_by_file_and_line(tmp_path: Path, line: str, message: str):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "u1", "doc_id": "export", "question": "x"}\n' + line + "\n")
    with pytest.raises(DatasetError, match=message):
        read_questions(path)


def test_an_unknown_section_is_an_error(tiny_corpus: Path, tmp_path: Path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "u1", "doc_id": "nope", "question": "x"}\n')
    with pytest.raises(DatasetError, match="doc_id 'nope' is not a document of tiny"):
        user_qa(read_dataset(tiny_corpus, "tiny"), read_questions(path), path)


def test_the_projects_question_files_are_well_formed_and_varied():
    files = sorted(QUESTIONS.glob("*.jsonl"))
    rows = [q for f in files for q in read_questions(f)]
    assert len(rows) >= 150
    assert {q.kind for q in rows} == set(KINDS)
    for f in files:
        qs = read_questions(f)
        assert len({q.doc_id for q in qs}) == len(qs)  # one question a section
