import torch

from m2io.unified.passage_end import PassageEnd, passage_end
from m2io.unified.trajectory import Step
from m2io.unified.written_lines import WrittenLines

WORDS = {7: "Note", 8: "Open it."}


def decode(ids):
    return " ".join(WORDS[i] for i in ids)


def test_a_line_the_passage_holds_twice_ends_it_only_when_written_twice():
    end = passage_end([Step("text", "Note"), Step("text", "Open it."), Step("text", " Note ")])
    assert end == ("Note", 2)
    rule = PassageEnd(prompt_len=0, ends=[end], written=WrittenLines(0, 1, decode))
    once, twice = [0, 7, 1, 0, 8, 1], [0, 7, 1, 0, 8, 1, 0, 7, 1]
    assert not rule.reached(once, end) and rule.reached(twice, end)
    scores = rule(torch.tensor([once, twice[:6]]), torch.zeros(2, 9))
    assert scores[0, 0] == 0 and scores[1, 0] == 0
    scores = PassageEnd(0, [end, None], WrittenLines(0, 1, decode))(torch.tensor([twice, twice]), torch.zeros(2, 9))
    assert scores[0, 0] == -torch.inf and scores[1, 0] == 0  # a row without a passage has no rule
    assert scores[0, 1:].eq(0).all()  # a figure or the end stays open


def test_no_text_no_rule():
    assert passage_end([Step("reference", ref=1)]) is None


def test_judged_only_where_a_step_may_begin():
    end = ("Note", 1)
    rule = PassageEnd(0, [end], WrittenLines(0, 1, decode), end_vis=3)
    after_figure = rule(torch.tensor([[0, 7, 1, 2, 9, 3]]), torch.zeros(1, 10))  # "Note", then a figure
    assert after_figure[0, 0] == -torch.inf
    mid_figure = rule(torch.tensor([[0, 7, 1, 2, 9]]), torch.zeros(1, 10))  # inside <vis>: the grammar's business
    assert mid_figure.eq(0).all()


def test_a_blank_last_line_is_not_the_end():
    assert passage_end([Step("text", "Note"), Step("text", "  ")]) == ("Note", 1)
