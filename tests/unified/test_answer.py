"""Unified answers: a damaged generation renders its text and names the damage; a grounded answer from the
tiny model over the tiny index refers to a retrieved figure, draws another, and renders in every format."""
import json

import pytest

from m2io.retrieve import Retriever
from m2io.unified.answer import AnswerStep, UnifiedAnswer, UnifiedAnswerer, UnifiedConfig, as_interleaved
from m2io.unified.model import UnifiedModel
from m2io.unified.render import render_unified
from m2io.unified.trajectory import parse_ids


def test_cut_generation_renders_text_and_damage(tiny_unified_dir):
    model = UnifiedModel.load(tiny_unified_dir)
    v = model.vocab
    ids = [v.think, *model.text_ids("Open the dialog."), v.end_think, v.vis, *v.image_ids[:10]]  # cut in the image
    traj = parse_ids(ids, v, lambda t: model.tokenizer.decode(t, skip_special_tokens=True))
    answer = UnifiedAnswer("How?", [AnswerStep("text", text=s.text) for s in traj.texts], traj.damage,
                           traj.well_formed, len(ids), {"total": 0.1}, 0.8)
    md, page = render_unified(answer, "md"), render_unified(answer, "html")
    data = json.loads(render_unified(answer, "json"))
    assert "Open the dialog." in md and "cut after 10 of 64 image tokens" in md
    assert "Open the dialog." in page and "damaged" in page
    assert data["well_formed"] is False and data["steps"] == [{"kind": "text", "text": "Open the dialog."}]


class Script:
    """Steer the noise model through a fixed plan of tokens (None: leave the step to the model and the grammar)."""

    def __init__(self, plan, prompt_len):
        self.plan, self.prompt_len = plan, prompt_len

    def __call__(self, input_ids, scores):
        n = input_ids.shape[1] - self.prompt_len
        if n < len(self.plan) and self.plan[n] is not None:
            scores[:, self.plan[n]] += 1000.0
        return scores


def _steer(model, plan):
    """Steer every later generation of ``model`` through ``plan``."""
    original = model.lm.generate

    def generate(**kw):
        kw["logits_processor"].insert(0, Script(plan, kw["input_ids"].shape[1]))
        return original(**kw)

    model.lm.generate = generate


def _answer(model, retriever, plan, lookup=None, config=None):
    """The answer to a crop question with every generation steered through ``plan``."""
    config = config or UnifiedConfig(max_new_tokens=90, snap_threshold=-1.0, lookup=lookup)
    answerer = UnifiedAnswerer(model, retriever, config)
    _steer(model, plan)
    return answerer.ask("How do I crop an image?")


def _indexed_answer(model, tiny_index, plan, config):
    """:func:`_answer` over the tiny index, opened and closed around it."""
    retriever = Retriever.open(tiny_index / "index")
    try:
        return _answer(model, retriever, plan, config=config)
    finally:
        retriever.close()


def test_grounded_answer_refers_and_draws(tiny_unified_dir, tiny_index):
    model = UnifiedModel.load(tiny_unified_dir)
    v = model.vocab
    text = model.text_ids("Select the crop tool.")
    # a text step, candidate 1 shown, another text step, a drawn image (64 codes left to the model), the end
    plan = [v.think, *text, v.end_think, v.vis, v.ref_ids[0], v.end_vis, v.think, *text, v.end_think,
            v.vis, v.image_ids[5], *[None] * 63, v.end_vis, v.end_ids[0]]
    retriever = Retriever.open(tiny_index / "index")
    try:
        answer = _answer(model, retriever, plan)
    finally:
        retriever.close()
    assert answer.well_formed and answer.damage == []
    assert [s.kind for s in answer.steps] == ["text", "reference", "text", "image"]
    ref = answer.steps[1]
    first = answer.candidates[0]
    assert ref.ref == 1 and ref.figure.image_id == first.image.id and ref.figure.dataset == "tiny"
    assert "<vis><ref_1></vis>" in answer.prompt or "<ref_1>" in answer.prompt
    drawn = answer.steps[3]
    assert len(drawn.codes) == 64 and drawn.png[:4] == b"\x89PNG" and drawn.figure.shown
    ia = answer.interleaved
    assert ia.segments == ["Select the crop tool.", "Select the crop tool."]
    assert [(p.image_id, p.slot) for p in ia.placements] == [(first.image.id, 1)]
    assert ia.sources  # the pipeline's sources for the same draft
    page = render_unified(answer, "html")
    assert page.count("<img") == 3  # the referenced figure, the drawn image and the figure it matched
    data = json.loads(render_unified(answer, "json"))
    assert [s["kind"] for s in data["steps"]] == ["text", "reference", "text", "image"]
    assert data["steps"][1]["figure"]["image_id"] == first.image.id and data["sources"]


def test_prompt_lookup_writes_the_same_answer(tiny_unified_dir, tiny_index):
    model = UnifiedModel.load(tiny_unified_dir)
    retriever = Retriever.open(tiny_index / "index")
    try:
        plain = UnifiedAnswerer(model, retriever, UnifiedConfig(max_new_tokens=40, lookup=None)).ask("How do I crop?")
        fast = UnifiedAnswerer(model, retriever, UnifiedConfig(max_new_tokens=40, lookup=5)).ask("How do I crop?")
    finally:
        retriever.close()
    assert [(s.kind, s.text, s.ref) for s in plain.steps] == [(s.kind, s.text, s.ref) for s in fast.steps]
    assert plain.tokens_generated == fast.tokens_generated > 0


def test_as_interleaved_skips_unknown_and_repeated_figures():
    from m2io.types import Candidate, Image

    cands = [Candidate(1, Image("a", None)), Candidate(2, Image("b", None))]
    steps = [AnswerStep("reference", ref=2), AnswerStep("text", text="One."), AnswerStep("reference", ref=1),
             AnswerStep("reference", ref=1), AnswerStep("text", text="Two.")]
    segments, placements = as_interleaved(steps, cands)
    assert segments == ["One.", "Two."]
    assert [(p.image_id, p.slot) for p in placements] == [("b", 1), ("a", 1)]  # lead figure under the first step


def _passage_words(prompt: str) -> int:
    passage = prompt.split("\nPassage:\n", 1)[1].split("\n\nFigures:\n", 1)[0]
    return sum(len(line.split()) for line in passage.splitlines() if not line.startswith("<vis>"))


def test_passage_words_sets_the_prompt_and_the_budget(tiny_unified_dir, tiny_index):
    model = UnifiedModel.load(tiny_unified_dir)
    retriever = Retriever.open(tiny_index / "index")
    try:
        trained = UnifiedAnswerer(model, retriever, UnifiedConfig(max_new_tokens=8, windows=1))
        short = UnifiedAnswerer(model, retriever, UnifiedConfig(max_new_tokens=8, passage_words=4, windows=1))
        full, cut = trained.ask("How do I crop?"), short.ask("How do I crop?")
        assert trained.grounded.passage_words == model.grounded_config().passage_words
        assert short.grounded.passage_words == 4
        assert 0 < _passage_words(cut.prompt) < _passage_words(full.prompt)
        assert cut.prompt.split("\n\nFigures:\n")[1] == full.prompt.split("\n\nFigures:\n")[1]  # same candidates
        assert UnifiedAnswerer(model, retriever, UnifiedConfig()).max_new_tokens == 320
        assert UnifiedAnswerer(model, retriever, UnifiedConfig(passage_words=220)).max_new_tokens == 640
        assert UnifiedAnswerer(model, retriever, UnifiedConfig(max_new_tokens=50, passage_words=250)).max_new_tokens == 50
        with pytest.raises(ValueError, match="passage_words must be at least 1"):
            UnifiedAnswerer(model, retriever, UnifiedConfig(passage_words=0))
    finally:
        retriever.close()


def test_windows_answer_the_passage_in_turn_and_show_a_figure_once(tiny_unified_dir, tiny_index):
    model = UnifiedModel.load(tiny_unified_dir)
    v = model.vocab
    text = model.text_ids("Select the crop tool.")
    plan = [v.think, *text, v.end_think, v.vis, v.ref_ids[0], v.end_vis, v.end_ids[0]]  # each window: text, ref 1
    retriever = Retriever.open(tiny_index / "index")
    try:
        one = UnifiedAnswerer(model, retriever, UnifiedConfig(max_new_tokens=40, passage_words=4, windows=1))
        two = UnifiedAnswerer(model, retriever, UnifiedConfig(max_new_tokens=40, passage_words=4, windows=2),
                              pipeline=one.pipeline)
        _steer(model, plan)
        a, b = one.ask("How do I crop an image?"), two.ask("How do I crop an image?")
        streamed = list(two.stream("How do I crop an image?"))
    finally:
        retriever.close()
    first, whole = streamed  # the answer after window 1, then the whole: what ask returns
    assert first.partial and not first.well_formed and first.interleaved is None and len(first.prompts) == 1
    assert [s.kind for s in first.steps] == ["text", "reference"] and first.tokens_generated == a.tokens_generated
    assert not whole.partial and [s.kind for s in whole.steps] == [s.kind for s in b.steps]
    assert whole.interleaved.segments == b.interleaved.segments and whole.tokens_generated == b.tokens_generated
    assert len(a.prompts) == 1 and len(b.prompts) == 2 and b.prompts[0] == a.prompts[0]
    assert _passage_words(b.prompts[1]) > 0 and b.prompts[1] != b.prompts[0]  # the next words of the passage
    assert b.well_formed and b.tokens_generated == 2 * a.tokens_generated
    assert [s.kind for s in a.steps] == ["text", "reference"]
    assert [s.kind for s in b.steps] == ["text", "reference", "text"]  # the second window's ref 1 is not repeated
    assert b.interleaved.segments == ["Select the crop tool."] * 2 and len(b.interleaved.placements) == 1
    with pytest.raises(ValueError, match="windows must be at least 1"):
        UnifiedAnswerer(model, None, UnifiedConfig(windows=0))


def test_a_looping_text_step_is_cut_and_named(tiny_unified_dir, tiny_index):
    model = UnifiedModel.load(tiny_unified_dir)
    v = model.vocab
    good, bad = model.text_ids("Select the crop tool."), model.text_ids("Open it. Larger than 1" + "0" * 40)
    plan = [v.think, *good, v.end_think, v.think, *bad, v.end_think, v.end_ids[0]]
    answer = _indexed_answer(model, tiny_index, plan, UnifiedConfig(max_new_tokens=90, windows=1, loop_break=False))
    assert [s.text for s in answer.steps] == ["Select the crop tool.", "Open it."]
    assert "text step 2 looped: cut at the loop" in answer.damage and not answer.well_formed


def test_a_loop_stops_the_generation_before_the_budget(tiny_unified_dir, tiny_index):
    model = UnifiedModel.load(tiny_unified_dir)
    v = model.vocab
    unit = model.text_ids(" 0")
    plan = [v.think, *model.text_ids("Open it. Larger than 1"), *unit * 200]
    answer = _indexed_answer(model, tiny_index, plan, UnifiedConfig(max_new_tokens=300, windows=1, loop_break=False))
    assert answer.tokens_generated < 100  # stopped about 48 tokens into the loop, not at the 300-token budget
    assert [s.text for s in answer.steps] == ["Open it."]
    assert any("looped" in d for d in answer.damage) and not answer.well_formed


def test_a_loop_of_whole_steps_is_cut_and_named(tiny_unified_dir, tiny_index):
    model = UnifiedModel.load(tiny_unified_dir)
    v = model.vocab
    step = [v.think, *model.text_ids("Filter options"), v.end_think]
    plan = [v.think, *model.text_ids("Select the crop tool."), v.end_think, *step * 5, v.end_ids[0]]
    answer = _indexed_answer(model, tiny_index, plan, UnifiedConfig(max_new_tokens=90, windows=1))
    assert [s.text for s in answer.steps] == ["Select the crop tool.", "Filter options"]
    assert "text steps looped from step 3: cut at the loop" in answer.damage and not answer.well_formed


def test_loop_break_keeps_a_pushed_loop_out_of_the_answer(tiny_unified_dir, tiny_index):
    model = UnifiedModel.load(tiny_unified_dir)
    v = model.vocab
    unit = model.text_ids(" Filter options")
    plan = [v.think, *model.text_ids("Open it."), *unit * 60]  # a script pushing the loop at every step
    answer = _indexed_answer(model, tiny_index, plan, UnifiedConfig(max_new_tokens=150, windows=1, loop_break=True))
    text = " ".join(s.text for s in answer.steps if s.kind == "text")
    assert text.startswith("Open it. Filter options Filter options")  # a phrase may come twice, not three times
    assert "Filter options Filter options Filter options" not in text
    assert answer.loops_broken >= 10  # forbidden again each time the script comes back to it
    assert not any("looped" in d for d in answer.damage)  # the loop stop never had a loop to stop


def test_line_budget_keeps_a_used_up_line_from_beginning_again(tiny_unified_dir, tiny_index):
    def answer(plan, config):  # a fresh model each time: _steer wraps the one it is given for good
        return _indexed_answer(UnifiedModel.load(tiny_unified_dir), tiny_index, plan, config)

    model = UnifiedModel.load(tiny_unified_dir)
    v = model.vocab
    seen = answer([v.end_ids[0]], UnifiedConfig(max_new_tokens=20, windows=1))
    line = seen.prompt.split("Passage:\n")[1].split("\n")[0]  # the window's first passage line
    assert line and seen.prompt.split("\n\nFigures:")[0].count(line) == 1
    step = [v.think, *model.text_ids(line), v.end_think]
    plan = [*step, *step, v.end_ids[0]]  # a script writing the line, then again
    free = answer(plan, UnifiedConfig(max_new_tokens=120, windows=1, line_budget=False))
    assert [s.text for s in free.steps if s.kind == "text"] == [line, line] and free.lines_forbidden == 0
    kept = answer(plan, UnifiedConfig(max_new_tokens=120, windows=1))  # the default: on
    texts = [s.text for s in kept.steps if s.kind == "text"]
    assert texts[0] == line and texts.count(line) == 1  # the second step could not begin the line again
    assert kept.lines_forbidden >= 1
