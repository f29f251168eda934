"""The warm-up's hybrid mix: grounded answers, interleaved sections, image understanding, and
text-to-image.

Each example is a user message and the assistant's steps (:class:`~m2io.unified.trajectory.Step`):

- **grounded**: a corpus question with the pipeline's retrieved passage and candidate figures in
  the message (:mod:`m2io.unified.grounded_data`), its text steps and references to gold figures
  as the answer;
- **interleaved**: a corpus question, then its section's text steps and figures in order (each
  text step the first ``words_per_step`` words of the text between figures, at most ``max_images``
  figures);
- **understanding**: a figure or clip-art image in the message, its caption as the answer;
- **text-to-image**: a caption in the message, the image as the answer.

Image codes come from the trained image tokenizer (``codes``: picture path -> codes). Ratios are a
typed config; :func:`draw` picks a task per example with a seeded generator, so a resumed run draws
the same batches.

>>> section_steps("Title\\nOpen the dialog. <PIC> Then click OK.", [[1, 2]], words_per_step=3)
[Step(kind='text', text='Open the dialog.', codes=[], ref=None), Step(kind='image', text='', codes=[1, 2], ref=None), Step(kind='text', text='Then click OK.', codes=[], ref=None)]
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from m2io.types import PIC
from m2io.unified.trajectory import Step

UNDERSTAND = "What does this figure show?\n"
DRAW = "Draw a figure: "


TASKS = ("grounded", "interleaved", "understanding", "text_to_image")


@dataclass
class MixConfig:
    grounded: float = 0.8
    """Share of grounded answers (retrieved passage and candidates in the prompt)."""
    interleaved: float = 0.0
    """Share of closed-book interleaved sections (the first warm-up's main task)."""
    understanding: float = 0.1
    """Share of image -> caption examples."""
    text_to_image: float = 0.1
    """Share of caption -> image examples (what keeps the model able to draw)."""
    words_per_step: int = 24
    max_images: int = 2


@dataclass
class Example:
    task: str
    user: str
    steps: list[Step]
    user_image: list[int] | None = None
    """Codes of an image that opens the user message (understanding)."""
    references: int | None = None
    """How many candidate figures the message offers (grounded)."""


def _first_words(text: str, n: int) -> str:
    words = text.split()
    if len(words) <= n:
        return " ".join(words)
    cut = " ".join(words[:n])
    end = max(cut.rfind(". "), cut.rfind(": "))
    return cut[:end + 1] if end > len(cut) // 2 else cut + " …"


def section_body(content: str) -> str:
    """A section's text without its first line (the heading path the manual builder writes there)."""
    return content.split("\n", 1)[1] if "\n" in content else content


def section_steps(content: str, codes: list[list[int] | None], words_per_step: int = 40,
                  max_images: int = 2) -> list[Step]:
    """A section's text (its first line, the heading path, dropped) as text steps and image steps."""
    parts = section_body(content).split(PIC)
    steps, images = [], 0
    for k, part in enumerate(parts):
        text = _first_words(part, words_per_step)
        if text:
            steps.append(Step("text", text=text))
        if k < len(codes) and k < len(parts) - 1:
            if images >= max_images:
                break
            if codes[k] is not None:
                steps.append(Step("image", codes=list(codes[k])))
                images += 1
    return steps


def interleaved_examples(root: Path, codes: dict[str, list[int]], split: str, cfg: MixConfig) -> list[Example]:
    """One example per question of ``split`` (train, dev or all) whose section has a figure with codes."""
    from m2io.corpus.mramg import read_dataset
    from m2io.corpus.split import select_items

    ds = read_dataset(Path(root))
    docs = {d.id: d for d in ds.documents}
    out = []
    for q in select_items(ds.qa, split):
        doc = docs.get(q.provenance[0]) if q.provenance else None
        if doc is None:
            continue
        image_codes = [codes.get(str(ds.images[i].path)) if i in ds.images else None for i in doc.image_ids]
        steps = section_steps(doc.content, image_codes, cfg.words_per_step, cfg.max_images)
        if any(s.kind == "image" for s in steps):
            out.append(Example("interleaved", q.question, steps))
    return out


def understanding_example(caption: str, codes: list[int]) -> Example:
    return Example("understanding", UNDERSTAND, [Step("text", text=caption)], user_image=list(codes))


def text_to_image_example(caption: str, codes: list[int]) -> Example:
    return Example("text_to_image", DRAW + caption, [Step("image", codes=list(codes))])


def draw(pools: dict[str, list[Example]], cfg: MixConfig, rng: random.Random) -> Example:
    """One example: a task by the mix's ratios (among tasks with examples), then an example of it."""
    tasks = [t for t in TASKS if pools.get(t) and getattr(cfg, t) > 0]
    weights = [getattr(cfg, t) for t in tasks]
    task = rng.choices(tasks, weights)[0]
    return rng.choice(pools[task])
