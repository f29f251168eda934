"""LoopBreak forbids only the token that begins a loop the prompt does not hold, never a tag or image code, never
the last allowed token, and counts its breaks on the kept text."""
import torch

from m2io.unified.loop_break import LoopBreak


def _scores(n=10):
    return torch.zeros(1, n)


def test_forbids_the_token_that_would_repeat_a_phrase_a_third_time():
    brk = LoopBreak(prompt_len=0, prompts=[[1, 2, 3]], skip=set(), keep=set())
    assert brk.forbidden([7, 5, 6, 5, 6, 5], brk.prompts[0]) == {6}  # 5 6 5 6 5 | 6 -> three times "5 6"
    assert brk.forbidden([7, 5, 6, 5, 6], brk.prompts[0]) == set()  # twice is allowed
    assert brk.forbidden([4, 4, 4, 4, 4], brk.prompts[0]) == {4}  # one token six times
    assert brk.forbidden([1, 2, 3, 1, 2], brk.prompts[0]) == {3}  # a unit of three, twice
    assert brk.forbidden([1, 2, 3, 4, 1, 2, 3], brk.prompts[0]) == {4}


def test_a_run_the_prompt_holds_is_copied_freely():
    brk = LoopBreak(prompt_len=0, prompts=[[9, 5, 6, 5, 6, 5, 6, 9]], skip=set(), keep=set())
    assert brk.forbidden([5, 6, 5, 6, 5], brk.prompts[0]) == set()
    assert brk.forbidden([5, 6, 5, 6, 5, 6, 5], brk.prompts[0]) == {6}  # longer than the prompt's run


def test_image_codes_are_never_judged():
    brk = LoopBreak(prompt_len=0, prompts=[[1]], skip={8}, keep=set())
    assert brk.forbidden([8, 8, 8, 8, 8], brk.prompts[0]) == set()
    assert brk.forbidden([5, 8, 5, 8, 5], brk.prompts[0]) == set()


def test_a_loop_of_whole_steps_is_broken_at_the_next_steps_first_word():
    think, end, filt, opts = 1, 2, 5, 6  # <think> Filter options </think>, again and again
    brk = LoopBreak(prompt_len=0, prompts=[[9]], skip=set(), keep={think, end})
    step = [think, filt, opts, end]
    assert brk.forbidden(step + step[:3], brk.prompts[0]) == set()  # closing the second step: a tag, kept
    assert brk.forbidden(step + step, brk.prompts[0]) == set()  # opening a third: a tag, kept
    assert brk.forbidden(step + step + [think], brk.prompts[0]) == {filt}  # its first word: forbidden
    assert brk.forbidden([think, filt, opts, end, think, 7, 3, end, think], brk.prompts[0]) == set()  # another step


def test_never_forbids_the_only_allowed_token_and_counts_kept_breaks():
    brk = LoopBreak(prompt_len=1, prompts=[[0]], skip=set(), keep=set())
    only = torch.full((1, 10), -float("inf"))
    only[0, 6] = 0.0
    out = brk(torch.tensor([[0, 5, 6, 5, 6, 5]]), only.clone())
    assert out[0, 6] == 0.0 and brk.breaks(0, generated=6) == 0
    out = brk(torch.tensor([[0, 5, 6, 5, 6, 5]]), _scores())
    assert out[0, 6] == -float("inf") and torch.isfinite(out[0, [0, 1, 2, 3, 4, 5, 7, 8, 9]]).all()
    assert brk.breaks(0, generated=6) == 1 and brk.breaks(0, generated=5) == 0  # a position past the kept text
    brk(torch.tensor([[0, 5, 6, 5, 6, 5]]), only.clone())  # the same position scored again (prompt lookup)
    assert brk.breaks(0, generated=6) == 0  # the last scoring is the one kept
