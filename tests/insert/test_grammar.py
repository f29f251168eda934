"""The plan grammar, by hand, and constrained decoding on SmolLM2's real tokenizer."""
from __future__ import annotations

import random

import pytest

from m2io.insert.grammar import PlanGrammar
from m2io.insert.plan import parse_plan
from m2io.lm.constrain import ConstraintProcessor, forced_close

G = PlanGrammar(n_candidates=12, n_segments=3, think=False)


@pytest.mark.parametrize("text", ["", "<pl", "<plan>", "<plan> ", "<plan><img", "<plan><img1", "<plan><img12>@",
                                  "<plan><img1>@3", "<plan><img1>@3 <img1", "<plan><img1>@3, <img2>@0</",
                                  "<plan></plan>", "<plan><img11>@2 </plan>"])
def test_viable_prefixes(text):
    assert G.viable(text)


@pytest.mark.parametrize("text", ["x", "<plan>x", "<plan><img0", "<plan><img13", "<plan><img01", "<plan><img1>@4",
                                  "<plan><img1>@3 <img1>", "<plan><img1>@3<img2>", "<plan><img1>@3   <img2>",
                                  "<plan><img1>@3</plan> more", "<plan><img1>3", "<plan>\n<img1>@1",
                                  "<plan><img1>@03"])
def test_dead_prefixes(text):
    assert not G.viable(text)


def test_once_every_candidate_is_placed_only_the_end_tag_is_left():
    g = PlanGrammar(n_candidates=2, n_segments=1, think=False)
    assert not g.viable("<plan><img1>@1 <img2>@0 <im") and g.viable("<plan><img2>@0 <img1>@1 <")
    assert g.viable("<plan><img2>@0 <img1>@1 </pl") and not g.viable("<plan>   <img1>@1")


def test_complete_and_plan_text():
    assert G.complete("<plan><img1>@3 <img12>@0</plan>") and G.complete("<plan></plan>")
    assert not G.complete("<plan><img1>@3") and not G.complete("<plan><img1>@3 </pla")
    assert G.plan_text("<plan><img1>@3 <img12>@0</plan>") == "<img1>@3 <img12>@0"
    assert G.plan_text("no plan") is None


def test_reasoning_span_comes_first():
    g = PlanGrammar(3, 2, think=True)
    assert g.viable("<think>anything < at all") and g.in_reasoning("<think>anything")
    assert g.viable("<think>ok</think> <plan><img3>@2") and not g.in_reasoning("<think>ok</think>")
    assert not g.viable("<plan>") and not g.viable("<think>ok</think>   <plan>")
    assert g.complete("<think>ok</think><plan><img2>@1</plan>")
    assert forced_close("<think>abc</", "</think>") == "think>"


@pytest.fixture(scope="module")
def tokenizer(smollm2_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(smollm2_dir))


@pytest.mark.parametrize("think,n_candidates", [(False, 5), (True, 5), (False, 2), (False, 1)])
def test_any_walk_through_allowed_tokens_ends_in_a_valid_plan(tokenizer, think, n_candidates):
    """Whatever the model prefers, picking only allowed tokens always yields a plan that parses."""
    grammar = PlanGrammar(n_candidates=n_candidates, n_segments=7, think=think)
    proc = ConstraintProcessor(grammar, tokenizer, prompt_len=0, free_tokens=4, eos_id=tokenizer.eos_token_id)
    assert 500 < len(proc.structural) < 3000  # the grammar's characters: a small part of the 49k vocabulary
    rng = random.Random(0)
    for _ in range(30):
        text, n = "", 0
        while True:
            allowed = proc.allowed(text, n)
            if allowed is None:  # free reasoning span: any token
                allowed = [rng.randrange(len(tokenizer))]
            token = rng.choice(allowed)
            if token == tokenizer.eos_token_id:
                break
            text += proc.strings[token]
            n += 1
            assert grammar.viable(text) and n < 200
        assert grammar.complete(text)
        items = parse_plan(grammar.plan_text(text), n_candidates, 7)
        assert len({k for k, _ in items}) == len(items) and all(0 <= s <= 7 for _, s in items)
        if think:
            assert text.startswith("<think>") and "</think>" in text
