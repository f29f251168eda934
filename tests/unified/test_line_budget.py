import torch

from m2io.unified.line_budget import LineBudget, passage_lines, token_strings
from m2io.unified.trajectory import Step
from m2io.unified.written_lines import WrittenLines

# 0 <think>, 1 </think>; the rest text tokens
WORDS = {5: "Set", 6: "SET", 7: "up Frame", 8: "UP is shown.", 9: " Set", 10: "Note", 11: "S"}
VOCAB = token_strings(lambda ids: WORDS.get(ids[0], ""), 12)
BUDGET = {"Setup Frame": 1, "SETUP is shown.": 1, "Note": 2}


def decode(ids):
    return "".join(WORDS[i] for i in ids)


def rule(budgets=(BUDGET,)):
    return LineBudget(0, list(budgets), WrittenLines(0, 1, decode), vocab=VOCAB)


def test_passage_lines_counts_each_line():
    steps = [Step("text", "Note"), Step("text", "Open  it."), Step("reference", ref=1), Step("text", " Note")]
    assert passage_lines(steps) == {"Note": 2, "Open it.": 1}
    assert passage_lines([Step("reference", ref=1)]) is None


def test_a_used_up_line_cannot_begin_again_but_the_next_line_can():
    budget = rule()
    scores = budget(torch.tensor([[0, 5, 7, 1, 0]]), torch.zeros(1, 12))[0]
    assert scores[5] == -torch.inf and scores[9] == -torch.inf  # "Set" and " Set" begin only "Setup Frame"
    assert scores[6] == 0 and scores[10] == 0  # "SET" begins the next line; "Note" is unused
    assert scores[11] == 0  # "S" begins "Setup Frame" and also "SETUP is shown.": still open
    assert scores[1:5].eq(0).all() and scores[7:9].eq(0).all()
    assert budget.forbidden == [0]  # every score tied: the best token was not one it forbade


def test_a_line_the_passage_holds_twice_may_come_twice():
    once, twice = [0, 10, 1, 0], [0, 10, 1, 0, 10, 1, 0]
    assert rule()(torch.tensor([once]), torch.zeros(1, 12))[0, 10] == 0
    assert rule()(torch.tensor([twice]), torch.zeros(1, 12))[0, 10] == -torch.inf


def test_only_at_a_step_start_and_only_rows_with_a_passage():
    budget = rule([BUDGET, None])
    inside = torch.tensor([[0, 5, 7, 1, 0, 5], [0, 5, 7, 1, 0, 5]])  # mid-step: nothing forbidden
    assert budget(inside, torch.zeros(2, 12)).eq(0).all()
    start = torch.tensor([[0, 5, 7, 1, 0], [0, 5, 7, 1, 0]])
    scores = torch.zeros(2, 12)
    scores[:, 5] = 3.0  # the model's best first token is "Set" again
    scores = budget(start, scores)
    assert scores[0, 5] == -torch.inf and scores[1, 5] == 3.0  # the row without a passage keeps it
    assert budget.forbidden == [1, 0]


def test_token_strings_skip_blank_tokens_and_group_equal_ones():
    strings = token_strings(lambda ids: {0: "", 1: " ", 2: "a", 3: "a"}[ids[0]], 4)
    assert strings == {"a": [2, 3]}


def test_tokens_past_the_logits_width_are_left_out():
    scores = rule()(torch.tensor([[0, 5, 7, 1, 0]]), torch.zeros(1, 8))[0]  # " Set" is id 9: not in these logits
    assert scores[5] == -torch.inf and scores[6] == 0
