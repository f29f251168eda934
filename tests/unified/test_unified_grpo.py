"""Unified GRPO on the tiny unified model: hybrid rewards of hand-made trajectories, TRL's loss at
process weight 0, completions under the modality grammar, and a run that logs, benchmarks and resumes."""
import json
from pathlib import Path

import pytest
import torch

from m2io.index.manifest import IndexManifest
from m2io.index.models import ADAPTER_FILE, IndexModels
from m2io.train.curves import read_metrics
from m2io.unified.grpo import PROMPTS_LOG, UnifiedGRPOConfig, grounded_references, run_unified_grpo, training_references
from m2io.unified.model import SYSTEM, UnifiedModel
from m2io.unified.rewards import HybridWeights
from m2io.unified.scorer import TrajectoryScorer, reward_functions
from m2io.unified.trajectory import Step


@pytest.fixture(scope="module")
def parts(tiny_unified_dir, tiny_index):
    model = UnifiedModel.load(tiny_unified_dir)
    index = tiny_index / "index"
    manifest = IndexManifest.load(index)
    models = IndexModels(manifest.text_model or None, manifest.image_model, index / ADAPTER_FILE)
    references = training_references([tiny_index / "tiny"], "all")
    return model, TrajectoryScorer(model, models, references), references


def test_hybrid_rewards_of_hand_made_trajectories(parts):
    model, scorer, references = parts
    item, ref = sorted(references.items())[0]
    v = model.vocab
    codes = [3] * v.tokens_per_image
    good = model.answer_ids([Step("text", text=ref.text), Step("image", codes=codes)] +
                            [Step("image", codes=codes)] * (len(ref.figures) - 1))
    off_topic = model.answer_ids([Step("text", text="Bananas grow in warm countries."), Step("image", codes=codes)])
    cut = good[:good.index(v.vis) + 10]
    images_only = model.answer_ids([Step("image", codes=codes)] * len(ref.figures))
    assert scorer.score(images_only, item).well_formed and scorer.score(images_only, item).terms["structure"] == 0.5
    s_good, s_off, s_cut = (scorer.score(ids, item) for ids in (good, off_topic, cut))
    assert s_good.well_formed and s_good.terms["structure"] == 1.0
    assert s_good.terms["text"] > s_off.terms["text"] + 0.1
    assert not s_cut.well_formed and s_cut.images == 0 and s_cut.terms["structure"] <= 0.5
    assert s_cut.terms["visual"] == 0.0 and 0.0 < s_good.terms["visual"] <= 1.0
    first = s_good.steps[0]
    assert first[:2] == (0, good.index(v.end_think) + 1)  # the text step's tokens, tags included
    assert s_good.steps[1][:2] == (first[1], first[1] + v.tokens_per_image + 2)
    assert scorer.score(list(good), item) is s_good  # computed once per completion, shared by every term
    text, visual, structure, _, rouge = reward_functions(scorer)
    assert text(completion_ids=[good, off_topic], item=[item, item]) == [s_good.terms["text"], s_off.terms["text"]]
    assert rouge(completion_ids=[good, off_topic], item=[item, item]) == [1.0, s_off.terms["rouge"]]
    assert s_off.terms["rouge"] < 0.2
    assert structure(completion_ids=[cut], item=[item]) == [s_cut.terms["structure"]]


def test_references_rewarded_as_the_inserter(parts, tiny_index, tmp_path):
    model, scorer, _ = parts
    references, users, _ = grounded_references([tiny_index / "tiny"], [tiny_index / "index"], "all", [tmp_path])
    item = next(k for k, r in sorted(references.items()) if r.gold_slots)
    ref = references[item]
    assert users[item].startswith("Question: ") and "<ref_1>" in users[item]
    grounded = TrajectoryScorer(model, scorer.models, references)
    (k, slot), = ref.gold_slots[:1]
    texts = [Step("text", text="Step one."), Step("text", text="Step two."), Step("text", text="Step three.")]
    def at(r, where):
        return texts[:where] + [Step("reference", ref=r)] + texts[where:]
    right = grounded.score(model.answer_ids(at(k, slot)), item)
    wrong = grounded.score(model.answer_ids(at(16 if k != 16 else 15, slot)), item)
    none = grounded.score(model.answer_ids(texts), item)
    assert right.terms["reference"] > none.terms["reference"] >= wrong.terms["reference"]
    assert right.kinds.count("reference") == 1 and wrong.kinds.count("reference") == 1
    step = lambda s: next(r for (_, _, r), kind in zip(s.steps, s.kinds) if kind == "reference")
    assert step(right) > 0 > step(wrong)  # Inserter-R1's step reward: a non-gold figure costs
    assert right.terms["structure"] >= none.terms["structure"]


def test_rouge_term_counts_a_dropped_sentence_the_cosine_misses(parts):
    from m2io.unified.scorer import Reference

    model, scorer, _ = parts
    sentences = ["Open the Preferences dialog from the Edit menu.", "Choose the Appearance page on the left.",
                 "Set the font size of the packet list.", "Press OK to keep the change."]
    grounded = TrajectoryScorer(model, scorer.models, {"w": Reference("How do I change the font?", " ".join(sentences))})
    whole, dropped, swapped = (grounded.score(model.answer_ids([Step("text", text=t)]), "w")
                               for t in (" ".join(sentences), " ".join(sentences[:1] + sentences[2:]),
                                         " ".join(sentences).replace("font size", "colour")))
    assert whole.terms["rouge"] == 1.0 > swapped.terms["rouge"] > dropped.terms["rouge"]
    assert whole.terms["rouge"] - dropped.terms["rouge"] > 0.1
    assert abs(whole.terms["text"] - dropped.terms["text"]) < 0.02  # the cosine barely sees the loss (0.009)


def test_later_window_prompts_and_their_references(tiny_index, tmp_path):
    from m2io.unified.grounded import GroundedConfig

    args = ([tiny_index / "tiny"], [tiny_index / "index"], "all", [tmp_path])
    one, _, _ = grounded_references(*args, GroundedConfig(passage_words=6))
    refs, users, targets = grounded_references(*args, GroundedConfig(passage_words=6), windows=3)
    assert len(refs) > len(one) and set(one) < set(refs)  # the first windows keep their keys
    for key in set(refs) - set(one):  # a later window: its own text and figures are the reference
        assert refs[key].text == " ".join(s.text for s in targets[key] if s.kind == "text")
        assert [k for k, _ in refs[key].gold_slots] == [s.ref for s in targets[key] if s.kind == "reference"]
        assert users[key].startswith("Question: ")


def test_process_weight_zero_gives_trl_loss_and_grammar_holds(parts, tmp_path, monkeypatch):
    from datasets import Dataset
    from trl import GRPOConfig

    from m2io.unified import grpo_trainer
    from m2io.unified.grammar import ModalityGrammar
    from m2io.unified.grpo_trainer import UnifiedGRPOTrainer

    model, scorer, references = parts
    v = model.vocab

    class PushedGrammar(ModalityGrammar):  # steer the noise model to <vis> wherever the grammar allows one,
        def __call__(self, input_ids, scores):  # and to drawing there (references are tested on their own)
            scores[:, v.vis] += 30.0
            scores[:, v.ref_ids] -= 1000.0
            return super().__call__(input_ids, scores)

    for bad in ({"image_credit": "all"}, {"step_norm": "both"}):  # refused before TRL builds anything
        with pytest.raises(ValueError, match=next(iter(bad))):
            UnifiedGRPOTrainer(scorer=None, vocab=None, **bad)
    monkeypatch.setattr(grpo_trainer, "ModalityGrammar", PushedGrammar)
    items = sorted(references)[:2]
    rows = [{"prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": references[i].question}],
             "item": i} for i in items]
    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=2,
                      max_completion_length=80, max_steps=1, report_to=[], use_cpu=True, logging_steps=1, seed=0)
    trainer = UnifiedGRPOTrainer(model=model.lm, processing_class=model.tokenizer, reward_funcs=reward_functions(scorer),
                                 args=args, train_dataset=Dataset.from_list(rows), scorer=scorer, vocab=model.vocab,
                                 process_weight=0.0)
    torch.manual_seed(0)
    out = trainer._generate_and_score_completions([rows[0], rows[0], rows[1], rows[1]])
    for row, mask in zip(out["completion_ids"].tolist(), out["completion_mask"].tolist()):
        ids = [t for t, m in zip(row, mask) if m]
        assert not any("image" in d for d in model.parse(ids).damage), ids  # no cut or malformed image span
        traj = model.parse(ids)
        assert len(traj.images) == 1  # pushed to <vis> at every token, yet one whole image (a second would not fit)
        assert sum(v.is_image(t) for t in ids) == v.tokens_per_image
        assert ids.count(v.vis) == 1 + len(traj.references)  # with too little room to draw, only a reference fits
    assert not hasattr(model.lm, "generate") or "generate" not in vars(model.lm)  # the patch is undone
    per_sequence = dict(out, advantages=out["advantages"][:, 0])
    assert torch.equal(out["advantages"], per_sequence["advantages"][:, None].expand_as(out["advantages"]))
    assert torch.allclose(trainer._compute_loss(trainer.model, out), trainer._compute_loss(trainer.model, per_sequence))
    trainer.process_weight = 1.0
    torch.manual_seed(0)
    shaped = trainer._generate_and_score_completions([rows[0], rows[0], rows[1], rows[1]])
    adv = shaped["advantages"]  # each completion's image is a step: its tokens differ from the end token's
    assert not torch.equal(adv, adv[:, -1:].expand_as(adv))
    trainer.process_weight, trainer.image_credit = 0.0, "own"
    torch.manual_seed(0)
    own = trainer._generate_and_score_completions([rows[0], rows[0], rows[1], rows[1]])
    codes = torch.tensor([[v.is_image(t) for t in row] for row in own["completion_ids"].tolist()])
    adv, outcome = own["advantages"], own["advantages"][:, -1]  # the end is no image code: outcome alone
    assert torch.equal(adv[~codes], outcome[:, None].expand_as(adv)[~codes])  # text and tags keep the outcome
    image = torch.stack([adv[b][codes[b]].unique() for b in range(4)]).squeeze(1)  # one value per image's codes
    assert image[0] == pytest.approx(-image[1].item()) and image[2] == pytest.approx(-image[3].item())
    assert not torch.allclose(image, outcome)  # each image's own reward, not the completion's


def test_grpo_run_logs_benchmarks_and_resumes(tiny_unified_dir, tiny_index, tmp_path: Path):
    from m2io.corpus.mramg import read_dataset
    from m2io.retrieve import Retriever

    retriever = Retriever.open(tiny_index / "index")
    try:
        dev = (read_dataset(tiny_index / "tiny"), retriever)
        cfg = UnifiedGRPOConfig(model=tiny_unified_dir, corpora=[tiny_index / "tiny"], split="all",
                                index=tiny_index / "index", indexes=[tiny_index / "index"], steps=2, group=2, prompts_per_step=2, micro_batch=2,
                                max_completion=80,
                                eval_every=2, eval_max_new_tokens=16, save_steps=1,
                                weights=HybridWeights(process=0.5))
        out = tmp_path / "grpo"
        record = run_unified_grpo(cfg, out, dev)
        logged = read_metrics(out / "metrics.jsonl")
        train = [r for r in logged if "reward" in r]
        assert [r["step"] for r in train] == [1, 2]
        assert {"rewards/text/mean", "rewards/visual/mean", "rewards/structure/mean", "rewards/reference/mean", "kl",
                "completions/mean_length"} <= set(train[0])
        bench = [r for r in logged if "dev/well_formed" in r]
        assert [r["step"] for r in bench] == [0, 2] and all(0.0 <= r["dev/well_formed"] <= 1.0 for r in bench)
        lo, hi = bench[-1]["dev/well_formed_ci95"]
        asked = sum(1 for q in dev[0].qa if q.image_ids)
        assert lo <= bench[-1]["dev/well_formed"] <= hi and bench[-1]["dev/well_formed_n"] == asked
        assert (out / "adapter_model.safetensors").is_file() and not (out / "model.safetensors").exists()
        drafts = [json.loads(line) for line in (out / "grounded-all-tiny.jsonl").read_text().splitlines()]
        assert drafts and all(d["config"]["past_figures"] is False for d in drafts)  # the model's own prompt form
        sampled = [json.loads(line) for line in (out / PROMPTS_LOG).read_text().splitlines()]
        assert [r["step"] for r in sampled] == [1, 2] and all(len(r["items"]) == 2 for r in sampled)
        assert {i for r in sampled for i in r["items"]} <= {f"tiny/{k}" for k in range(len(drafts))}
        assert (out / "curves.png").stat().st_size > 10_000 and record["peak_rss_gib"] > 0
        assert UnifiedModel.load(out).vocab == UnifiedModel.load(tiny_unified_dir).vocab
        state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
        assert state["train_batch_size"] == 2  # 4 completions a step, backward in passes of 2
        with pytest.raises(ValueError, match="prompts must be one of"):
            run_unified_grpo(UnifiedGRPOConfig(**{**cfg.__dict__, "prompts": "decisions", "indexes": []}),
                             tmp_path / "bad", dev)
        # the misses filter scores every prompt whose target shows a figure; at odds 0 none is left
        with pytest.raises(ValueError, match="left after the misses filter"):
            run_unified_grpo(UnifiedGRPOConfig(**{**cfg.__dict__, "prompts": "misses", "miss_odds": 0.0}), out, dev)
        odds = [json.loads(line) for line in (out / "figure-odds.jsonl").read_text().splitlines()]
        shown = [d for d in drafts if any(s["kind"] == "reference" for s in d["steps"])]
        assert len(odds) == len(shown) > 0 and all(0.0 < p < 1.0 for row in odds for p in row["odds"])
        with pytest.raises(ValueError, match=r"left out: over 8 prompt tokens"):  # every grounded prompt is longer
            run_unified_grpo(UnifiedGRPOConfig(**{**cfg.__dict__, "max_prompt_tokens": 8}), out, dev)
        with pytest.raises(ValueError, match="scale_rewards must be"):
            run_unified_grpo(UnifiedGRPOConfig(**{**cfg.__dict__, "scale_rewards": "per-group"}), tmp_path / "bad", dev)
        with pytest.raises(ValueError, match="micro_batch 3 must divide the 4"):
            run_unified_grpo(UnifiedGRPOConfig(**{**cfg.__dict__, "micro_batch": 3}), tmp_path / "bad", dev)
        # resumed with room for 5 steps, but a time budget that the first step already spends; from here the
        # terms normalised one by one (GDPO, TRL's own code path), steps per kind, images their own credit,
        # advantages scaled by the step's std and the loss on the top fifth of tokens by entropy, on the prompts
        # whose figures or text the starting model misses (the tiny model writes other text on every one)
        resumed = UnifiedGRPOConfig(**{**cfg.__dict__, "steps": 5, "max_minutes": 1e-6, "step_norm": "per_kind",
                                       "aggregation": "normalize_then_sum", "image_credit": "own",
                                       "scale_rewards": "batch", "top_entropy_quantile": 0.2,
                                       "prompts": "any-misses", "miss_odds": 0.0})
        record = run_unified_grpo(resumed, out, dev)
        assert record["steps"] == 3
        missed = [json.loads(line) for line in (out / "text-misses.jsonl").read_text().splitlines()]
        texts = [d for d in drafts if any(s["kind"] == "text" for s in d["steps"])]
        assert len(missed) == len(texts) > 0 and all(row["misses"] > 0 for row in missed)
        assert record["rows"] == len(texts)
        args = torch.load(out / "checkpoint-3" / "training_args.bin", weights_only=False)  # what TRL trained with
        assert (args.scale_rewards, args.top_entropy_quantile) == ("batch", 0.2)
    finally:
        retriever.close()
    logged = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in logged if "reward" in r] == [1, 2, 3]  # on from checkpoint-2
    assert [r["step"] for r in logged if "dev/well_formed" in r] == [0, 2, 3]
    from m2io.unified.card import export_unified

    shipped = export_unified(out, tmp_path / "model")
    card = (shipped / "README.md").read_text()
    assert "unified-grpo" in card and "| 0 |" in card and "| 3 |" in card and (shipped / "curves.png").is_file()
    assert not (shipped / "model.safetensors").exists()
    # an ablation's run matched on steps: room for 6, stopped after 4, the schedule still that of 6
    record = run_unified_grpo(UnifiedGRPOConfig(**{**resumed.__dict__, "steps": 6, "max_minutes": None,
                                                   "stop_after": 4}), out, None)
    state = json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())
    assert record["steps"] == 4 and state["global_step"] == 4 and state["max_steps"] == 6


def test_anchor_trains_the_clean_targets_and_logs_them(tiny_unified_dir, tiny_index, tmp_path: Path):
    """The anchor takes the prompts the starting model copies without a text miss that GRPO does not sample (here
    three the text-miss cache records as clean: the untrained tiny model copies none), adds their likelihood to
    the loss of every pass in a seeded order numbered by step and pass, logs it and the anchored items, and moves
    the model toward those targets far more than GRPO alone at the same learning rate."""
    from m2io.unified.anchor import anchor_examples, target_nll

    cfg = UnifiedGRPOConfig(model=tiny_unified_dir, corpora=[tiny_index / "tiny"], split="all",
                            index=tiny_index / "index", indexes=[tiny_index / "index"], steps=3, group=2,
                            prompts_per_step=1, micro_batch=1, max_completion=40, learning_rate=2e-2,
                            eval_every=100, eval_at_start=False, save_steps=100, anchor=5.0, prompts="text-misses")
    _, users, targets = grounded_references(cfg.corpora, cfg.indexes, "all", [tmp_path / "drafts"])
    start = UnifiedModel.load(tiny_unified_dir)
    clean = ["tiny/0", "tiny/1", "tiny/2"]
    order = [k for k, _, _ in anchor_examples(start, clean, users, targets, cfg.seed)]

    def mean_nll(model):
        with torch.no_grad():
            return sum(target_nll(model.lm, model.prompt_ids(users[k]), model.answer_ids(targets[k])).item()
                       for k in clean) / len(clean)

    before = mean_nll(start)
    nll = {}
    for weight in (5.0, 0.0):
        out = tmp_path / f"anchor-{weight}"
        out.mkdir()
        (out / "text-misses.jsonl").write_text("".join(json.dumps({"key": k, "misses": 0}) + "\n" for k in clean))
        record = run_unified_grpo(UnifiedGRPOConfig(**{**cfg.__dict__, "anchor": weight}), out)
        assert record["rows"] == 1 and record["anchor_prompts"] == (3 if weight else 0)  # tiny/3 is trained on
        nll[weight] = mean_nll(UnifiedModel.load(out))
        logged = [r for r in read_metrics(out / "metrics.jsonl") if "reward" in r]
        sampled = [json.loads(line) for line in (out / PROMPTS_LOG).read_text().splitlines()]
        assert all(r["items"] == ["tiny/3"] for r in sampled)
        if weight:
            assert [r["step"] for r in logged] == [1, 2, 3] and all(r["anchor_nll"] > 0 for r in logged)
            # two passes a step, one example each: the 6 passes go round the 3 in the seeded order twice
            assert [k for r in sampled for k in r["anchor"]] == [order[i % 3] for i in range(6)]
        else:
            assert all("anchor_nll" not in r for r in logged) and all("anchor" not in r for r in sampled)
    # the near-uniform tiny model (10.83 nats) moves little in 3 steps; the anchor lowers its targets' loss (-0.017)
    # over three times as much as GRPO on the fourth prompt alone (-0.005)
    assert before - nll[5.0] > 0.01 and before - nll[5.0] > 2 * abs(before - nll[0.0])
    with pytest.raises(ValueError, match="anchor needs grounded prompts"):
        run_unified_grpo(UnifiedGRPOConfig(**{**cfg.__dict__, "indexes": [], "prompts": "all"}), tmp_path / "bad")
    with pytest.raises(ValueError, match="anchor: no prompt the starting model copies"):  # all: every one trained on
        run_unified_grpo(UnifiedGRPOConfig(**{**cfg.__dict__, "prompts": "all"}), tmp_path / "anchor-5.0")
