"""Inserter-R1 (``--inserter r1``): the trained placement policy, one forward pass per answer.

The text encoder's vectors of the query and segments (the candidates' come from the index) and
the segments' provenance feed :func:`task_features`; the policy's greedy decision gives every
candidate "leave out" or a slot, with no more figures at one slot than its sources had together.
No text is generated (0 tokens), one model call. A task with no candidates makes no call; any number of segments works (0 segments
leaves slot 0 alone).

>>> inserter = R1Inserter(TextEncoder(), PlacementPolicy.load("models/inserter-r1/policy.pt"))  # doctest: +SKIP
>>> inserter.insert("How?", ["Open it.", "Click OK."], candidates).placements                     # doctest: +SKIP
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from m2io.errors import M2IOError
from m2io.insert.base import InsertResult, Inserter
from m2io.insert.plan import format_plan, to_placements
from m2io.insert.policy.features import FeatureConfig, task_features
from m2io.insert.policy.model import PlacementPolicy, collate, greedy
from m2io.insert.shipped import AUTO
from m2io.types import Candidate, Origin

POLICY_FILE = "policy.pt"


class PolicyNotFound(M2IOError, FileNotFoundError):
    """No r1 policy file where one was asked for (or none ships with this install)."""


def shipped_policy() -> Path | None:
    """``models/inserter-r1/policy.pt`` of the checkout this package runs from, if it is there."""
    path = Path(__file__).resolve().parents[4] / "models" / "inserter-r1" / POLICY_FILE
    return path if path.is_file() else None


def resolve_policy(policy: str | None) -> Path:
    """The policy file to load: ``auto`` (or None) is the shipped one; a folder means its ``policy.pt``.

    >>> resolve_policy("/no/such/policy.pt")
    Traceback (most recent call last):
    ...
    m2io.insert.policy.inserter.PolicyNotFound: r1 policy not found: /no/such/policy.pt (train one with m2io train r1 ...)
    """
    if policy in (None, AUTO):
        found = shipped_policy()
        if found is None:
            raise PolicyNotFound("no r1 policy ships with this install (models/inserter-r1/policy.pt); "
                                    "train one with m2io train r1 ... and pass --r1-policy")
        return found
    path = Path(policy)
    path = path / POLICY_FILE if path.is_dir() else path
    if not path.is_file():
        raise PolicyNotFound(f"r1 policy not found: {policy} (train one with m2io train r1 ...)")
    return path


class R1Inserter(Inserter):
    name = "r1"

    def __init__(self, encoder, policy: PlacementPolicy, features: FeatureConfig = FeatureConfig()):
        if policy.config.use_embeddings and getattr(encoder, "dim", policy.config.embed_dim) != policy.config.embed_dim:
            raise ValueError(f"the r1 policy was trained on {policy.config.embed_dim}-d text vectors; "
                             f"this text encoder gives {encoder.dim}-d")
        self.encoder, self.policy, self.features = encoder, policy.eval(), features

    @classmethod
    def from_file(cls, encoder, path: str | Path, features: FeatureConfig = FeatureConfig()) -> R1Inserter:
        path = Path(path)
        return cls(encoder, PlacementPolicy.load(path / POLICY_FILE if path.is_dir() else path), features)

    def plan(self, query: str, segments: list[str], candidates: list[Candidate],
             provenance: list[Origin | None] | None = None) -> list[tuple[int, int]]:
        feats = task_features(query, segments, candidates, self.encoder, self.features, provenance)
        batch = collate([feats], self.policy.config.embed_dim)
        with torch.no_grad():
            return greedy(self.policy(batch), batch, self.policy.config.leave_out_bias, [feats.max_run])[0]

    def insert(self, query: str, segments: list[str], candidates: list[Candidate],
               provenance: list[Origin | None] | None = None) -> InsertResult:
        start = time.perf_counter()
        if not candidates:
            return InsertResult(placements=[], timings={"insert": time.perf_counter() - start})
        items = self.plan(query, segments, candidates, provenance)
        return InsertResult(placements=to_placements(items, candidates), raw_output=format_plan(items), model_calls=1,
                            timings={"insert": time.perf_counter() - start})
