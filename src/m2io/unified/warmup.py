"""Warm up the unified model on the hybrid mix: one loop, top to bottom, resumable.

Next-token loss on the assistant's tokens (text, image and reference tokens alike) over examples
drawn by :mod:`m2io.unified.mix`'s ratios, grounded answers first (each training manual's questions
answered from the pipeline's retrieval, :mod:`m2io.unified.grounded_data`). By default the LM trains
as LoRA plus the added tokens' rows (bf16 autocast where the CPU has AMX/AVX512-BF16: 1.6x here),
so the model ships as a small folder; ``lora=False`` fine-tunes every weight (fp32) as the first
warm-up did. Every ``eval_every`` steps: the loss of each task on
held-out examples (dev sections of the training manuals, held-out clip-art) and a checkpoint; an
interrupted run resumes from it, drawing the same batches. At the end: the model folder
(:meth:`~m2io.unified.model.UnifiedModel.save`), ``metrics.jsonl``, ``curves.png`` and
``m2io-train.json``.

    m2io unified warmup data/gimp data/grass --tokenizer models/image-tokenizer --out runs/unified-warmup
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from m2io.train.curves import append_metrics, plot_curves
from m2io.unified.grounded import GroundedConfig
from m2io.unified.grounded_data import LEGACY, MAX_REFERENCES, grounded_examples
from m2io.unified.mix import (TASKS, Example, MixConfig, draw, interleaved_examples, text_to_image_example,
                              understanding_example)
from m2io.unified.model import UnifiedModel

CHECKPOINT, RECORD = "checkpoint.pt", "m2io-train.json"


@dataclass
class WarmupConfig:
    corpora: list[Path] = field(default_factory=list)
    """MRAMG folders of training manuals (train split trains, dev split scores)."""
    indexes: list[Path] = field(default_factory=list)
    """The corpora's indexes, in the same order (grounded examples retrieve from them); empty: no grounded task."""
    grounded: GroundedConfig = field(default_factory=GroundedConfig)
    windows: int = 1
    """Grounded examples of each question's passage windows up to this many (the answerer's later windows, which
    open mid-section: :func:`~m2io.unified.grounded_data.grounded_examples`); 1: the first window only."""
    lora: bool = True
    """LoRA plus the added tokens' rows (a small folder); False: every weight."""
    lora_r: int = 16
    tokenizer: Path = Path("models/image-tokenizer")
    base: Path | None = None
    """Text LM folder [bundled SmolLM2-135M-Instruct]."""
    clipart: bool = True
    mix: MixConfig = field(default_factory=MixConfig)
    steps: int = 400
    max_minutes: float = 55.0
    """Training stops at ``steps`` or after this many minutes, whichever comes first."""
    batch_size: int = 8
    micro_batch: int | None = 4
    """Examples per forward and backward pass (the step's gradient is the same, summed over passes): activations
    of 8 rows at once took a 124-step run to 14.9 GiB peak RSS; None: the whole batch in one pass."""
    lr: float = 1e-3
    """1e-3 for LoRA; the full fine-tuning of the first warm-up ran at 3e-4."""
    max_len: int = 448
    eval_every: int = 50
    eval_examples: int = 16
    """Held-out examples per task scored at each evaluation."""
    precision: str = "auto"
    """``auto`` decides by the CPU: bf16 autocast made a LoRA step 1.6x faster here (17.5 s against 28 s for
    8x360 tokens) but a full fine-tuning step 13x slower (425 s against 33 s for 8x256): use fp32 without LoRA."""
    seed: int = 0


def _codes(model: UnifiedModel, pictures, pixels, batch: int = 256) -> dict[str, list[int]]:
    out = {}
    from m2io.unified.train_tokenizer import pixel_batch

    for i in range(0, len(pictures), batch):
        for p, c in zip(pictures[i:i + batch], model.codec.encode(pixel_batch(pixels, slice(i, i + batch))).tolist()):
            out[str(p.path)] = c
    return out


def build_pools(model: UnifiedModel, cfg: WarmupConfig, out: Path, cache: Path) -> dict[str, dict[str, list[Example]]]:
    """{train, dev} -> task -> examples."""
    from m2io.unified.pictures import clipart_pictures, corpus_pictures, load_pixels

    pictures = [p for root in cfg.corpora for p in corpus_pictures(root)]
    if cfg.clipart:
        pictures += clipart_pictures(cache)
    pixels, pictures = load_pixels(pictures, model.image_size, out / "pixels.npz")
    codes = _codes(model, pictures, pixels)
    pools = {}
    for split, side in (("train", "train"), ("dev", "heldout")):
        chosen = [p for p in pictures if p.split == side and p.caption.strip()]
        grounded = [] if not cfg.mix.grounded else [
            e for root, index in zip(cfg.corpora, cfg.indexes)
            for e in grounded_examples(root, index, split, out / f"grounded-{split}-{Path(root).name}.jsonl",
                                       cfg.grounded, windows=cfg.windows)]
        pools[split] = {
            "grounded": grounded,
            "interleaved": [] if not cfg.mix.interleaved else
            [e for root in cfg.corpora for e in interleaved_examples(root, codes, split, cfg.mix)],
            "understanding": [understanding_example(p.caption, codes[str(p.path)]) for p in chosen],
            "text_to_image": [text_to_image_example(p.caption, codes[str(p.path)]) for p in chosen],
        }
    return pools


def encode(model: UnifiedModel, example: Example, max_len: int) -> tuple[list[int], list[int]]:
    """Input ids and labels (-100 on the prompt), cut to ``max_len``."""
    user = example.user if example.user_image is None else model.image_text(example.user_image) + "\n" + example.user
    prompt, answer = model.prompt_ids(user), model.answer_ids(example.steps)
    ids = (prompt + answer)[:max_len]
    return ids, ([-100] * len(prompt) + answer)[:max_len]


def target_tokens(model: UnifiedModel, examples: list[Example], max_len: int) -> int:
    """How many tokens of the examples' answers are scored (within ``max_len``)."""
    return sum(max(1, sum(1 for t in encode(model, e, max_len)[1] if t != -100)) for e in examples)


def batch_loss(model: UnifiedModel, examples: list[Example], max_len: int, autocast: bool,
               normalizer: int | None = None) -> tuple[torch.Tensor, dict]:
    """Mean token loss of the batch (the sum over ``normalizer`` tokens when given: one micro-batch's share of a
    step's mean), and the mean loss of each task present."""
    rows = [encode(model, e, max_len) for e in examples]
    width = max(len(ids) for ids, _ in rows)
    pad = model.tokenizer.pad_token_id
    ids = torch.tensor([r + [pad] * (width - len(r)) for r, _ in rows])
    labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r, _ in rows])
    # Logits only from the last prompt token on: the prompt is never scored, and a grounded prompt is most of a
    # row, so this saves most of the (rows x tokens x 50k) projection and its memory.
    first = [next((i for i, t in enumerate(lab) if t != -100), len(lab)) for _, lab in rows]  # the prompts' lengths
    start = max(0, min(first) - 1)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        logits = model.lm(input_ids=ids, attention_mask=mask, logits_to_keep=width - start).logits
    target = labels[:, start + 1:]
    per_token = torch.nn.functional.cross_entropy(logits[:, :-1].float().transpose(1, 2), target,
                                                  ignore_index=-100, reduction="none")
    counts = (target != -100).sum(1).clamp_min(1)
    per_example = per_token.sum(1) / counts
    by_task: dict[str, list[float]] = {}
    for e, value in zip(examples, per_example.tolist()):
        by_task.setdefault(e.task, []).append(value)
    loss = per_token.sum() / (normalizer or counts.sum())
    return loss, {t: sum(v) / len(v) for t, v in by_task.items()}


def evaluate(model: UnifiedModel, dev: dict[str, list[Example]], cfg: WarmupConfig, autocast: bool) -> dict:
    model.lm.eval()
    row = {}
    with torch.no_grad():
        for task in TASKS:
            examples = random.Random(0).sample(dev[task], min(cfg.eval_examples, len(dev[task])))
            if examples:
                losses = [batch_loss(model, examples[i:i + cfg.batch_size], cfg.max_len, autocast)[0].item()
                          for i in range(0, len(examples), cfg.batch_size)]
                row[f"dev/loss_{task}"] = sum(losses) / len(losses)
    model.lm.train()
    return row


def warmup(cfg: WarmupConfig, out: Path, cache: Path) -> dict:
    """Warm up (or resume) into ``out``; return the run record."""
    import math

    from tqdm import tqdm

    from m2io.train.device import trainer_device_args
    from m2io.unified.tokenizer import ImageTokenizer

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "warmup-config.json").write_text(json.dumps(asdict(cfg), indent=1, default=str) + "\n")
    if cfg.indexes and len(cfg.indexes) != len(cfg.corpora):
        raise ValueError(f"{len(cfg.indexes)} indexes for {len(cfg.corpora)} corpora: give one index per corpus")
    torch.manual_seed(cfg.seed)
    model = UnifiedModel.from_base(cfg.base, ImageTokenizer.load(cfg.tokenizer), MAX_REFERENCES)
    if cfg.lora:
        model.add_lora(cfg.lora_r, 2 * cfg.lora_r)
    pools = build_pools(model, cfg, out, cache)
    sizes = {split: {t: len(v) for t, v in p.items()} for split, p in pools.items()}
    if not any(pools["train"].values()):
        raise ValueError("the hybrid mix is empty: no corpus sections with figures and no captioned pictures")
    autocast = trainer_device_args(cfg.precision)["bf16"]
    trained = {n: p for n, p in model.lm.named_parameters() if p.requires_grad}
    opt = torch.optim.AdamW(trained.values(), lr=cfg.lr, weight_decay=0.0)
    step, elapsed, rng = 0, 0.0, random.Random(cfg.seed)
    if (out / CHECKPOINT).is_file():
        state = torch.load(out / CHECKPOINT, map_location="cpu", weights_only=False)
        loaded = model.lm.load_state_dict(state["lm"], strict=not cfg.lora)  # LoRA: the trained weights only
        if loaded.unexpected_keys or set(trained) - set(state["lm"]):
            raise ValueError(f"{out / CHECKPOINT}: not a checkpoint of this model and config (lora={cfg.lora})")
        learned = state.get("grounded", LEGACY)  # checkpoints from before the record: the first prompt form
        if cfg.mix.grounded and learned != asdict(cfg.grounded):
            raise ValueError(f"{out / CHECKPOINT}: trained on grounded prompts {learned}, not {asdict(cfg.grounded)}; "
                             "resume with those settings or start a new folder")
        opt.load_state_dict(state["optimizer"])
        step, elapsed = state["step"], state["elapsed"]
        rng.setstate(state["rng"])
    model.lm.train()
    bar = tqdm(total=cfg.steps, initial=step, desc="warm-up", unit="step")
    started = time.monotonic() - elapsed
    window: dict[str, list[float]] = {}
    while step < cfg.steps and time.monotonic() - started < cfg.max_minutes * 60:
        lr = cfg.lr * min(1.0, (step + 1) / 20) * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))
        for group in opt.param_groups:
            group["lr"] = lr
        examples = [draw(pools["train"], cfg.mix, rng) for _ in range(cfg.batch_size)]
        t0 = time.monotonic()
        micro = cfg.micro_batch or len(examples)
        total = target_tokens(model, examples, cfg.max_len)
        opt.zero_grad()
        loss, by_task = torch.zeros(()), {}
        for i in range(0, len(examples), micro):  # each pass backward at once: one pass's activations at a time
            part, part_tasks = batch_loss(model, examples[i:i + micro], cfg.max_len, autocast, normalizer=total)
            part.backward()
            loss = loss + part.detach()
            for task, value in part_tasks.items():
                by_task.setdefault(task, []).append(value)
        by_task = {task: sum(v) / len(v) for task, v in by_task.items()}
        torch.nn.utils.clip_grad_norm_(trained.values(), 1.0)
        opt.step()
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", s_per_step=f"{time.monotonic() - t0:.1f}")
        window.setdefault("loss", []).append(loss.item())
        for task, value in by_task.items():
            window.setdefault(f"loss_{task}", []).append(value)
        if step % 5 == 0 or step == cfg.steps:
            append_metrics(out / "metrics.jsonl", {"step": step, "lr": lr, "seconds": round(time.monotonic() - started),
                                                   **{k: sum(v) / len(v) for k, v in window.items()}})
            window = {}
        if step % cfg.eval_every == 0:
            row = evaluate(model, pools["dev"], cfg, autocast)
            append_metrics(out / "metrics.jsonl", {"step": step, **row})
            weights = {n: p.detach() for n, p in trained.items()} if cfg.lora else model.lm.state_dict()
            torch.save({"lm": weights, "optimizer": opt.state_dict(), "step": step, "grounded": asdict(cfg.grounded),
                        "elapsed": time.monotonic() - started, "rng": rng.getstate()}, out / CHECKPOINT)
    bar.close()
    seconds = time.monotonic() - started
    final = evaluate(model, pools["dev"], cfg, autocast)
    append_metrics(out / "metrics.jsonl", {"step": step, **final})
    model.grounded = asdict(cfg.grounded)  # the prompt form it learned, which the answerer then builds
    model.save(out)
    plot_curves(out / "metrics.jsonl", out / "curves.png")
    import resource

    record = {"kind": "unified-warmup", "steps": step, "train_seconds": round(seconds), "examples": sizes,
              "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
              "final": final, "autocast_bf16": autocast, "config": asdict(cfg)}
    (out / RECORD).write_text(json.dumps(record, indent=1, default=str) + "\n")
    return record
