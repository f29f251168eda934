"""The modality grammar on a real (tiny, random) LM pushed towards image tokens: image tokens only
inside <vis>, exactly a grid's worth, and never a span the budget would cut; every token in a step."""
import pytest
import torch
from transformers import LogitsProcessorList

from m2io.unified.grammar import ModalityGrammar, image_span_state
from m2io.unified.model import UnifiedModel


class PushTowardsImages:
    """Adds a large bonus to <vis>, </vis> and image tokens, so unconstrained sampling would misuse them."""

    def __init__(self, vocab, bonus=12.0):
        self.ids = [vocab.end_vis] + vocab.image_ids
        self.vis, self.bonus = vocab.vis, bonus

    def __call__(self, input_ids, scores):
        scores[:, self.ids] += self.bonus
        scores[:, self.vis] += 2 * self.bonus  # one tag among 50k tokens needs the larger push
        return scores


def spans_are_legal(ids, vocab):
    inside = None
    for t in ids:
        if t == vocab.vis:
            if inside is not None:
                return False
            inside = 0
        elif t == vocab.end_vis:
            if inside != vocab.tokens_per_image:
                return False
            inside = None
        elif vocab.is_image(t):
            if inside is None or inside >= vocab.tokens_per_image:
                return False
            inside += 1
        elif vocab.is_ref(t):  # a reference is a whole span by itself
            if inside != 0:
                return False
            inside = vocab.tokens_per_image
        elif inside is not None:
            return False
    return inside is None


def sample(model, grammar: bool, max_new: int, seed: int, push: bool = True):
    torch.manual_seed(seed)
    prompt = model.prompt_ids("Show me")
    ids = torch.tensor([prompt] * 4)
    processors = LogitsProcessorList([PushTowardsImages(model.vocab)] if push else [])
    if grammar:
        processors.append(ModalityGrammar(model.vocab, model.lm.get_output_embeddings().weight.shape[0], len(prompt),
                                          max_new))
    out = model.lm.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new,
                            min_new_tokens=max_new, do_sample=True, temperature=1.5, top_k=None, top_p=None,
                            logits_processor=processors, pad_token_id=model.tokenizer.pad_token_id)
    return [row[len(prompt):] for row in out.tolist()]


@pytest.fixture(scope="module")
def model(tiny_unified_dir):
    return UnifiedModel.load(tiny_unified_dir)


def test_without_the_grammar_image_tokens_go_astray(model):
    rows = sample(model, grammar=False, max_new=150, seed=0)
    assert not all(spans_are_legal(r, model.vocab) for r in rows)


@pytest.mark.parametrize("seed", [0, 1])
def test_grammar_keeps_every_span_exact(model, seed):
    max_new = 150  # room for two whole images (66 tokens each), not three
    rows = sample(model, grammar=True, max_new=max_new, seed=seed)
    v = model.vocab
    for row in rows:
        assert spans_are_legal(row, v), row
        assert image_span_state(row, v) is None  # no span left open by the budget
        assert row.count(v.vis) >= 1  # the push made it open images, and each one closed
        images = [t for t in row if v.is_image(t)]
        refs = [t for t in row if v.is_ref(t)]
        assert len(images) == (row.count(v.vis) - len(refs)) * v.tokens_per_image


def test_generated_trajectory_parses_and_decodes(model):
    _, traj = model.generate(["Show me"], max_new_tokens=40, temperature=1.0, seed=3)[0]
    assert isinstance(traj.damage, list)
    for step in traj.images:
        assert model.decode_image(step.codes).size == (64, 64)


def test_each_modality_sampled_at_its_own_temperature(model):
    """Text at temperature 0 is the model's most likely token every time; image tokens are still drawn."""
    v = model.vocab
    g = ModalityGrammar(v, model.lm.get_output_embeddings().weight.shape[0], None, 150,
                        text_temperature=0.0, image_temperature=2.0)
    prompt = torch.tensor([model.prompt_ids("Show me")] * 2)
    scores = torch.randn(2, g.images.numel())
    text = g(prompt, scores.clone())
    assert g.prompt_len == prompt.shape[1]  # learnt from the first call
    finite = torch.isfinite(text)
    assert finite.sum(1).tolist() == [1, 1]  # greedy: one token left per row
    masked = scores.masked_fill(~g.allowed([]), -torch.inf)  # the first token: <think> or <vis>
    assert finite.nonzero()[:, 1].tolist() == masked.argmax(1).tolist()
    opened = torch.cat([prompt, torch.tensor([[v.vis, v.image_ids[3]]] * 2)], 1)
    image = g(opened, scores.clone())
    assert torch.isfinite(image).sum(1).tolist() == [len(v.image_ids)] * 2
    assert image[0, v.image_ids].tolist() == pytest.approx((scores[0, v.image_ids] / 2.0).tolist())


def test_greedy_text_with_sampled_images_varies_only_the_images(model):
    v = model.vocab
    prompt = model.prompt_ids("Show me")
    runs = []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        grammar = ModalityGrammar(v, model.lm.get_output_embeddings().weight.shape[0], None, 150,
                                  text_temperature=0.0, image_temperature=1.5)
        ids = torch.tensor([prompt])
        out = model.lm.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=150,
                                do_sample=True, temperature=1.0, top_k=None, top_p=None,
                                logits_processor=LogitsProcessorList([PushTowardsImages(v), grammar]),
                                pad_token_id=model.tokenizer.pad_token_id)
        runs.append(out[0, len(prompt):].tolist())
    texts = [[t for t in r if not v.is_image(t)] for r in runs]
    images = [tuple(t for t in r if v.is_image(t)) for r in runs]
    assert texts[0].count(v.vis) >= 1 and all(spans_are_legal(r, v) for r in runs)
    assert texts[1] == texts[0] and texts[2] == texts[0]  # greedy text (tags included): the same every run
    assert len(set(images)) == 3  # image tokens drawn: a different picture every run


@pytest.mark.parametrize("push", [False, True])
def test_every_token_lies_inside_a_whole_step(model, push):
    v = model.vocab
    loose = [model.parse(r) for r in sample(model, grammar=False, max_new=120, seed=0, push=False)]
    assert not any(t.well_formed for t in loose)  # a random LM alone writes no trajectory
    for row in sample(model, grammar=True, max_new=120, seed=0, push=push):
        t = model.parse(row)
        assert t.well_formed and t.damage == [], (t.damage, row)
        assert row[-1] in v.end_ids and 117 <= len(row) <= 120  # the end once no whole step fits the budget
        assert row[0] in (v.think, v.vis) and all(row[i + 1] in (v.think, v.vis, *v.end_ids)
                                                   for i, tok in enumerate(row[:-1]) if tok in (v.end_think, v.end_vis))


def test_references_only_to_the_prompts_candidates(tiny_unified_dir):
    """Pushed hard towards every reference token, each row refers only to candidates its own prompt names
    (per row, from the prompt), or to the first ``references`` ones, each at most once; never a reference
    outside <vis>."""
    model = UnifiedModel.load(tiny_unified_dir)
    v = model.vocab
    offered = {0: [v.ref_ids[1], v.ref_ids[4]], 1: [v.ref_ids[0]]}

    class PushRefs:
        def __call__(self, input_ids, scores):
            scores[:, v.ref_ids] += 50.0
            scores[:, v.vis] += 50.0
            return scores

    prompts = [model.prompt_ids("Figures: <ref_2> a <ref_5> b"), model.prompt_ids("Figures: <ref_1> c, and more")]
    width = max(map(len, prompts))
    ids = torch.tensor([[model.tokenizer.pad_token_id] * (width - len(p)) + p for p in prompts])
    for refs, expect in (("prompt", offered), (1, {0: v.ref_ids[:1], 1: v.ref_ids[:1]})):
        grammar = ModalityGrammar(v, model.lm.get_output_embeddings().weight.shape[0], width, 40, references=refs)
        out = model.lm.generate(input_ids=ids, attention_mask=(ids != model.tokenizer.pad_token_id).long(),
                                max_new_tokens=40, do_sample=True, top_k=None,
                                logits_processor=LogitsProcessorList([PushRefs(), grammar]),
                                eos_token_id=v.end_ids, pad_token_id=model.tokenizer.pad_token_id)
        for row, generated in enumerate(out[:, width:].tolist()):
            used = [t for t in generated if v.is_ref(t)]
            assert used and set(used) <= set(expect[row]), (refs, row, used)
            assert len(used) == len(set(used)), used  # pushed to loop on them, yet each figure shown once
            traj = model.parse(generated)
            assert not traj.damage or traj.damage == ["no end token"]
            assert len(traj.references) == len(used)
