"""The learned section ranker: a small network over :mod:`m2io.sections.features`, trained listwise.

For one question, every candidate section's feature row goes through the same two-layer network
(standardised with the training set's means and spreads) to a logit; training is a softmax over
the question's candidates with the gold section as the target (listwise cross-entropy), on the
training manuals' template and user-phrased questions (:mod:`m2io.train.section_ranker`).
Written by hand because the model is twenty lines of torch and no ranking library is in the stack;
it reads retrieval's evidence and the section's title and opening, so it costs one small encoder
batch per question (titles and openings; the question's vector is cached from retrieval) and a
forward pass of a few thousand weights.

A trained ranker is a folder: ``ranker.pt`` (weights, feature names, means and spreads) and
``ranker.json`` (what it was trained on and how it scored).

>>> import torch
>>> net = ScorerNet(n_features=3, hidden=4)
>>> tuple(net(torch.zeros(2, 5, 3)).shape)
(2, 5)
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from m2io.errors import M2IOError
from m2io.sections.features import FEATURES, section_features

WEIGHTS_FILE = "ranker.pt"
RECORD_FILE = "ranker.json"


class ScorerNet(nn.Module):
    def __init__(self, n_features: int = len(FEATURES), hidden: int = 32):
        super().__init__()
        self.mean = nn.Parameter(torch.zeros(n_features), requires_grad=False)
        self.std = nn.Parameter(torch.ones(n_features), requires_grad=False)
        self.net = nn.Sequential(nn.Linear(n_features, hidden), nn.GELU(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., candidates, features) -> (..., candidates) logits."""
        return self.net((x - self.mean) / self.std).squeeze(-1)


class SectionScorer:
    """``score(question, sections, results)``: one logit per candidate section (retrieval order in, same order out)."""

    prior = 0.0
    """Retrieval rank is one of its features: no prior is added to its logits."""

    def __init__(self, net: ScorerNet, encoder, features: tuple[str, ...] = FEATURES, name: str = "section-ranker"):
        if tuple(features) != FEATURES:
            raise M2IOError(f"this section ranker was trained on features {list(features)}; this m2io makes "
                            f"{list(FEATURES)}: train a new one (m2io train section-ranker)")
        self.net, self.encoder, self.name = net.eval(), encoder, name

    def score(self, question: str, sections, results=()) -> list[float]:
        if not sections:
            return []
        by_key = {s.key: s for s in sections}
        x = section_features(question, list(by_key), by_key, results, self.encoder)
        with torch.no_grad():
            return self.net(torch.from_numpy(x)).tolist()

    def save(self, folder: str | Path, record: dict | None = None) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        hidden = self.net.net[0].out_features
        torch.save({"state": self.net.state_dict(), "features": list(FEATURES), "hidden": hidden}, folder / WEIGHTS_FILE)
        (folder / RECORD_FILE).write_text(json.dumps({"features": list(FEATURES), "hidden": hidden,
                                                      **(record or {})}, indent=1, default=float) + "\n")

    @classmethod
    def load(cls, folder: str | Path, encoder) -> SectionScorer:
        folder = Path(folder)
        if not (folder / WEIGHTS_FILE).is_file():
            raise M2IOError(f"{folder}: not a section ranker folder (no {WEIGHTS_FILE}; train one with "
                            "m2io train section-ranker)")
        blob = torch.load(folder / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        net = ScorerNet(len(blob["features"]), blob["hidden"])
        net.load_state_dict(blob["state"])
        return cls(net, encoder, tuple(blob["features"]), folder.name)


def listwise_loss(logits: torch.Tensor, mask: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the gold candidate under a softmax over each question's real candidates.

    >>> round(float(listwise_loss(torch.tensor([[2.0, 0.0, 9.0]]), torch.tensor([[True, True, False]]),
    ...                           torch.tensor([0]))), 3)
    0.127
    """
    logits = logits.masked_fill(~mask, -1e9)
    return nn.functional.cross_entropy(logits, gold)


def stack(rows: list[np.ndarray], width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad questions' (candidates, features) arrays into (questions, width, features) and a mask."""
    width = width or max(len(r) for r in rows)
    x = np.zeros((len(rows), width, len(FEATURES)), np.float32)
    mask = np.zeros((len(rows), width), bool)
    for i, r in enumerate(rows):
        x[i, :len(r)], mask[i, :len(r)] = r[:width], True
    return torch.from_numpy(x), torch.from_numpy(mask)


def shipped_ranker() -> Path | None:
    """``models/section-ranker`` of the checkout this package runs from, if it is there."""
    path = Path(__file__).resolve().parents[3] / "models" / "section-ranker"
    return path if (path / WEIGHTS_FILE).is_file() else None


def load_scorer(folder: str | Path, encoder):
    """A section ranker folder of either kind: the learned ranker (``ranker.pt``) or a cross-encoder reranker."""
    folder = Path(folder)
    if (folder / WEIGHTS_FILE).is_file():
        return SectionScorer.load(folder, encoder)
    from m2io.sections.reranker import Reranker

    return Reranker.load(folder)
