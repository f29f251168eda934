"""One unified trajectory: text steps, drawn images and figure references in order, to token ids and
back, damage reported.

A step is ``text`` (``<think> ... </think>``), ``image`` (a drawn image: ``<vis>`` + its codes +
``</vis>``) or ``reference`` (``<vis><ref_k></vis>``: candidate figure k of the prompt, retrieved).

Parsing never fails: a generation cut inside an image span, a step left open, text outside any
step, or no end token all leave a :class:`Trajectory` with the steps that could be read and a list
of ``damage`` in words; ``well_formed`` is True only when there is none and at least one step.

>>> from m2io.unified.vocab import UnifiedVocab
>>> v = UnifiedVocab(think=0, end_think=1, vis=2, end_vis=3, image_ids=[4, 5], tokens_per_image=2, end_ids=[9],
...                  ref_ids=[10, 11])
>>> t = parse_ids([0, 7, 1, 2, 4, 5, 3, 2, 11, 3, 9], v, decode_text=lambda ids: "x" * len(ids))
>>> [(s.kind, s.text or s.codes or s.ref, s.span) for s in t.steps], t.well_formed
([('text', 'x', (0, 3)), ('image', [0, 1], (3, 7)), ('reference', 2, (7, 10))], True)
>>> parse_ids([0, 7, 1, 2, 4], v, decode_text=str).damage
['image 1 cut after 1 of 2 image tokens', 'no end token']
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from m2io.unified.vocab import UnifiedVocab


@dataclass
class Step:
    kind: str
    """``text``, ``image`` (drawn) or ``reference`` (a candidate figure)."""
    text: str = ""
    codes: list[int] = field(default_factory=list)
    ref: int | None = None
    """``reference``: the candidate's number (1-based)."""
    span: tuple[int, int] | None = field(default=None, repr=False, compare=False)
    """Token positions [start, end) of the step in the parsed ids (tags included; None: stray text)."""


@dataclass
class Trajectory:
    steps: list[Step] = field(default_factory=list)
    damage: list[str] = field(default_factory=list)
    loops_broken: int = 0
    """Tokens :class:`~m2io.unified.loop_break.LoopBreak` forbade while writing it (0: it never began a loop)."""
    lines_forbidden: int = 0
    """Text steps :class:`~m2io.unified.line_budget.LineBudget` kept from beginning a used-up passage line (their best
    first token began only lines written as often as the passage holds them)."""

    @property
    def well_formed(self) -> bool:
        return not self.damage and bool(self.steps)

    @property
    def images(self) -> list[Step]:
        """The drawn images."""
        return [s for s in self.steps if s.kind == "image"]

    @property
    def references(self) -> list[Step]:
        return [s for s in self.steps if s.kind == "reference"]

    @property
    def texts(self) -> list[Step]:
        return [s for s in self.steps if s.kind == "text"]


def step_ids(step: Step, vocab: UnifiedVocab, encode_text: Callable[[str], list[int]]) -> list[int]:
    if step.kind == "reference":
        if not step.ref or step.ref > len(vocab.ref_ids):
            raise ValueError(f"reference {step.ref} is not one of the vocabulary's {len(vocab.ref_ids)} candidates")
        return [vocab.vis, vocab.ref_ids[step.ref - 1], vocab.end_vis]
    if step.kind == "image":
        if len(step.codes) != vocab.tokens_per_image:
            raise ValueError(f"an image step needs {vocab.tokens_per_image} codes, not {len(step.codes)}")
        return [vocab.vis, *[vocab.image_ids[c] for c in step.codes], vocab.end_vis]
    return [vocab.think, *encode_text(step.text), vocab.end_think]


def trajectory_ids(steps: list[Step], vocab: UnifiedVocab, encode_text: Callable[[str], list[int]]) -> list[int]:
    return [t for s in steps for t in step_ids(s, vocab, encode_text)]


def parse_ids(ids: list[int], vocab: UnifiedVocab, decode_text: Callable[[list[int]], str]) -> Trajectory:
    """Read generated ids (the prompt excluded) into steps; what cannot be read becomes ``damage``."""
    out = Trajectory()
    mode, buf, ended, stray, ref = None, [], False, [], None
    n_images, start = 0, 0

    def close_text(complete: bool, end: int) -> None:
        text = decode_text(buf).strip()
        if text:
            out.steps.append(Step("text", text=text, span=(start, end)))
        if not complete:
            out.damage.append("text step not closed")

    for i, t in enumerate(ids):
        if t in vocab.end_ids:
            ended = True
            break
        if mode == "image":
            if vocab.is_ref(t) and not buf and ref is None:
                ref = vocab.ref_of(t)
                continue
            if vocab.is_image(t) and len(buf) < vocab.tokens_per_image and ref is None:
                buf.append(vocab.code_of(t))
                continue
            if t == vocab.end_vis and ref is not None:
                out.steps.append(Step("reference", ref=ref, span=(start, i + 1)))
            elif t == vocab.end_vis and len(buf) == vocab.tokens_per_image:
                out.steps.append(Step("image", codes=buf, span=(start, i + 1)))
            else:
                out.damage.append(f"image {n_images} malformed ({len(buf)} image tokens, "
                                  f"{'a reference, ' if ref is not None else ''}then token {t})")
            mode, buf, ref = None, [], None
            continue
        if t == vocab.vis:
            if mode == "text":
                close_text(False, i)
            mode, buf, start, ref = "image", [], i, None
            n_images += 1
        elif t == vocab.think:
            if mode == "text":
                close_text(False, i)
            mode, buf, start = "text", [], i
        elif t == vocab.end_think and mode == "text":
            close_text(True, i + 1)
            mode, buf = None, []
        elif mode == "text" and not vocab.is_image(t) and not vocab.is_ref(t):
            buf.append(t)
        else:
            stray.append(t)
    if mode == "image" and ref is not None:
        out.damage.append(f"image {n_images} (reference {ref}) not closed")
    elif mode == "image":
        out.damage.append(f"image {n_images} cut after {len(buf)} of {vocab.tokens_per_image} image tokens")
    elif mode == "text":
        close_text(False, len(ids))
    if stray:
        text = decode_text([t for t in stray if not vocab.is_image(t) and not vocab.is_ref(t)]).strip()
        out.damage.append(f"{len(stray)} tokens outside any step")
        if text:
            out.steps.append(Step("text", text=text))
    if not ended:
        out.damage.append("no end token")
    return out
