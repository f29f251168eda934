"""Fine-tune the section reranker on the training manuals' own (question, section) pairs.

For every question of a training corpus (its template questions on the *train* split, and the
user-phrased questions of ``questions/<name>.jsonl``, weighted ``user_weight`` times), the
positive is the question's gold section and the hard negatives are the other sections its
retrieved chunks come from (what the reranker will have to tell apart at answer time). The loss
is sentence-transformers' cross-encoder ``MultipleNegativesRankingLoss`` (the positive against the
hard negatives and other questions' sections in the batch). The word embeddings stay frozen, so
the saved model is the delta of the layers above them (:meth:`Reranker.save`).

Validation corpora (never trained on) are scored before and after: top-1 section accuracy of the
ranking as answers use it (reranker logit + ``prior / retrieval rank``), per kind of question, and
the ``prior`` that scores best there is written into the folder with the model.

    m2io train reranker data/gimp=index/gimp data/grass=index/grass --val data/kicad=index/kicad \\
        --questions questions --out runs/section-reranker
"""
from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from m2io.corpus.questions import TEMPLATE
from m2io.corpus.split import select_items
from m2io.sections.rank import rank_by_scores, sections_of
from m2io.sections.reranker import Reranker, RerankerConfig, base_cross_encoder, passage_text

PRIORS = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0)


@dataclass(frozen=True)
class RerankerTrainConfig:
    model: RerankerConfig = RerankerConfig()
    epochs: float = 1.0
    batch_size: int = 16
    learning_rate: float = 4e-5
    warmup_ratio: float = 0.1
    hard_negatives: int = 3
    in_batch_negatives: int = 3
    user_weight: int = 4
    """Copies of each user-phrased question (they are few, and they are what people ask)."""
    retrieve_k: int = 10
    seed: int = 0


@dataclass
class Query:
    dataset: str
    qa_id: str
    kind: str
    question: str
    gold: str
    """The gold section's key, ``<dataset>/<doc id>``."""
    retrieved: list[str]
    """Section keys in retrieval order."""
    results: list = field(default_factory=list, repr=False)
    """The retrieval results themselves (what the learned section ranker's features read)."""


def corpus_queries(ds, retriever, split: str, user_items=(), kinds: dict | None = None, k: int = 10,
                   progress: bool = False) -> list[Query]:
    """Template questions of ``split`` and the given user-phrased QA items, each with its retrieved sections."""
    from tqdm import tqdm

    items = [(q, TEMPLATE) for q in select_items(ds.qa, split) if q.provenance]
    items += [(q, (kinds or {}).get(q.id, "user")) for q in user_items]
    out = []
    for q, kind in tqdm(items, desc=f"retrieve {ds.name}", unit="q", disable=not progress):
        results = retriever.search(text=q.question, k=k)
        out.append(Query(ds.name, q.id, kind, q.question, f"{ds.name}/{q.provenance[0]}", sections_of(results),
                         results))
    return out


def top1(queries: list[Query], scores: list[list[float] | None], prior: float, sections: int) -> list[float]:
    """Per query: 1 if the ranking's first section is the gold one."""
    out = []
    for q, s in zip(queries, scores):
        ranked = rank_by_scores(q.retrieved[:sections], s, prior)
        out.append(float(bool(ranked) and ranked[0].key == q.gold))
    return out


def score_queries(reranker, queries: list[Query], reader_of, sections: int = 5) -> list:
    """The reranker's logits for each query's first ``sections`` retrieved sections (None: no reranker)."""
    if reranker is None:
        return [None] * len(queries)
    out = []
    for q in queries:
        reader = reader_of(q.dataset)
        got = reader.read(q.retrieved[:sections])
        out.append(reranker.score(q.question, [got[k] for k in q.retrieved[:sections]], q.results) if got else [])
    return out


def validation_report(queries: list[Query], scores: list, sections: int = 5) -> dict:
    """Top-1 accuracy per prior and per kind (template, user-phrased kinds, all user) at each prior."""
    from m2io.evaluate.bootstrap import bootstrap_ci

    report: dict = {"n": len(queries), "by_prior": {}}
    for prior in PRIORS:
        hits = top1(queries, scores, prior, sections)
        row = {"all": float(np.mean(hits)) if hits else 0.0}
        for kind in sorted({q.kind for q in queries}):
            sel = [h for h, q in zip(hits, queries) if q.kind == kind]
            row[kind] = float(np.mean(sel))
        user = [h for h, q in zip(hits, queries) if q.kind != TEMPLATE]
        if user:
            row["user"] = float(np.mean(user))
            row["user_ci95"] = bootstrap_ci(user)
        template = [h for h, q in zip(hits, queries) if q.kind == TEMPLATE]
        if template:
            row["template_ci95"] = bootstrap_ci(template)
        report["by_prior"][str(prior)] = row
    # The prior is chosen on user-phrased and template questions alike (each half of the weight).
    def objective(p):
        row = report["by_prior"][str(p)]
        return (row.get("user", row["all"]) + row.get(TEMPLATE, row["all"])) / 2
    report["best_prior"] = max(PRIORS, key=lambda p: (objective(p), -p))
    return report


def training_examples(queries: list[Query], reader_of, config: RerankerTrainConfig) -> list[dict]:
    """``{query, positive, negative_1..n}`` rows (the gold section and retrieved others), user questions repeated."""
    rng = random.Random(config.seed)
    rows = []
    for q in queries:
        reader = reader_of(q.dataset)
        negatives = [k for k in q.retrieved if k != q.gold][: config.hard_negatives]
        got = reader.read([q.gold, *negatives])
        if q.gold not in got or len(negatives) < config.hard_negatives or any(k not in got for k in negatives):
            continue
        row = {"query": q.question, "positive": passage_text(got[q.gold], config.model.passage_words)}
        for n, k in enumerate(negatives, 1):
            row[f"negative_{n}"] = passage_text(got[k], config.model.passage_words)
        rows += [row] * (config.user_weight if q.kind != TEMPLATE else 1)
    rng.shuffle(rows)
    return rows


def train_reranker(train_queries: list[Query], val_queries: list[Query], reader_of, out: Path,
                   config: RerankerTrainConfig = RerankerTrainConfig(), progress: bool = True) -> dict:
    """Train, score validation before and after, save the model with its record; the record."""
    import tempfile

    import torch
    from datasets import Dataset as HFDataset
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import MultipleNegativesRankingLoss

    start = time.perf_counter()
    torch.manual_seed(config.seed)
    rows = training_examples(train_queries, reader_of, config)
    if not rows:
        raise ValueError("no training examples: every question needs its gold section and enough retrieved others")
    model = base_cross_encoder(config.model)
    for p in model.model.bert.embeddings.parameters():
        p.requires_grad = False
    reranker = Reranker(model, config.model)
    before = validation_report(val_queries, score_queries(None, val_queries, reader_of)) if val_queries else None
    steps = max(1, int(-(-len(rows) // config.batch_size) * config.epochs))
    with tempfile.TemporaryDirectory() as tmp:
        args = CrossEncoderTrainingArguments(
            output_dir=tmp, num_train_epochs=config.epochs, per_device_train_batch_size=config.batch_size,
            learning_rate=config.learning_rate, warmup_ratio=config.warmup_ratio, seed=config.seed,
            save_strategy="no", report_to="none", logging_steps=max(1, min(10, steps // 5)), use_cpu=True,
            disable_tqdm=not progress)
        trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=HFDataset.from_list(rows),
                                      loss=MultipleNegativesRankingLoss(model, num_negatives=config.in_batch_negatives))
        trainer.train()
        losses = [(h["step"], round(h["loss"], 4)) for h in trainer.state.log_history if "loss" in h]
    model.model.eval()
    after = validation_report(val_queries, score_queries(reranker, val_queries, reader_of)) if val_queries else None
    counts: dict[str, int] = {}
    for q in train_queries:
        counts[f"{q.dataset}/{'template' if q.kind == TEMPLATE else 'user'}"] = counts.get(
            f"{q.dataset}/{'template' if q.kind == TEMPLATE else 'user'}", 0) + 1
    record = {"prior": after["best_prior"] if after else 1.0, "train_config": asdict(config), "queries": counts,
              "examples": len(rows), "losses": losses, "validation_retrieval_order": before,
              "validation": after, "seconds": round(time.perf_counter() - start, 1)}
    reranker.save(out, record)
    return record
