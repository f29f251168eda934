"""``m2io ask --generator unified``: the unified model writes the answer, images included, and each
generated image is matched against the corpus (retrieve or generate).

The model answers from the question (and the query image's codes, when there is one); every
generated image is decoded to PNG and looked up among the index's figures by visual similarity.
At ``snap_threshold`` or above, the real figure is shown and the generated one kept beside it;
below, the generated image is shown with its nearest figure named. A generation that does not
parse (cut inside an image span, a step left open) is rendered as far as it goes, with its damage.

>>> answer = UnifiedAnswerer(UnifiedModel.load("runs/unified-warmup"), retriever).ask("How do I crop?")  # doctest: +SKIP
"""
from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from m2io.unified.model import UnifiedModel
from m2io.unified.tokenizer import TokenizerError, png_bytes


@dataclass
class Figure:
    """The corpus figure nearest a generated image."""

    image_id: str
    dataset: str
    caption: str
    path: str
    similarity: float
    shown: bool
    """True when it is shown in place of the generated image (similarity at the threshold or above)."""


@dataclass
class AnswerStep:
    kind: str
    text: str = ""
    png: bytes = b""
    codes: list[int] = field(default_factory=list)
    figure: Figure | None = None


@dataclass
class UnifiedAnswer:
    question: str
    steps: list[AnswerStep]
    damage: list[str]
    well_formed: bool
    tokens_generated: int
    timings: dict[str, float]
    snap_threshold: float


def nearest_figure(retriever, visual, threshold: float) -> Figure | None:
    """The index's figure nearest ``visual`` (an image's unit visual vector from the index's image encoder)."""
    hits = retriever.store.search_images(visual, 1, "visual")
    rows = retriever.store.images([h.id for h in hits])
    if not hits or hits[0].id not in rows:
        return None
    row, score = rows[hits[0].id], float(hits[0].score)
    return Figure(row.image_id, row.dataset, row.caption, row.path, round(score, 4), score >= threshold)


class UnifiedAnswerer:
    def __init__(self, model: UnifiedModel, retriever=None, snap_threshold: float = 0.8, max_new_tokens: int = 256,
                 temperature: float = 0.0, image_temperature: float | None = 1.0, seed: int | None = 0):
        """Defaults as the benchmark's (:class:`~m2io.evaluate.interleaved.InterleavedConfig`): greedy text, images
        drawn at temperature 1."""
        self.model, self.retriever, self.snap_threshold = model, retriever, snap_threshold
        self.max_new_tokens, self.temperature, self.seed = max_new_tokens, temperature, seed
        self.image_temperature = image_temperature

    def ask(self, question: str, image: str | Path | None = None) -> UnifiedAnswer:
        from m2io.encoders.image import load_image

        t0 = time.perf_counter()
        user = question
        if image is not None:
            user = self.model.image_text(self.model.image_codes([load_image(image)])[0]) + "\n" + question
        # the seed is offset by the question, so an answer repeats itself but two questions draw different images
        seed = None if self.seed is None else (self.seed + zlib.crc32(user.encode())) % 2**31
        ids, traj = self.model.generate([user], max_new_tokens=self.max_new_tokens, temperature=self.temperature,
                                        seed=seed, image_temperature=self.image_temperature)[0]
        t1 = time.perf_counter()
        steps, damage = [], list(traj.damage)
        for s in traj.steps:
            if s.kind == "text":
                steps.append(AnswerStep("text", text=s.text))
                continue
            try:
                picture = self.model.decode_image(s.codes)
            except TokenizerError as e:  # a codec without a decoder (Chameleon): keep the codes, say why
                damage.append(f"image {len(steps)} not decoded: {e}")
                steps.append(AnswerStep("image", codes=s.codes))
                continue
            figure = None
            if self.retriever:
                visual = self.retriever.models.image.encode([picture]).visual[0]
                figure = nearest_figure(self.retriever, visual, self.snap_threshold)
            steps.append(AnswerStep("image", png=png_bytes(picture), codes=s.codes, figure=figure))
        t2 = time.perf_counter()
        return UnifiedAnswer(question, steps, damage, not damage and traj.well_formed, len(ids),
                             {"generate": t1 - t0, "decode_and_match": t2 - t1, "total": t2 - t0}, self.snap_threshold)
