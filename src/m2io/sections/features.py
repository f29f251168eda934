"""What the section ranker knows about a (question, section) pair: retrieval's evidence and the section's title.

Per candidate section (the distinct sections of the retrieved chunks, in retrieval order), the
columns of :data:`FEATURES`:

- retrieval: 1 / its rank among the sections, its best chunk's fused score against the best
  section's, how many retrieved chunks it has, and 1 / the rank of its best chunk in the dense,
  BM25 and text-to-image lists;
- the title (the last level of its heading path) and the heading's last two levels against the
  question: the share of their content words the question holds, whether the title stands in the
  question whole, and the share of the question's words the section's text holds;
- meaning: the text encoder's cosine of the question with the title and with the section's opening
  (heading, then its first words: :meth:`m2io.sections.read.Section.opening`), each also relative to the
  best candidate's (the index keeps both vectors, so these cost no encoding);
- structure: the section's length, whether another candidate is inside it (its heading path extends
  this one's) or it is inside another.

Template questions quote their section's title; people's questions do not; retrieval mixes both
signals with fixed weights, and these columns let a small trained model weigh them per question.

>>> FEATURES[:3]
('inv_rank', 'fused_rel', 'n_chunks')
"""
from __future__ import annotations

import re

import numpy as np

from m2io.insert.policy.features import content_words
from m2io.insert.side import side_vectors

FEATURES = ("inv_rank", "fused_rel", "n_chunks", "inv_dense", "inv_bm25", "inv_image", "title_cover", "title_in_q",
            "path_cover", "q_cover", "cos_title", "cos_open", "cos_title_rel", "cos_open_rel", "title_cover_rel",
            "words", "has_child", "has_parent")


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def section_features(question: str, keys: list[str], sections: dict, results, encoder) -> np.ndarray:
    """(len(keys), len(FEATURES)) float32 for the candidate sections ``keys`` (retrieval order) of ``question``."""
    n = len(keys)
    out = np.zeros((n, len(FEATURES)), np.float32)
    if n == 0:
        return out
    best: dict[str, float] = {}
    count: dict[str, int] = {}
    lists: dict[str, dict[str, int]] = {}
    for r in results:
        best[r.doc_id] = max(best.get(r.doc_id, 0.0), r.score)
        count[r.doc_id] = count.get(r.doc_id, 0) + 1
        for name, rank in r.ranks.items():
            lists.setdefault(r.doc_id, {})
            lists[r.doc_id][name] = min(lists[r.doc_id].get(name, rank), rank)
    top = max(best.values(), default=1.0) or 1.0
    qwords = content_words(question)
    qnorm = f" {_norm(question)} "
    titles = [sections[k].title for k in keys]
    paths = [" ".join(sections[k].heading.split(" > ")[-2:]) for k in keys]
    openings = [sections[k].opening() for k in keys]
    vecs = side_vectors(encoder, [question, *titles, *openings])  # zeros for an empty title or opening
    q, tv, ov = vecs[0], vecs[1:1 + n], vecs[1 + n:]
    heading_paths = [sections[k].heading.split(" > ") if sections[k].heading else [] for k in keys]
    for i, k in enumerate(keys):
        tw, pw = content_words(titles[i]), content_words(paths[i])
        swords = content_words(openings[i] + " " + " ".join(sections[k].segments[:40]))
        ranks = lists.get(k, {})
        hp = heading_paths[i]
        out[i, :16] = [
            1.0 / (i + 1), best.get(k, 0.0) / top, np.log1p(count.get(k, 0)),
            1.0 / ranks["dense"] if "dense" in ranks else 0.0, 1.0 / ranks["bm25"] if "bm25" in ranks else 0.0,
            1.0 / ranks["text_to_image"] if "text_to_image" in ranks else 0.0,
            len(tw & qwords) / len(tw) if tw else 0.0, float(bool(titles[i].strip()) and f" {_norm(titles[i])} " in qnorm),
            len(pw & qwords) / len(pw) if pw else 0.0, len(qwords & swords) / len(qwords) if qwords else 0.0,
            float(tv[i] @ q), float(ov[i] @ q), 0.0, 0.0, 0.0, np.log1p(sections[k].words) / 6,
        ]
        out[i, 16] = float(any(len(o) > len(hp) and o[:len(hp)] == hp for o in heading_paths if hp))
        out[i, 17] = float(any(len(o) < len(hp) and hp[:len(o)] == o for o in heading_paths if o))
    for col, src in ((12, 10), (13, 11), (14, 6)):
        out[:, col] = out[:, src] - out[:, src].max()
    return out
