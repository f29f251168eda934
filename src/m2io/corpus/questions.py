"""Questions written the way people ask, kept apart from the template questions a corpus builder makes.

A question file is JSON Lines, one object a line: ``{"id", "doc_id", "kind", "question"}``, where
``doc_id`` names the section (document) that answers it and ``kind`` says how it is asked:
``task`` ("how can I make the background see-through?"), ``symptom`` ("my text looks blurry
after scaling"), ``screen`` ("what is the chain icon next to width for?"), ``keyword`` ("crop to
selection") or ``long`` (a few sentences of context, then the question). ``questions/`` holds the
project's own, written by hand for the training and validation manuals, never from the heading.

The gold answer of a question is its section as the corpus builder makes gold answers: the
section's text without its heading line, with ``<PIC>`` where each figure first stands.

>>> from m2io.types import Document
>>> doc = Document("d", "Tools > Crop\\nDrag a box.\\n<PIC>\\nPress Enter.\\n<PIC>", ["a", "a"])
>>> gold_of_document(doc, ["Tools", "Crop"])
('Drag a box.\\n<PIC>\\nPress Enter.', ['a'])
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from m2io.corpus.mramg import Dataset
from m2io.errors import DatasetError
from m2io.types import PIC, Document, QAItem

KINDS = ("task", "symptom", "screen", "keyword", "long")
TEMPLATE = "template"
"""The kind of a corpus's own questions (built from the section heading)."""


@dataclass(frozen=True)
class UserQuestion:
    id: str
    doc_id: str
    kind: str
    question: str


def is_heading_line(line: str, heading_path: list[str] | None) -> bool:
    """Whether a document's first line is its heading: the heading path joined with " > ", whole or its last levels.

    >>> is_heading_line("Basics > Layers", ["Manual", "Basics", "Layers"]), is_heading_line("Layers", [])
    (True, False)
    """
    path = list(heading_path or [])
    return line.strip() in {" > ".join(path[i:]) for i in range(len(path))}


def gold_of_document(doc: Document, heading_path: list[str] | None = None) -> tuple[str, list[str]]:
    """A section's gold answer: its text without its heading line, each image marked where it first stands."""
    lines = doc.content.split("\n")
    if lines and is_heading_line(lines[0], heading_path):
        lines = lines[1:]
    out, seen = [], []
    images = iter(doc.image_ids)
    for line in lines:
        if line.strip() == PIC:
            image_id = next(images, None)
            if image_id is not None and image_id not in seen:
                seen.append(image_id)
                out.append(PIC)
            continue
        kept = ""
        for n, piece in enumerate(line.split(PIC)):
            if n:
                image_id = next(images, None)
                if image_id is not None and image_id not in seen:
                    seen.append(image_id)
                    kept += PIC
            kept += piece
        out.append(kept)
    return "\n".join(out).strip("\n"), seen


def read_questions(path: Path) -> list[UserQuestion]:
    """The questions of a file; a malformed line is an error naming the file, line and field."""
    path = Path(path)
    out, seen = [], set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"cannot read questions: {e}", path) from e
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DatasetError(f"malformed JSON ({e.msg})", path, n) from e
        if not isinstance(row, dict):
            raise DatasetError("a question is a JSON object", path, n)
        for key in ("id", "doc_id", "question"):
            if not isinstance(row.get(key), (str, int)) or not str(row.get(key)).strip():
                raise DatasetError(f"{key}: missing or empty", path, n)
        kind = row.get("kind", "")
        if kind and kind not in KINDS:
            raise DatasetError(f"kind: {kind!r} is not one of {', '.join(KINDS)}", path, n)
        if str(row["id"]) in seen:
            raise DatasetError(f"id: {row['id']!r} appears twice", path, n)
        seen.add(str(row["id"]))
        out.append(UserQuestion(str(row["id"]), str(row["doc_id"]), kind, str(row["question"]).strip()))
    return out


def user_qa(ds: Dataset, questions: list[UserQuestion], path: Path | str = "questions") -> list[QAItem]:
    """QA items of ``questions`` on ``ds``: each gold answer is its section's; an unknown section is an error."""
    docs = {d.id: d for d in ds.documents}
    items = []
    for q in questions:
        doc = docs.get(q.doc_id)
        if doc is None:
            raise DatasetError(f"question {q.id!r}: doc_id {q.doc_id!r} is not a document of {ds.name}", path)
        source = ds.sources.get(q.doc_id)
        gold, images = gold_of_document(doc, source.heading_path if source is not None else None)
        items.append(QAItem(q.id, q.question, [q.doc_id], gold, images))
    return items


def question_kinds(questions: list[UserQuestion]) -> dict[str, str]:
    """QA id -> kind."""
    return {q.id: q.kind for q in questions}
