"""The grounded prompt and target from a real pipeline draft, and the LoRA folder that ships."""
import pytest
import torch

from m2io.components import ComponentConfig, Components
from m2io.corpus.mramg import read_dataset
from m2io.insert.source import SourceInserter
from m2io.pipeline import Pipeline
from m2io.types import Candidate, Image, Origin
from m2io.unified.grounded import GroundedConfig, grounded_user, passage_steps, passage_windows, target_steps
from m2io.unified.grounded_data import grounded_examples
from m2io.unified.model import UnifiedModel
from m2io.unified.trajectory import Step
from m2io.unified.vocab import ref_token


def test_passage_cut_and_figures_in_place():
    prov = [Origin("s", position=i) for i in range(3)]
    cands = [Candidate(1, Image("a", None, "first"), origin=Origin("s", position=0)),   # above the first sentence
             Candidate(2, Image("b", None, "third"), origin=Origin("s", position=2)),
             Candidate(3, Image("c", None, "elsewhere"), origin=Origin("t", position=0))]
    segments = ["One two three four.", "Five six seven eight.", "Nine ten eleven twelve."]
    steps = passage_steps(segments, cands, prov, GroundedConfig(passage_words=8))
    # the lead figure moves under the first text step; the third segment is past the budget with its figure
    assert [(s.kind, s.text or s.ref) for s in steps] == [
        ("text", "One two three four."), ("reference", 1), ("text", "Five six seven eight."), ("reference", 2)]
    assert [s.ref for s in target_steps(steps, cands, ["b"]) if s.kind == "reference"] == [2]
    user = grounded_user("How?", steps, cands)
    assert user.count("<vis><ref_") == 2 and "<ref_3> elsewhere" in user


def test_figures_past_the_cut_follow_the_last_text_step():
    prov = [Origin("s", position=i) for i in range(4)]
    cands = [Candidate(1, Image("a", None, "second"), origin=Origin("s", position=1)),
             Candidate(2, Image("b", None, "fourth"), origin=Origin("s", position=3)),
             Candidate(3, Image("c", None, "after all"), origin=Origin("s", position=4)),
             Candidate(4, Image("d", None, "elsewhere"), origin=Origin("t", position=0))]
    segments = ["One two three four.", "Five six seven eight.", "Nine ten eleven twelve.", "Thirteen fourteen."]
    steps = passage_steps(segments, cands, prov, GroundedConfig(passage_words=8))
    assert [(s.kind, s.text or s.ref) for s in steps] == [
        ("text", "One two three four."), ("reference", 1), ("text", "Five six seven eight."),
        ("reference", 2), ("reference", 3)]  # in the section's order; the other section's figure is not marked
    cut = passage_steps(segments, cands, prov, GroundedConfig(passage_words=8, past_figures=False))
    assert [s.ref for s in cut if s.kind == "reference"] == [1]
    whole = passage_steps(segments, cands, prov, GroundedConfig(passage_words=100))
    assert [s.ref for s in whole if s.kind == "reference"] == [1, 2, 3] and whole[-1].ref == 3


def test_a_figure_two_candidates_carry_is_marked_once():
    prov = [Origin("s", position=i) for i in range(3)]
    cands = [Candidate(1, Image("a", None, "first"), origin=Origin("s", position=1)),
             Candidate(2, Image("a", None, "again"), origin=Origin("s", position=2)),  # the same image id
             Candidate(3, Image("b", None, "past"), origin=Origin("s", position=3))]
    segments = ["One two three four.", "Five six seven eight.", "Nine ten eleven twelve."]
    whole = passage_steps(segments, cands, prov, GroundedConfig(passage_words=100))
    assert [s.ref for s in whole if s.kind == "reference"] == [2, 3]  # once, where it first stands
    assert [s.kind for s in whole] == ["text", "reference", "text", "text", "reference"]
    cut = passage_steps(segments, cands, prov, GroundedConfig(passage_words=4))
    assert [s.ref for s in cut if s.kind == "reference"] == [2, 3]


def test_a_window_without_text_gives_its_figure_to_the_one_before():
    cands = [Candidate(1, Image("a", None, "x"), origin=Origin("s", position=1))]
    prov = [Origin("s", position=i) for i in range(3)]
    ws = passage_windows(["One two.", " ", "Three four five."], cands, prov, GroundedConfig(passage_words=2), 3)
    assert [[s.text or s.ref for s in w] for w in ws] == [["One two.", 1], ["Three four"]]  # never lost


def test_a_japanese_passage_is_windowed_by_characters():
    sentence = "右側のセレクタから筆の種類を選んで、フリーハンドで描画します。"  # no spaces: one "word" by split()
    segments = [sentence] * 12
    prov = [Origin("s", position=i) for i in range(12)]
    ws = passage_windows(segments, [], prov, GroundedConfig(passage_words=110), 6)
    assert [len(w) for w in ws] == [3, 3, 3, 3]  # 31 characters a sentence: 3 a window, not all 12 in one
    long = passage_windows([sentence * 10], [], prov[:1], GroundedConfig(passage_words=110), 1)[0][0].text
    assert long.endswith("。") and len(long) <= 110  # a first segment too long is cut at a sentence end
    english = ["Open the menu and choose an item."] * 3
    assert [len(w) for w in passage_windows(english, [], prov[:3], GroundedConfig(passage_words=14), 6)] == [2, 1]


def test_examples_from_a_real_draft(tiny_index, tmp_path):
    cache = tmp_path / "drafts.jsonl"
    examples = grounded_examples(tiny_index / "tiny", tiny_index / "index", "all", cache, progress=False)
    ds = read_dataset(tiny_index / "tiny")
    assert len(examples) == len(ds.qa) and len(cache.read_text().splitlines()) == len(ds.qa)
    for e in examples:
        assert e.task == "grounded" and e.user.startswith("Question: ") and 1 <= e.references <= 16
        assert e.steps[0].kind == "text" and all(s.ref <= e.references for s in e.steps if s.kind == "reference")
    assert any(s.kind == "reference" for e in examples for s in e.steps)  # the gold section's own figures
    again = grounded_examples(tiny_index / "tiny", tiny_index / "index", "all", cache, progress=False)
    assert [e.user for e in again] == [e.user for e in examples]  # read back, not drafted again
    with cache.open("a") as f:
        f.write('{"key": "cut by an interrupted run", "us\n')
    other = grounded_examples(tiny_index / "tiny", tiny_index / "index", "all", cache,
                              GroundedConfig(passage_words=5), progress=False)  # other settings: drafted again
    assert len(cache.read_text().splitlines()) == 2 * len(ds.qa) + 1
    assert all(len([s for s in e.steps if s.kind == "text"][0].text.split()) <= 5 for e in other)


def test_later_windows_give_the_answerers_prompts(tiny_index, tiny_retriever, tmp_path):
    cache, cfg = tmp_path / "drafts.jsonl", GroundedConfig(passage_words=6)
    args = (tiny_index / "tiny", tiny_index / "index", "all", cache, cfg)
    first = grounded_examples(*args, progress=False)
    windowed = grounded_examples(*args, progress=False, windows=3)  # other windows cached: drafted again
    assert len(cache.read_text().splitlines()) == 2 * len(first)
    later = windowed[len(first):]  # the first windows first, one per question
    assert later and all(e.steps and e.steps[0].kind == "text" for e in later)
    components = Components(ComponentConfig(), tiny_retriever.models.text)
    pipeline = Pipeline(tiny_retriever, components.answerer(tiny_retriever), SourceInserter())
    q = read_dataset(tiny_index / "tiny").qa[0]
    draft = pipeline.draft(q.question)
    windows = passage_windows(draft.segments, draft.candidates, draft.provenance, cfg, 3)
    prompts = [grounded_user(q.question, w, draft.candidates, cfg) for w in windows]
    assert len(prompts) > 1 and prompts[0] == windowed[0].user and set(prompts[1:]) <= {e.user for e in later}
    assert any(w.user != f.user for w, f in zip(windowed, first))  # one window marks later figures after its end
    assert [e.user for e in grounded_examples(*args, progress=False, windows=3)] == [e.user for e in windowed]
    assert len(cache.read_text().splitlines()) == 2 * len(first)  # read back, not drafted again
    with pytest.raises(ValueError, match="windows must be at least 1"):
        grounded_examples(*args, progress=False, windows=0)


def test_same_draft_as_the_pipeline(tiny_retriever):
    components = Components(ComponentConfig(), tiny_retriever.models.text)
    draft = Pipeline(tiny_retriever, components.answerer(tiny_retriever), SourceInserter()).draft("How do I crop?")
    steps = passage_steps(draft.segments, draft.candidates, draft.provenance)
    texts = [s.text for s in steps if s.kind == "text"]
    assert texts and " ".join(texts).split() == " ".join(draft.segments).split()[:len(" ".join(texts).split())]


def test_lora_folder_is_small_and_loads_the_same(tiny_unified_dir):
    files = {p.name: p.stat().st_size for p in tiny_unified_dir.rglob("*") if p.is_file()}
    assert "adapter_model.safetensors" in files and "model.safetensors" not in files
    model = UnifiedModel.load(tiny_unified_dir)
    again = UnifiedModel.load(tiny_unified_dir)
    v = model.vocab
    assert len(v.ref_ids) == 16 and model.tokenizer.convert_tokens_to_ids(ref_token(3)) == v.ref_ids[2]
    ids = torch.tensor([[v.think, *model.text_ids("Open it."), v.end_think, v.vis, v.ref_ids[0], v.end_vis]])
    with torch.no_grad():
        assert torch.allclose(model.lm(input_ids=ids).logits, again.lm(input_ids=ids).logits, atol=1e-5)
    steps = [Step("text", text="Open it."), Step("reference", ref=2)]
    parsed = model.parse(model.answer_ids(steps))
    assert [(s.kind, s.text or s.ref) for s in parsed.steps] == [("text", "Open it."), ("reference", 2)]
    assert parsed.well_formed
    # a folder without a record of its prompt learned the first form: passages that drop figures past the cut
    from m2io.unified.answer import UnifiedAnswerer

    assert model.grounded_config() == GroundedConfig(past_figures=False)
    assert UnifiedAnswerer(model, None).grounded == model.grounded_config()


def test_trained_adapter_and_rows_survive_save_and_load(tiny_lm_dir, tmp_path):
    from m2io.unified.tokenizer import ImageTokenizer, TokenizerConfig

    torch.manual_seed(1)
    model = UnifiedModel.from_base(tiny_lm_dir, ImageTokenizer(TokenizerConfig(channels=8)), references=4)
    model.add_lora(r=2)
    with torch.no_grad():  # stand in for training: move every trainable weight
        for p in model.lm.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.5)
    v = model.vocab
    ids = torch.tensor([[*model.text_ids("Crop it"), v.vis, v.ref_ids[3], v.end_vis, v.image_ids[7]]])
    with torch.no_grad():
        before = model.lm(input_ids=ids).logits
    model.save(tmp_path / "m")
    assert not (tmp_path / "m" / "model.safetensors").exists()
    loaded = UnifiedModel.load(tmp_path / "m")
    with torch.no_grad():
        after = loaded.lm(input_ids=ids).logits
    assert torch.allclose(before, after, atol=1e-4)
    assert not torch.allclose(before, UnifiedModel.from_base(tiny_lm_dir, model.codec, references=4).lm(input_ids=ids)
                              .logits, atol=1e-3)  # the training mattered


def test_windows_split_the_passage_and_mark_each_figure_once():
    prov = [Origin("s", position=i) for i in range(5)]
    cands = [Candidate(1, Image("a", None, "second"), origin=Origin("s", position=1)),
             Candidate(2, Image("b", None, "fourth"), origin=Origin("s", position=3)),
             Candidate(3, Image("c", None, "after all"), origin=Origin("s", position=5)),
             Candidate(4, Image("d", None, "elsewhere"), origin=Origin("t", position=0))]
    segments = ["One two three four.", "Five six seven eight.", "Nine ten eleven twelve.", "Thirteen fourteen.",
                "Fifteen sixteen seventeen."]
    cfg = GroundedConfig(passage_words=8)
    assert passage_windows(segments, cands, prov, cfg, 1) == [passage_steps(segments, cands, prov, cfg)]
    windows = passage_windows(segments, cands, prov, cfg, 2)
    assert [[s.text or s.ref for s in w] for w in windows] == [
        ["One two three four.", 1, "Five six seven eight."],
        ["Nine ten eleven twelve.", 2, "Thirteen fourteen.", 3]]  # the figures past the last window follow it
    many = passage_windows(segments, cands, prov, cfg, 10)
    assert len(many) == 3 and [s.text or s.ref for s in many[2]] == ["Fifteen sixteen seventeen.", 3]
    assert [s.ref for w in many for s in w if s.kind == "reference"] == [1, 2, 3]
    assert passage_windows([], cands, prov, cfg, 3) == [passage_steps([], cands, prov, cfg)]  # one window
