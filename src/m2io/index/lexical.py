"""BM25 over chunk texts with bm25s (English stop words; Snowball stemming optional), saved in the index folder.

The store-independent lexical half of hybrid retrieval: the same BM25 for LanceDB and pgvector.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()) / "bm25"
>>> Bm25Index.build([("a", "open the layers dialog"), ("b", "export the image as PNG")]).save(d)
>>> [h.id for h in Bm25Index.load(d).search("layers dialog", k=2)]
['a']
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from m2io.atomic import atomic_dir
from m2io.store.base import Hit

_MARKS = re.compile(r"<PIC>|<img\d+>")


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


class Bm25Index:
    """Off by default, stemming conflates a manual's rare names with common words ("Pixelize" and
    "pixels" both become "pixel"); bench/RESULTS.md has the measurement."""

    def __init__(self, retriever, ids: list[str], stem: bool = False):
        self.retriever, self.ids, self.stem = retriever, ids, stem
        self.stemmer = _stemmer() if stem else None

    @classmethod
    def build(cls, items: list[tuple[str, str]], stem: bool = False) -> "Bm25Index":
        import bm25s

        ids = [i for i, _ in items]
        retriever = bm25s.BM25()
        if items:
            tokens = bm25s.tokenize([_MARKS.sub(" ", t) for _, t in items], stopwords="en",
                                    stemmer=_stemmer() if stem else None, show_progress=False)
            retriever.index(tokens, show_progress=False)
        return cls(retriever, ids, stem)

    def save(self, folder: Path) -> None:
        with atomic_dir(Path(folder)) as tmp:
            (tmp / "ids.json").write_text(json.dumps(self.ids))
            (tmp / "config.json").write_text(json.dumps({"stem": self.stem}))
            if self.ids:
                self.retriever.save(str(tmp / "bm25"))

    @classmethod
    def load(cls, folder: Path) -> "Bm25Index":
        import bm25s

        folder = Path(folder)
        ids = json.loads((folder / "ids.json").read_text())
        config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").is_file() else {}
        retriever = bm25s.BM25.load(str(folder / "bm25")) if ids else None
        return cls(retriever, ids, stem=config.get("stem", False))

    def search(self, query: str, k: int) -> list[Hit]:
        import bm25s

        if not self.ids or not query.strip():
            return []
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=self.stemmer, show_progress=False)
        if not tokens.vocab:
            return []
        docs, scores = self.retriever.retrieve(tokens, k=min(k, len(self.ids)), show_progress=False)
        return [Hit(self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

