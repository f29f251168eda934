"""Training rows from the tiny corpus, and SFT end to end on the tiny Llama (LoRA), then loaded as r1."""
from __future__ import annotations

import json
from pathlib import Path

from m2io.corpus.mramg import read_dataset
from m2io.encoders.text import TextEncoder
from m2io.insert.r1_lm import R1LMInserter
from m2io.insert.rule import RuleInserter
from m2io.insert.task import build_tasks
from m2io.lm.local import LocalChatModel
from m2io.train.data import AugmentConfig, training_rows
from m2io.train.rewards import outcome_rewards
from m2io.train.sft import SFTRunConfig, run_sft


def test_rows_carry_prompt_gold_plan_and_augmentations(tiny_corpus: Path):
    rows = training_rows(read_dataset(tiny_corpus), split="all", augment=AugmentConfig(shuffles=1, more_distractors=1,
                                                                                        cuts=1))
    variants = [r["variant"] for r in rows]
    assert variants.count("base") == 4 and variants.count("shuffle0") == 4 and variants.count("distract0") == 4
    export = next(r for r in rows if r["qa_id"] == "tiny/3" and r["variant"] == "base")
    gold = {int(k): v for k, v in json.loads(export["gold"]).items()}
    assert sorted(gold.values()) == [1, 2] and export["n_segments"] == 2
    plan = export["completion"][0]["content"]
    assert plan.startswith("<plan><img") and plan.endswith("</plan>")
    assert outcome_rewards(plan, gold, export["n_candidates"], export["n_segments"]) == {
        "format": 1.0, "selection": 1.0, "order": 1.0, "position": 1.0, "exact": 1.0}  # the gold plan earns every reward
    assert export["prompt"][1]["content"].startswith("Question: How do I use exporting?")


def test_rows_carry_the_hints_and_draft_r1_shows_at_inference(tiny_corpus: Path, tiny_lm_dir: Path):
    rule = RuleInserter(TextEncoder())
    ds = read_dataset(tiny_corpus)
    rows = training_rows(ds, split="all", augment=AugmentConfig(shuffles=0, more_distractors=0, cuts=0),
                         rule=rule)
    r1 = R1LMInserter(LocalChatModel(tiny_lm_dir), rule)
    for task, row in zip(build_tasks(ds, seed=0), rows):
        assert row["prompt"] == r1.messages(task.query, task.segments, task.candidates)
        assert "[best match: [" in row["prompt"][1]["content"] and "Draft plan (rule): " in row["prompt"][1]["content"]


def test_sft_trains_an_adapter_that_r1_loads(tiny_corpus: Path, tiny_lm_dir: Path, tmp_path: Path):
    rows = training_rows(read_dataset(tiny_corpus), split="all",
                         augment=AugmentConfig(shuffles=0, more_distractors=0, cuts=0))
    out = run_sft(rows, SFTRunConfig(out=str(tmp_path / "adapter"), base=str(tiny_lm_dir), epochs=1, batch_size=2,
                                     max_length=512, logging_steps=1, save_steps=1000))
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    record = json.loads((out / "m2io-train.json").read_text())
    assert record["rows"] == 4 and isinstance(record["train_seconds"], int)
    lm = LocalChatModel(tiny_lm_dir, adapter=out)
    assert lm.name == f"{tiny_lm_dir.name}+adapter"
    task = next(t for t in build_tasks(read_dataset(tiny_corpus), distractors=2) if t.qa_id == "3")
    r = R1LMInserter(lm, RuleInserter(TextEncoder())).insert(task.query, task.segments, task.candidates)
    assert not r.fallback and r.raw_output.startswith("<plan>") and r.model_calls == 1


def test_fit_rows_leaves_out_long_rows(tiny_corpus: Path, tiny_lm_dir: Path):
    from transformers import AutoTokenizer

    from m2io.train.data import fit_rows

    rows = training_rows(read_dataset(tiny_corpus), split="all",
                         augment=AugmentConfig(shuffles=0, more_distractors=0, cuts=0))
    tok = AutoTokenizer.from_pretrained(str(tiny_lm_dir))
    sizes = sorted(len(tok.apply_chat_template(r["prompt"] + r["completion"], return_dict=False)) for r in rows)
    kept, dropped = fit_rows(rows, tok, sizes[1])  # room for the two shortest only
    assert (len(kept), dropped) == (2, len(rows) - 2)
    assert fit_rows(rows, tok, sizes[-1]) == (rows, 0)


def test_exported_adapter_is_fp16_and_loads(tiny_corpus: Path, tiny_lm_dir: Path, tmp_path: Path):
    from safetensors.torch import load_file

    from m2io.train.export import export_adapter

    rows = training_rows(read_dataset(tiny_corpus), split="all",
                         augment=AugmentConfig(shuffles=0, more_distractors=0, cuts=0))
    run = run_sft(rows, SFTRunConfig(out=str(tmp_path / "run"), base=str(tiny_lm_dir), epochs=1, batch_size=4,
                                     max_length=512, logging_steps=1, save_steps=1000, precision="fp32"),
                  command="m2io train sft tiny --max-steps 1")
    shipped = export_adapter(run, tmp_path / "ship", note="Scores below rule.")
    half, full = load_file(str(shipped / "adapter_model.safetensors")), load_file(str(run / "adapter_model.safetensors"))
    assert {str(v.dtype) for v in half.values()} == {"torch.float16"} and half.keys() == full.keys()
    assert (shipped / "m2io-train.json").is_file()
    card = (shipped / "README.md").read_text()  # the card is written from the run record
    assert "m2io train sft tiny --max-steps 1" in card and "**SFT**: 4 rows" in card and tiny_lm_dir.name in card
    assert "Scores below rule." in card
    a = LocalChatModel(tiny_lm_dir, adapter=run).chat([{"role": "user", "content": "Hi"}], max_tokens=8)
    b = LocalChatModel(tiny_lm_dir, adapter=shipped).chat([{"role": "user", "content": "Hi"}], max_tokens=8)
    assert a.text == b.text  # greedy output survives the fp16 rounding
