"""Train the learned section ranker (:mod:`m2io.sections.scorer`) on the training manuals' questions.

Each question (template questions of the train split, and the user-phrased questions of
``questions/<name>.jsonl``, repeated ``user_weight`` times) is retrieved once; its candidate sections
are the first ``sections`` distinct sections of the retrieved chunks, featurised
(:func:`m2io.sections.features.section_features`); a question whose gold section is not among them
teaches nothing and is left out of training (it still counts, as a miss, in validation). Full-batch
Adam on the listwise loss; the epoch with the best validation top-1 (template and user-phrased
questions weighing half each) is kept. Seconds on a CPU, once the questions are retrieved.

    m2io train section-ranker data/gimp=index/gimp ... --val data/kicad=index/kicad --questions questions \\
        --out runs/section-ranker
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from m2io.corpus.questions import TEMPLATE
from m2io.sections.features import section_features
from m2io.sections.scorer import ScorerNet, SectionScorer, listwise_loss, stack


@dataclass(frozen=True)
class SectionRankerTrainConfig:
    sections: int = 6
    """Candidate sections per question (in retrieval order)."""
    hidden: int = 32
    epochs: int = 300
    lr: float = 3e-3
    weight_decay: float = 1e-4
    user_weight: int = 3
    seed: int = 0


def featurise(queries, reader_of, encoder, sections: int) -> list[tuple[np.ndarray, int | None]]:
    """Per query: its candidates' features and the gold's index among them (None: not a candidate)."""
    out = []
    for q in queries:
        keys = q.retrieved[:sections]
        got = reader_of(q.dataset).read(keys)
        keys = [k for k in keys if k in got]
        x = section_features(q.question, keys, got, q.results, encoder)
        out.append((x, keys.index(q.gold) if q.gold in keys else None))
    return out


def _top1(net, rows) -> list[float]:
    with torch.no_grad():
        return [float(gold is not None and len(x) > 0 and int(net(torch.from_numpy(x)).argmax()) == gold)
                for x, gold in rows]


def _objective(hits: list[float], kinds: list[str]) -> float:
    template = [h for h, k in zip(hits, kinds) if k == TEMPLATE]
    user = [h for h, k in zip(hits, kinds) if k != TEMPLATE]
    parts = [float(np.mean(p)) for p in (template, user) if p]
    return float(np.mean(parts)) if parts else 0.0


def report(hits: list[float], kinds: list[str]) -> dict:
    from m2io.evaluate.bootstrap import bootstrap_ci

    out: dict = {"n": len(hits), "all": float(np.mean(hits)) if hits else 0.0}
    for kind in sorted(set(kinds)):
        out[kind] = float(np.mean([h for h, k in zip(hits, kinds) if k == kind]))
    for label, sel in ((TEMPLATE, [h for h, k in zip(hits, kinds) if k == TEMPLATE]),
                       ("user", [h for h, k in zip(hits, kinds) if k != TEMPLATE])):
        if sel:
            out[label] = float(np.mean(sel))
            out[f"{label}_ci95"] = bootstrap_ci(sel)
    return out


def train_section_ranker(train_q, val_q, reader_of, encoder, out, config=SectionRankerTrainConfig(),
                         progress: bool = True) -> dict:
    """Train, keep the best validation epoch, save to ``out``; the record."""
    from tqdm import tqdm

    start = time.perf_counter()
    torch.manual_seed(config.seed)
    train_rows = featurise(train_q, reader_of, encoder, config.sections)
    val_rows = featurise(val_q, reader_of, encoder, config.sections)
    weights = [config.user_weight if q.kind != TEMPLATE else 1 for q in train_q]
    usable = [(x, g) for (x, g), w in zip(train_rows, weights) for _ in range(w) if g is not None and len(x) > 1]
    if not usable:
        raise ValueError("no training questions whose gold section is among the retrieved ones")
    x, mask = stack([r for r, _ in usable], config.sections)
    gold = torch.tensor([g for _, g in usable])
    net = ScorerNet(x.shape[-1], config.hidden)
    flat = x[mask]
    net.mean.data, net.std.data = flat.mean(0), flat.std(0).clamp_min(1e-3)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    val_kinds = [q.kind for q in val_q]
    baseline = [float(gold is not None and gold == 0) for _, gold in val_rows]  # retrieval order's first section
    best = {"score": -1.0, "epoch": 0, "state": None}
    losses = []
    for epoch in tqdm(range(1, config.epochs + 1), desc="section ranker", unit="epoch", disable=not progress):
        net.train()
        loss = listwise_loss(net(x), mask, gold)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        net.eval()
        score = _objective(_top1(net, val_rows), val_kinds) if val_rows else -float(loss)
        if score > best["score"] + 1e-9:
            best = {"score": score, "epoch": epoch, "state": {k: v.clone() for k, v in net.state_dict().items()}}
        if epoch % 10 == 0 or epoch == 1:
            losses.append((epoch, round(float(loss.detach()), 4)))
    net.load_state_dict(best["state"])
    net.eval()
    scorer = SectionScorer(net, encoder)
    counts: dict[str, int] = {}
    for q in train_q:
        key = f"{q.dataset}/{TEMPLATE if q.kind == TEMPLATE else 'user'}"
        counts[key] = counts.get(key, 0) + 1
    record = {"config": asdict(config), "queries": counts, "examples": len(usable), "best_epoch": best["epoch"],
              "losses": losses, "train_top1": report(_top1(net, train_rows), [q.kind for q in train_q]),
              "validation_retrieval_order": report(baseline, val_kinds) if val_rows else None,
              "validation": report(_top1(net, val_rows), val_kinds) if val_rows else None,
              "seconds": round(time.perf_counter() - start, 1)}
    scorer.save(out, record)
    return record
