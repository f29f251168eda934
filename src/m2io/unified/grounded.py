"""The grounded unified prompt: the question, the retrieved passage with its figures where the manual
has them, and every candidate figure's caption, each figure named by its reference token.

The passage is the M2IO pipeline's own text answer (the ``focused`` answerer: the best retrieved
section, its most relevant part), cut to ``passage_words``; a candidate figure that stands inside
it (its provenance, as the ``source`` inserter reads it) is marked there as ``<vis><ref_k></vis>``,
the very form the model writes to show it, and one that stands in the part cut off is marked after
the last text line (the cut keeps the answer fast; it need not hide the section's figures). Below
the passage, every candidate (the section's figures and retrieved figures of other sections) is
listed with its reference token and caption.
The answer is text steps copied or condensed from the passage and image steps: a reference (show
candidate k) or a drawn image (the image tokenizer's codes).

>>> from m2io.types import Candidate, Image, Origin
>>> cands = [Candidate(1, Image("a", None, "The toolbox"), origin=Origin("s", position=1)),
...          Candidate(2, Image("b", None, "A dialog"))]
>>> prov = [Origin("s", position=0), Origin("s", position=1)]
>>> steps = passage_steps(["Open it.", "Then click."], cands, prov, GroundedConfig(passage_words=10))
>>> [(s.kind, s.text or s.ref) for s in steps]
[('text', 'Open it.'), ('reference', 1), ('text', 'Then click.')]
>>> print(grounded_user("How?", steps, cands))
Question: How?
<BLANKLINE>
Passage:
Open it.
<vis><ref_1></vis>
Then click.
<BLANKLINE>
Figures:
<ref_1> The toolbox
<ref_2> A dialog
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from m2io.unified.trajectory import Step
from m2io.unified.vocab import END_VIS, VIS, ref_token
from m2io.words import first_words, word_count


@dataclass(frozen=True)
class GroundedConfig:
    passage_words: int = 110
    """Words of the pipeline's answer kept in the prompt (the answer copies at most these: latency)."""
    caption_words: int = 16
    """Words kept of each candidate's caption."""
    past_figures: bool = True
    """The section's figures that stand past the passage's end follow its last text step (the answer may still
    show them: they are the likeliest gold figures the cut would hide); False drops those that stand after the
    first sentence cut off (the one just before it stays, above the cut)."""


FIRST_FORM = GroundedConfig(past_figures=False)
"""The prompt of models, cached drafts and checkpoints from before they recorded theirs."""


def _cut(text: str, words: int) -> str:
    """The first ``words`` words of ``text`` (:func:`m2io.words.word_count`'s), ending at a sentence end when one
    is past half of them.

    >>> _cut("One two three. Four five six.", 4), _cut("あいうえお。かきく", 7)
    ('One two three.', 'あいうえお。')
    """
    if word_count(text) <= words:
        return text.strip()
    cut = first_words(text, words)
    end = max(cut.rfind(". "), cut.rfind(": "), cut.rfind("! "), cut.rfind("? "), *(cut.rfind(m) for m in "。！？"))
    return cut[:end + 1] if end > len(cut) // 2 else cut


def passage_steps(segments: list[str], candidates, provenance, cfg: GroundedConfig = GroundedConfig()) -> list[Step]:
    """The answer's segments (text steps, whole, within ``passage_words``; only a first segment longer than that is
    cut) with a reference step for each candidate that stands among them in its section (the ``source``
    inserter's slots); with ``cfg.past_figures``, those of the segments past the budget follow the last text step."""
    return passage_windows(segments, candidates, provenance, cfg, windows=1)[0]


def passage_windows(segments: list[str], candidates, provenance, cfg: GroundedConfig = GroundedConfig(),
                    windows: int = 1) -> list[list[Step]]:
    """The answer's segments as up to ``windows`` passages of ``passage_words`` each, in reading order (the next
    one starts at the first segment the last one left out), every figure marked once, in the window where it
    stands (one that would open a window without text follows the window before); the figures past the last
    window follow its last text step (``cfg.past_figures``). Each window is a
    passage of the length the model learned, so a longer answer is a few prompts it knows, not one it never saw.

    >>> from m2io.types import Candidate, Image, Origin
    >>> cands = [Candidate(1, Image("a", None, "x"), origin=Origin("s", position=2))]
    >>> prov = [Origin("s", position=i) for i in range(3)]
    >>> ws = passage_windows(["One two.", "Three four.", "Five six."], cands, prov, GroundedConfig(passage_words=4), 2)
    >>> [[s.text or s.ref for s in w] for w in ws]  # the figure before "Five six." stays above the cut
    [['One two.', 'Three four.', 1], ['Five six.']]
    """
    from m2io.insert.source import SourceInserter

    placed = SourceInserter().insert("", segments, candidates, provenance).placements
    number = {c.image.id: c.k for c in candidates}
    shown: set[int] = set()  # a figure that two candidates carry (one image id) is marked once, where it first stands

    def mark(steps: list[Step], p) -> None:
        if number[p.image_id] not in shown:
            steps.append(Step("reference", ref=number[p.image_id]))
            shown.add(number[p.image_id])

    out: list[list[Step]] = []
    kept = 0
    while len(out) < windows and (kept < len(segments) or not out):
        steps: list[Step] = []
        left, first = cfg.passage_words, kept
        for i in range(first, len(segments)):
            for p in placed:
                if p.slot == i:
                    mark(steps, p)
            words = word_count(segments[i])
            if i > first and words > left:  # whole sentences only: the window ends before one that does not fit
                break
            text = segments[i].strip() if words <= left else _cut(segments[i], left)  # a first one too long is cut
            if text:
                steps.append(Step("text", text=text))
            left -= word_count(text)
            kept = i + 1
        if out and not any(s.kind == "text" for s in steps):  # no text to answer (blank segments): its figures
            out[-1] += steps                                  # join the window before, never a prompt of their own
        else:
            out.append(steps)
    if kept == len(segments) or cfg.past_figures:
        for p in sorted(placed, key=lambda p: p.slot):
            if p.slot >= kept:
                mark(out[-1], p)
    return [_lead_with_text(steps) for steps in out]


def _lead_with_text(steps: list[Step]) -> list[Step]:
    """An answer opens with text (the pipeline's lead_text): figures above the first text step move below it."""
    lead = next((i for i, s in enumerate(steps) if s.kind == "text"), None)
    return [steps[lead], *steps[:lead], *steps[lead + 1:]] if lead else steps


def reference_text(k: int) -> str:
    return VIS + ref_token(k) + END_VIS


def grounded_user(question: str, steps: list[Step], candidates, cfg: GroundedConfig = GroundedConfig()) -> str:
    """The user message: the question, the passage (one line per step), the candidates' captions."""
    lines = [f"Question: {question.strip()}", "", "Passage:"]
    lines += [s.text if s.kind == "text" else reference_text(s.ref) for s in steps if s.kind in ("text", "reference")]
    lines += ["", "Figures:"]
    lines += [f"{ref_token(c.k)} {_cut(' '.join((c.image.caption or 'a figure').split()), cfg.caption_words)}"
              for c in candidates]
    return "\n".join(lines)


def marked_references(user: str) -> list[int]:
    """The candidates a grounded user message's passage marks, in order.

    >>> marked_references(chr(10).join(["Question: q", "", "Passage:", "A.", "<vis><ref_2></vis>", "", "Figures:",
    ...                                 "<ref_2> x", "<ref_5> y"]))
    [2]
    """
    passage = user.split("\nPassage:\n", 1)[-1].split("\n\nFigures:\n", 1)[0]
    return [int(m) for m in re.findall(re.escape(VIS) + r"<ref_(\d+)>" + re.escape(END_VIS), passage)]


def target_steps(steps: list[Step], candidates, gold_ids) -> list[Step]:
    """What the warm-up teaches for a passage: its text steps, and its references to gold figures only."""
    gold = set(gold_ids)
    image_of = {c.k: c.image.id for c in candidates}
    return [s for s in steps if s.kind == "text" or (s.kind == "reference" and image_of.get(s.ref) in gold)]
