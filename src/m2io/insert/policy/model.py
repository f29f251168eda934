"""The placement policy: one forward pass gives every candidate a categorical over {leave out, slot 0..n}.

Per candidate, each slot's features (:mod:`m2io.insert.policy.features`) go through a small
MLP; the candidate attends over its slots (attention pooling: it reads the answer), adds its
own features and a projection of its caption and context vectors, and then the candidates
attend to each other (a two-layer transformer encoder), so whether an image is kept is judged
against the other candidates of the same answer. A slot's logit reads the slot's features and
the candidate's joint state; "leave out" has its own head. Written by hand because no library
offers a policy over this action space; the layers are torch's own.

>>> import torch
>>> net = PlacementPolicy(PolicyConfig(dim=16, embed_dim=4))
>>> batch = collate([_random_features(3, 4), _random_features(2, 2)])
>>> logits = net(batch)
>>> tuple(logits.shape)                 # tasks, candidates (padded), 1 + slots (padded)
(2, 3, 6)
>>> plans = greedy(logits, batch)
>>> len(plans[0]) <= 3 and all(0 <= s <= 4 for _, s in plans[0])
True
>>> one = torch.tensor([[[0.0, 5.0, 1.0], [0.0, 4.0, 3.0]]])   # both candidates like slot 0 best
>>> greedy(one, collate([_random_features(2, 1)]), max_run=[1])
[[(1, 0), (2, 1)]]
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from m2io.insert.policy.features import CAND_FEATURES, SLOT_FEATURES, TaskFeatures

LEAVE_OUT = 0
"""Action 0 leaves the candidate out; action ``1 + t`` puts it at slot ``t``."""
IMPOSSIBLE = -1e9
"""The logit of a slot the answer does not have: finite, so that no gradient meets inf - inf."""


@dataclass(frozen=True)
class PolicyConfig:
    dim: int = 64
    """Width of every hidden layer."""
    layers: int = 2
    """Transformer layers over the candidates (the joint decision)."""
    heads: int = 4
    embed_dim: int = 384
    """Size of the text encoder's vectors (MiniLM: 384)."""
    use_embeddings: bool = True
    """Read caption and context vectors (off: similarity features alone)."""
    dropout: float = 0.1
    leave_out_bias: float = 0.0
    """Subtracted from the leave-out logit when plans are taken greedily (inference), chosen on validation
    corpora after training (:func:`m2io.train.policy.evaluate.tune_leave_out_bias`); sampling ignores it."""
    slot_features: int = SLOT_FEATURES
    cand_features: int = CAND_FEATURES
    """The feature sizes it was built for (a policy of another feature set cannot read these features)."""


@dataclass
class Batch:
    slot: torch.Tensor
    """(B, M, T, SLOT_FEATURES)"""
    cand: torch.Tensor
    """(B, M, CAND_FEATURES)"""
    emb: torch.Tensor
    """(B, M, 2, embed_dim)"""
    cand_mask: torch.Tensor
    """(B, M) True for a real candidate."""
    slot_mask: torch.Tensor
    """(B, T) True for a real slot (0..n of that answer)."""


def collate(features: list[TaskFeatures], embed_dim: int | None = None) -> Batch:
    """Pad a list of tasks into one batch (at least one candidate and one slot wide)."""
    B = len(features)
    M = max([f.n_candidates for f in features] + [1])
    T = max([f.n_slots for f in features] + [1])
    E = embed_dim or next((f.emb.shape[-1] for f in features if f.emb.size), 1)
    slot = np.zeros((B, M, T, SLOT_FEATURES), np.float32)
    cand = np.zeros((B, M, CAND_FEATURES), np.float32)
    emb = np.zeros((B, M, 2, E), np.float32)
    cmask = np.zeros((B, M), bool)
    smask = np.zeros((B, T), bool)
    for b, f in enumerate(features):
        m, t = f.n_candidates, f.n_slots
        slot[b, :m, :t], cand[b, :m], cmask[b, :m], smask[b, :t] = f.slot, f.cand, True, True
        if m and f.emb.shape[-1] == E:
            emb[b, :m] = f.emb
    return Batch(*(torch.from_numpy(x) for x in (slot, cand, emb, cmask, smask)))


def _mlp(n_in: int, dim: int, n_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim, n_out))


class PlacementPolicy(nn.Module):
    def __init__(self, config: PolicyConfig = PolicyConfig()):
        super().__init__()
        self.config = config
        d = config.dim
        self.slot_in = _mlp(config.slot_features, d, d, config.dropout)
        self.cand_in = _mlp(config.cand_features, d, d, config.dropout)
        self.embed_in = nn.Linear(2 * config.embed_dim, d) if config.use_embeddings else None
        self.pool_query = nn.Linear(d, d)
        layer = nn.TransformerEncoderLayer(d, config.heads, dim_feedforward=2 * d, dropout=config.dropout,
                                           batch_first=True, norm_first=True)
        self.joint = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.slot_head = _mlp(2 * d, d, 1, config.dropout)
        self.out_head = _mlp(d, d, 1, config.dropout)

    def forward(self, batch: Batch) -> torch.Tensor:
        """(B, M, 1 + T) logits; slots past an answer's end, and every slot of a padded candidate, are
        ``IMPOSSIBLE`` (probability exactly 0)."""
        s = self.slot_in(batch.slot)                                   # (B, M, T, d)
        h = self.cand_in(batch.cand)                                   # (B, M, d)
        if self.embed_in is not None:
            h = h + self.embed_in(batch.emb.flatten(2))
        # The candidate reads the answer: attention pooling over its slots.
        scores = torch.einsum("bmd,bmtd->bmt", self.pool_query(h), s) / s.shape[-1] ** 0.5
        scores = scores.masked_fill(~batch.slot_mask[:, None, :], IMPOSSIBLE)
        h = h + torch.einsum("bmt,bmtd->bmd", scores.softmax(-1), s)
        # The candidates read each other (padded candidates are masked as keys; a task with none has one pad).
        keys_masked = ~batch.cand_mask
        keys_masked[:, 0] &= batch.cand_mask.any(1)  # never mask every key of a row
        h = self.joint(h, src_key_padding_mask=keys_masked)
        slot_logits = self.slot_head(torch.cat([s, h[:, :, None, :].expand_as(s)], -1)).squeeze(-1)
        slot_logits = slot_logits.masked_fill(~batch.slot_mask[:, None, :], IMPOSSIBLE)
        slot_logits = slot_logits.masked_fill(~batch.cand_mask[:, :, None], IMPOSSIBLE)  # padding: always left out
        return torch.cat([self.out_head(h), slot_logits], dim=-1)

    def save(self, path) -> None:
        torch.save({"config": asdict(self.config), "state": self.state_dict()}, path)

    @classmethod
    def load(cls, path) -> PlacementPolicy:
        from m2io.errors import M2IOError

        blob = torch.load(path, map_location="cpu", weights_only=True)
        config = blob["config"]
        seen = (blob["state"]["slot_in.0.weight"].shape[1], blob["state"]["cand_in.0.weight"].shape[1])
        if seen != (SLOT_FEATURES, CAND_FEATURES):
            raise M2IOError(f"{path}: an r1 policy for {seen[0]} slot and {seen[1]} candidate features; this m2io "
                            f"makes {SLOT_FEATURES} and {CAND_FEATURES} (provenance features): train a new one "
                            "(m2io train r1 ...) or use the one in models/inserter-r1")
        net = cls(PolicyConfig(**{**config, "slot_features": seen[0], "cand_features": seen[1]}))
        net.load_state_dict(blob["state"])
        return net.eval()


def log_probs(logits: torch.Tensor) -> torch.Tensor:
    """(B, M, 1 + T) log-probabilities of each candidate's actions."""
    return torch.log_softmax(logits, dim=-1)


def plan_of(actions, logits_row, n_candidates: int) -> list[tuple[int, int]]:
    """``(candidate number, slot)`` items of one task's actions, in answer order.

    Within a slot, the candidate whose slot logit is higher comes first.
    """
    items = [(i + 1, int(a) - 1, float(logits_row[i, int(a)].detach())) for i, a in enumerate(actions[:n_candidates])
             if int(a) != LEAVE_OUT]
    return [(k, s) for k, s, _ in sorted(items, key=lambda x: (x[1], -x[2]))]


def greedy(logits: torch.Tensor, batch: Batch, leave_out_bias: float = 0.0,
           max_run: list[int] | None = None) -> list[list[tuple[int, int]]]:
    """The most likely action of every candidate (the leave-out logit lowered by ``leave_out_bias``), as plans.

    ``max_run`` (per task): at most that many figures at one slot; past it, the candidates whose slot logit is
    lowest there take their next most likely action (another slot, or leaving out), until no slot is over.
    """
    logits = logits.clone()
    if leave_out_bias:
        logits[..., LEAVE_OUT] -= leave_out_bias
    actions = logits.argmax(-1)
    plans = []
    for b in range(logits.shape[0]):
        m = int(batch.cand_mask[b].sum())
        if max_run is not None:
            actions[b, :m] = _within_runs(logits[b, :m], max_run[b])
        plans.append(plan_of(actions[b], logits[b], m))
    return plans


def _within_runs(logits: torch.Tensor, limit: int) -> torch.Tensor:
    """(m,) greedy actions with at most ``limit`` candidates per slot (the lowest slot logits move on)."""
    logits = logits.clone()
    limit = max(1, limit)
    for _ in range(logits.shape[0] * logits.shape[1]):
        actions = logits.argmax(-1)
        over = [a for a in set(actions.tolist()) if a != LEAVE_OUT and int((actions == a).sum()) > limit]
        if not over:
            return actions
        for a in over:
            members = (actions == a).nonzero().flatten()
            order = members[logits[members, a].argsort(descending=True)]
            logits[order[limit:], a] = IMPOSSIBLE
    return logits.argmax(-1)


def sample(logits: torch.Tensor, group: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, G, M) actions: ``group`` joint plans per task, each candidate drawn from its categorical."""
    probs = logits.softmax(-1)                                         # (B, M, A)
    B, M, A = probs.shape
    flat = probs.reshape(B * M, A)
    draws = torch.multinomial(flat, group, replacement=True, generator=generator)  # (B*M, G)
    return draws.reshape(B, M, group).permute(0, 2, 1)


def _random_features(m: int, n: int, dim: int = 4, seed: int = 0) -> TaskFeatures:
    rng = np.random.default_rng(seed)
    return TaskFeatures(rng.normal(size=(m, n + 1, SLOT_FEATURES)).astype(np.float32),
                        rng.normal(size=(m, CAND_FEATURES)).astype(np.float32),
                        rng.normal(size=(m, 2, dim)).astype(np.float32))
