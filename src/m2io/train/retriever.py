"""Fine-tune the text encoder so that a section's title finds the section's content.

Corpora built from manuals open each document with its heading path, and retrieval leans on it.
When the heading is not in the text (other corpora, people's own words), the encoder must match a
topic to the content that explains it. This trains exactly that on the *train split* of manual
corpora: the anchor is a section's title (or its last two heading levels), the positive is each
chunk of that section as the index embeds it (captions included) with the heading line removed;
other sections in the batch are the negatives (sentence-transformers' MultipleNegativesRankingLoss,
no duplicate texts per batch). The questions' templates are never used.

    m2io train retriever data/gimp data/grass data/gnumeric --out index/retriever
    m2io index data/kicad --out index/kicad --text-model index/retriever

>>> pairs = section_pairs(Dataset("d", [Document("p#a", "Tools > Align\\nThe Align tool lines up layers.", [])],
...                       sources={"p#a": DocSource("M", "Align", ["Tools", "Align"])}), split="all")
>>> pairs[0]["anchor"], pairs[0]["positive"]
('Align', 'The Align tool lines up layers.')
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from m2io.corpus.chunk import ChunkConfig, chunk_document
from m2io.corpus.mramg import Dataset
from m2io.corpus.split import split_of_doc
from m2io.corpus.variant import strip_headings
from m2io.index.build import embedding_text
from m2io.types import DocSource, Document  # noqa: F401  (the doctest builds them)

CARD = "m2io-retriever.json"


@dataclass(frozen=True)
class RetrieverTrainConfig:
    epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 3e-5
    warmup_ratio: float = 0.1
    max_seq_length: int = 256
    seed: int = 0
    dev_fraction: float = 0.2
    """Documents whose id hashes below this are the dev split, never trained on."""
    max_pairs: int | None = None
    hard_negatives: bool = False
    """Add to each pair the BM25-nearest chunk of another section of the same manual (a harder negative
    than the batch's random others)."""


def section_pairs(ds: Dataset, split: str = "train", dev_fraction: float = 0.2, chunking: ChunkConfig = ChunkConfig()
                  ) -> list[dict]:
    """(title, chunk) pairs of the documents of ``split`` that have a heading path in the sources sidecar."""
    return [pair for _, pair in _doc_pairs(ds, split, dev_fraction, chunking)]


def _doc_pairs(ds: Dataset, split: str, dev_fraction: float, chunking: ChunkConfig = ChunkConfig()
               ) -> list[tuple[str, dict]]:
    """:func:`section_pairs`, each with the id of the document it comes from."""
    stripped, _ = strip_headings(ds)
    pairs = []
    for doc in stripped.documents:
        source = ds.sources.get(doc.id)
        if source is None or not source.heading_path or not doc.content.strip():
            continue
        if split != "all" and split_of_doc(doc.id, dev_fraction) != split:
            continue
        path = source.heading_path
        anchors = [path[-1]] + ([" ".join(path[-2:])] if len(path) > 1 else [])
        heading = doc.content.split("\n", 1)[0][:200]
        for n, chunk in enumerate(chunk_document(doc, chunking)):
            captions = [ds.images[i].caption if i in ds.images else "" for i in chunk.image_ids]
            text = embedding_text(chunk.text, captions, heading, n == 0)
            pairs.append((doc.id, {"anchor": anchors[n % len(anchors)], "positive": text}))
    return pairs


def add_hard_negatives(pairs: list[dict], doc_of: list[str]) -> list[dict]:
    """Give each pair the chunk BM25 ranks highest for its anchor among chunks of *other* documents."""
    from m2io.index.lexical import Bm25Index

    index = Bm25Index.build([(str(n), p["positive"]) for n, p in enumerate(pairs)])
    out = []
    for n, p in enumerate(pairs):
        hits = index.search(p["anchor"], k=20)
        other = next((int(h.id) for h in hits if doc_of[int(h.id)] != doc_of[n]), None)
        if other is not None:
            out.append({**p, "negative": pairs[other]["positive"]})
    return out


def train_retriever(datasets: list[Dataset], out: Path, config: RetrieverTrainConfig = RetrieverTrainConfig(),
                    base_model: str | None = None, progress: bool = True) -> dict:
    """Fine-tune the encoder (default: the bundled all-MiniLM-L6-v2) and save it with a card to ``out``."""
    import random
    import tempfile

    from datasets import Dataset as HFDataset
    from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                       SentenceTransformerTrainingArguments)
    from sentence_transformers.losses import MultipleNegativesRankingLoss
    from sentence_transformers.training_args import BatchSamplers

    from m2io.encoders.text import offline
    from m2io.metrics.text import bundled_minilm_path

    offline()
    start = time.perf_counter()
    pairs, per_dataset = [], {}
    for ds in datasets:
        tagged = _doc_pairs(ds, "train", config.dev_fraction)
        per_dataset[ds.name] = len(tagged)
        got = [pair for _, pair in tagged]
        pairs += add_hard_negatives(got, [doc for doc, _ in tagged]) if config.hard_negatives else got
    if not pairs:
        raise ValueError("no training pairs: the datasets need a sources sidecar (build them with m2io corpus manual)")
    random.Random(config.seed).shuffle(pairs)
    if config.max_pairs:
        pairs = pairs[: config.max_pairs]
    model = SentenceTransformer(base_model or bundled_minilm_path(), device="cpu")
    model.max_seq_length = config.max_seq_length
    with tempfile.TemporaryDirectory() as tmp:
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp, num_train_epochs=config.epochs, per_device_train_batch_size=config.batch_size,
            learning_rate=config.learning_rate, warmup_ratio=config.warmup_ratio, seed=config.seed,
            batch_sampler=BatchSamplers.NO_DUPLICATES, save_strategy="no", report_to="none", logging_steps=10,
            use_cpu=True, disable_tqdm=not progress)
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=HFDataset.from_list(pairs),
                                             loss=MultipleNegativesRankingLoss(model))
        trainer.train()
        losses = [(h["step"], h["loss"]) for h in trainer.state.log_history if "loss" in h]
    out = Path(out)
    model.save(str(out))
    card = {"base_model": base_model or "all-MiniLM-L6-v2 (bundled)", "config": asdict(config),
            "datasets": per_dataset,
            "pairs": len(pairs), "losses": losses, "seconds": round(time.perf_counter() - start, 1)}
    (out / CARD).write_text(json.dumps(card, indent=1) + "\n")
    return card
