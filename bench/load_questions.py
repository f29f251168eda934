"""Questions for bench/load.py: one pool of distinct questions, each sent at most once, and the reindex document.

The pool holds every question of the given corpus folders: the template questions of
``<corpus>/<name>_mqa.jsonl`` (set ``template``) and the user-phrased ones of
``questions/<name>.jsonl`` (set ``user``; fields id, doc_id, kind, question). Questions whose text
is the same after case and whitespace folding are kept once. The order is a seeded shuffle, so
both sets are mixed through every phase of a run.

>>> pool = Pool([Question("a?", "user", "x", "1", "d"), Question("b?", "template", "x", "2", "d")])
>>> [q.text for q in pool.take(1, "step")], pool.remaining
(['a?'], 1)
>>> try:
...     pool.take(2, "step 2")
... except PoolExhausted as e:
...     print(e)
step 2 needs 2 questions but the pool has 1 left (of 2): use shorter --seconds, fewer --rates or more --question-corpora
>>> keyword_question("zorvanthel", 3)
'How do I turn on zorvanthel mode? (check 3)'
"""
from __future__ import annotations

import json
import os
import random
import shutil
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

from m2io.corpus.mramg import dataset_names, doc_path, read_dataset
from m2io.corpus.sources import sources_path


@dataclass(frozen=True)
class Question:
    text: str
    set: str
    """``template`` (from <name>_mqa.jsonl) or ``user`` (from questions/<name>.jsonl)."""
    corpus: str
    id: str
    doc_id: str

    def as_dict(self) -> dict:
        return asdict(self)


class PoolExhausted(RuntimeError):
    pass


class Pool:
    """Distinct questions, consumed in order across every phase of a run; never handed out twice."""

    def __init__(self, questions: list[Question]):
        self._left = deque(questions)
        self.total = len(questions)
        self.sent = 0

    @property
    def remaining(self) -> int:
        return len(self._left)

    def take(self, n: int, what: str) -> list[Question]:
        if n > len(self._left):
            raise PoolExhausted(f"{what} needs {n} questions but the pool has {len(self._left)} left (of {self.total}):"
                                f" use shorter --seconds, fewer --rates or more --question-corpora")
        return [self._left.popleft() for _ in range(n)]

    def give_back(self, unsent: list[Question]) -> None:
        """Questions reserved for a step but never sent (the step ended early) go back to the front."""
        self._left.extendleft(reversed(unsent))


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


def load_questions(corpora: list[Path], questions_dir: Path) -> tuple[list[Question], dict]:
    """Every distinct question of ``corpora`` (template and user sets) and counts per corpus and set."""
    out, seen, counts = [], set(), {}
    for folder in corpora:
        for name in dataset_names(folder):
            found = [Question(q.question, "template", name, str(q.id), q.provenance[0] if q.provenance else "")
                     for q in read_dataset(folder, name).qa]
            user_file = questions_dir / f"{name}.jsonl"
            if user_file.is_file():
                for line in user_file.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        row = json.loads(line)
                        found.append(Question(row["question"], "user", name, str(row["id"]), str(row.get("doc_id", ""))))
            for q in found:
                key = _fold(q.text)
                if key and key not in seen:
                    seen.add(key)
                    out.append(q)
                    counts.setdefault(name, {"template": 0, "user": 0})[q.set] += 1
    return out, counts


def sent_keys(paths: list[Path]) -> set[tuple[str, str, str]]:
    """(corpus, set, id) of every pool question sent in earlier runs (their ``.requests.jsonl``)."""
    keys = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if row.get("qid") is not None and row.get("set") in ("template", "user"):
                keys.add((row["corpus"], row["set"], str(row["qid"])))
    return keys


def make_pool(corpora: list[Path], questions_dir: Path, seed: int,
              exclude: set[tuple[str, str, str]] = frozenset()) -> tuple[Pool, dict]:
    """The shuffled pool, less the questions in ``exclude`` (sent by earlier runs); counts per corpus and set."""
    questions, counts = load_questions(corpora, questions_dir)
    questions = [q for q in questions if (q.corpus, q.set, q.id) not in exclude]
    for q in questions:
        counts[q.corpus].setdefault("left", 0)
        counts[q.corpus]["left"] += 1
    random.Random(seed).shuffle(questions)
    return Pool(questions), counts


# --- the reindex scenario: a corpus copy with one new document about a made-up word ---------------------------

def make_keyword(rng: random.Random) -> str:
    """A made-up word (letters only, so every tokenizer keeps it whole), e.g. 'zorvanthelqui'."""
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    return "zq" + "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(5))


def keyword_question(keyword: str, n: int) -> str:
    """The n-th distinct question about the keyword (distinct text: no answer cache can serve it)."""
    return f"How do I turn on {keyword} mode? (check {n})"


def _link_or_copy(src: str, dst: str) -> str:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def _rewrite_with(path: Path, extra_line: str) -> None:
    """Append a line to a copied (possibly hard-linked) file without touching the original."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if path.exists():
        path.unlink()  # break the hard link first
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(text + extra_line + "\n", encoding="utf-8")


def copy_with_keyword_doc(src: Path, dst: Path, keyword: str) -> tuple[str, str]:
    """Copy the MRAMG corpus folder ``src`` to ``dst`` (images hard-linked) and add one document about ``keyword``
    to its ``doc_<name>.jsonl`` (and a line to its sources sidecar, if it has one); (dataset name, new doc id)."""
    names = dataset_names(src)
    if len(names) != 1:
        raise SystemExit(f"{src}: expected one dataset, found {names}")
    name = names[0]
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, copy_function=_link_or_copy)
    doc_id = f"load-test-{keyword}"
    title = keyword.capitalize()
    content = (f"Load Test Settings > {title} Mode\n"
               f"The {keyword} mode is a setting that only exists in this load test. To turn on {keyword} mode, "
               f"open Preferences, choose the {title} tab and tick 'Enable {keyword} mode'. When {keyword} mode is "
               f"on, every project is saved twice. To turn {keyword} mode off again, clear the same box.")
    _rewrite_with(doc_path(dst, name), json.dumps([doc_id, content, []], ensure_ascii=False))
    if sources_path(dst, name).exists():
        _rewrite_with(sources_path(dst, name), json.dumps(
            {"id": doc_id, "manual": "m2io load test", "page": "Load Test Settings",
             "heading_path": ["Load Test Settings", f"{title} Mode"], "file": "load-test.html"}))
    read_dataset(dst, name)  # fails here, not in the indexer, if the file is not valid MRAMG
    return name, doc_id
