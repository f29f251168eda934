"""Fine-tuning the text encoder on (section title, section content) pairs, on the bundled MiniLM."""
from __future__ import annotations

import json

import numpy as np

from m2io.corpus.mramg import Dataset
from m2io.corpus.split import split_of_doc
from m2io.encoders.text import TextEncoder
from m2io.train.retriever import CARD, RetrieverTrainConfig, section_pairs, train_retriever
from m2io.types import DocSource, Document, Image

TOPICS = [("Lasso", "Draw a free-form outline around the pixels you want and close it to select them."),
          ("Histogram", "A chart of how many pixels have each brightness, from black on the left to white."),
          ("Kerning", "Move two letters closer together or apart by a fraction of the font size."),
          ("Dithering", "Scatter the colours of a palette so that areas look like shades it does not have."),
          ("Vignette", "Darken the corners of a photograph so that the eye moves to its centre."),
          ("Undo history", "Every step you took is kept in a list; click one to go back to that state."),
          ("Guides", "Drag from a ruler to place a line that tools snap to while you arrange layers."),
          ("Feathering", "Soften the edge of a selection so that an effect fades out over some pixels.")]


def _dataset() -> Dataset:
    docs, sources = [], {}
    for n, (title, text) in enumerate(TOPICS):
        doc_id = f"page{n}#{title.lower().replace(' ', '-')}"
        docs.append(Document(doc_id, f"Tools > {title}\n{text} <PIC>", [f"i{n}"]))
        sources[doc_id] = DocSource("Paint", title, ["Tools", title])
    images = {f"i{n}": Image(f"i{n}", None, f"The {t} dialog") for n, (t, _) in enumerate(TOPICS)}
    return Dataset("paint", docs, [], images, sources=sources)


def test_pairs_use_titles_and_content_without_the_heading_line():
    ds = _dataset()
    pairs = section_pairs(ds, split="all")
    assert [p["anchor"] for p in pairs[:2]] == ["Lasso", "Histogram"]
    assert pairs[0]["positive"].startswith("Draw a free-form outline") and "Tools >" not in pairs[0]["positive"]
    assert "[image: The Lasso dialog]" in pairs[0]["positive"]  # captions stand where the images are
    train = section_pairs(ds, split="train", dev_fraction=0.5)
    kept = {d.id for d in ds.documents if split_of_doc(d.id, 0.5) == "train"}
    assert len(train) == len(kept) < len(pairs)


def test_training_pulls_titles_towards_their_sections(tmp_path):
    ds = _dataset()
    pairs = section_pairs(ds, split="all")

    def margin(encoder: TextEncoder) -> float:
        a = encoder.encode([p["anchor"] for p in pairs])
        b = encoder.encode([p["positive"] for p in pairs])
        sims = a @ b.T
        return float(np.mean(np.diag(sims)) - np.mean(sims[~np.eye(len(pairs), dtype=bool)]))

    before = margin(TextEncoder())
    card = train_retriever([ds], tmp_path / "enc", RetrieverTrainConfig(epochs=4, batch_size=8, learning_rate=1e-4,
                                                                       dev_fraction=0.0), progress=False)
    after = margin(TextEncoder(str(tmp_path / "enc")))
    assert card["pairs"] == 8 and json.loads((tmp_path / "enc" / CARD).read_text())["datasets"] == {"paint": 8}
    assert after > before + 0.02, (before, after)


def test_hard_negatives_come_from_other_sections():
    from m2io.train.retriever import add_hard_negatives

    pairs = [{"anchor": "Layer masks", "positive": "A layer mask hides parts of a layer."},
             {"anchor": "Layer masks", "positive": "Paint black on the mask to hide pixels of the layer."},
             {"anchor": "Layer groups", "positive": "Groups hold layers; a group's mask applies to every layer."},
             {"anchor": "Kerning", "positive": "Move two letters closer together."}]
    out = add_hard_negatives(pairs, ["masks", "masks", "groups", "kerning"])
    assert out[0]["negative"] == out[1]["negative"] == pairs[2]["positive"]  # never the same section's chunk
    assert out[2]["negative"] in (pairs[0]["positive"], pairs[1]["positive"])
    assert len(out) == 3  # "Kerning" shares no word with another section: no negative, left out
