"""Train the image tokenizer on corpus figures and clip-art: one loop, top to bottom, resumable.

Loss: L1 + (1 - SSIM) * ``ssim_weight`` on 64x64 pictures (pixels decoded once, cached in ``out``).
Every ``eval_every`` steps the held-out pictures are reconstructed (PSNR, SSIM) and a checkpoint
is written; an interrupted run resumes from it. At the end: ``report.json`` with PSNR, SSIM and the
cosine between the image encoder's visual vectors of original and reconstruction, per source, each
with its 95% bootstrap interval; ``reconstructions.png`` (originals above reconstructions);
``metrics.jsonl`` and ``curves.png``; the tokenizer itself (``tokenizer.json``, ``tokenizer.pt``).

    m2io unified tokenizer data/gimp data/grass --heldout-corpus data/kicad --out runs/image-tokenizer
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from m2io.train.curves import append_metrics, plot_curves
from m2io.unified.pictures import Picture, clipart_pictures, corpus_pictures, load_pixels
from m2io.unified.tokenizer import ImageTokenizer, TokenizerConfig, to_pil

CHECKPOINT = "checkpoint.pt"


@dataclass
class TokenizerTrainConfig:
    corpora: list[Path] = field(default_factory=list)
    """MRAMG folders of training manuals: train-side figures train, dev-side ones are held out."""
    heldout_corpora: list[Path] = field(default_factory=list)
    """MRAMG folders never trained on: every figure held out (reported apart)."""
    clipart: bool = True
    """Add the clip-art packages (openclipart-png, tuxpaint-stamps-default)."""
    tokenizer: TokenizerConfig = field(default_factory=lambda: TokenizerConfig(channels=32))
    steps: int = 3000
    max_minutes: float = 15.0
    """Training stops at ``steps`` or after this many minutes, whichever comes first."""
    batch_size: int = 32
    lr: float = 2e-3
    ssim_weight: float = 0.2
    eval_every: int = 200
    eval_images: int = 256
    """Held-out pictures scored during training (the final report uses all of them)."""
    seed: int = 0


def pixel_batch(pixels: np.ndarray, idx) -> torch.Tensor:
    return torch.from_numpy(pixels[idx]).permute(0, 3, 1, 2).float() / 255.0


def _psnr_ssim(tok: ImageTokenizer, pixels: np.ndarray, batch: int = 64) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    from pytorch_msssim import ssim

    psnr, ssims, recons = [], [], []
    tok.eval()
    with torch.no_grad():
        for i in range(0, len(pixels), batch):
            x = pixel_batch(pixels, slice(i, i + batch))
            r = tok(x)[0].clamp(0, 1)
            mse = ((r - x) ** 2).flatten(1).mean(1).clamp_min(1e-10)
            psnr.append((10 * torch.log10(1 / mse)).numpy())
            ssims.append(ssim(r, x, data_range=1.0, size_average=False).numpy())
            recons.append(r)
    tok.train()
    return np.concatenate(psnr), np.concatenate(ssims), torch.cat(recons)


def _mean_ci(values: np.ndarray) -> dict:
    from m2io.evaluate.bootstrap import bootstrap_ci

    lo, hi = bootstrap_ci(values) or (None, None)
    return {"mean": float(np.mean(values)), "ci95": [lo, hi]}


def _grid(originals: np.ndarray, recons: torch.Tensor, out: Path, per_row: int = 12, scale: int = 2) -> Path:
    """Rows of originals, each above its reconstructions."""
    from PIL import Image as PILImage

    n = len(originals)
    s = originals.shape[1] * scale
    rows = (n + per_row - 1) // per_row
    sheet = PILImage.new("RGB", (per_row * s, rows * 2 * s + rows * 4), "white")
    recon_images = to_pil(recons)
    for k in range(n):
        r, c = divmod(k, per_row)
        y = r * (2 * s + 4)
        sheet.paste(PILImage.fromarray(originals[k]).resize((s, s), PILImage.NEAREST), (c * s, y))
        sheet.paste(recon_images[k].resize((s, s), PILImage.NEAREST), (c * s, y + s))
    sheet.save(out)
    return out


def _report(tok: ImageTokenizer, pixels: np.ndarray, pictures: list[Picture], out: Path) -> dict:
    """PSNR, SSIM and visual cosine on every held-out picture, per source group, with intervals."""
    from PIL import Image as PILImage

    from m2io.encoders.image import EfficientNetLiteEncoder

    psnr, ssims, recons = _psnr_ssim(tok, pixels)
    encoder = EfficientNetLiteEncoder()
    a = encoder.encode([PILImage.fromarray(p) for p in pixels]).visual
    b = encoder.encode(to_pil(recons)).visual
    cosine = (a * b).sum(1)
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(pictures):
        group = "clip-art" if p.source in ("openclipart", "tuxpaint-stamps") else p.source
        groups.setdefault(group, []).append(i)
    report = {}
    for group, idx in sorted(groups.items()) + [("all", list(range(len(pictures))))]:
        report[group] = {"n": len(idx), "psnr": _mean_ci(psnr[idx]), "ssim": _mean_ci(ssims[idx]),
                         "visual_cosine": _mean_ci(cosine[idx])}
    rng = random.Random(0)
    show = sorted(rng.sample(range(len(pictures)), min(36, len(pictures))), key=lambda i: pictures[i].source)
    _grid(pixels[show], recons[show], out / "reconstructions.png")
    return report


def train_tokenizer(cfg: TokenizerTrainConfig, out: Path, cache: Path) -> dict:
    """Train (or resume) into ``out``; return the held-out report."""
    from pytorch_msssim import ssim
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train-config.json").write_text(json.dumps(asdict(cfg), indent=1, default=str) + "\n")
    pictures = [p for root in cfg.corpora for p in corpus_pictures(root)]
    pictures += [p for root in cfg.heldout_corpora for p in corpus_pictures(root, all_heldout=True)]
    if cfg.clipart:
        pictures += clipart_pictures(cache)
    size = cfg.tokenizer.image_size
    pixels, pictures = load_pixels(pictures, size, out / "pixels.npz")
    train_idx = np.array([i for i, p in enumerate(pictures) if p.split == "train"])
    held_idx = np.array([i for i, p in enumerate(pictures) if p.split == "heldout"])
    if len(train_idx) == 0 or len(held_idx) == 0:
        raise ValueError(f"need training and held-out pictures (have {len(train_idx)} and {len(held_idx)})")

    torch.manual_seed(cfg.seed)
    tok = ImageTokenizer(cfg.tokenizer)
    opt = torch.optim.AdamW(tok.parameters(), lr=cfg.lr, weight_decay=0.0)
    step, elapsed = 0, 0.0
    if (out / CHECKPOINT).is_file():
        state = torch.load(out / CHECKPOINT, map_location="cpu", weights_only=False)
        tok.load_state_dict(state["model"]), opt.load_state_dict(state["optimizer"])
        step, elapsed = state["step"], state["elapsed"]
    rng = np.random.default_rng(cfg.seed + step)
    probe = held_idx[np.random.default_rng(0).permutation(len(held_idx))[:cfg.eval_images]]
    budget = cfg.max_minutes * 60
    bar = tqdm(total=cfg.steps, initial=step, desc="tokenizer", unit="step")
    started = time.monotonic() - elapsed
    while step < cfg.steps and time.monotonic() - started < budget:
        lr = cfg.lr * min(1.0, (step + 1) / 100) * 0.5 * (1 + np.cos(np.pi * step / cfg.steps))
        for group in opt.param_groups:
            group["lr"] = lr
        x = pixel_batch(pixels, rng.choice(train_idx, cfg.batch_size))
        recon, codes = tok(x)
        l1 = (recon - x).abs().mean()
        s = ssim(recon.clamp(0, 1), x, data_range=1.0)
        loss = l1 + cfg.ssim_weight * (1 - s)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        bar.update(1)
        row = {"step": step, "loss": loss.item(), "l1": l1.item(), "ssim": s.item(), "lr": lr,
               "codes_used": int(codes.unique().numel())}
        if step % cfg.eval_every == 0 or step == cfg.steps:
            psnr, ssims, _ = _psnr_ssim(tok, pixels[probe])
            row |= {"heldout/psnr": float(psnr.mean()), "heldout/ssim": float(ssims.mean())}
            bar.set_postfix(psnr=f"{psnr.mean():.2f}", ssim=f"{ssims.mean():.3f}")
            torch.save({"model": tok.state_dict(), "optimizer": opt.state_dict(), "step": step,
                        "elapsed": time.monotonic() - started}, out / CHECKPOINT)
        if step % 10 == 0 or "heldout/psnr" in row:
            append_metrics(out / "metrics.jsonl", row)
    bar.close()
    seconds = time.monotonic() - started
    tok.eval().save(out)
    plot_curves(out / "metrics.jsonl", out / "curves.png")
    report = _report(tok, pixels[held_idx], [pictures[i] for i in held_idx], out)
    record = {"steps": step, "train_seconds": round(seconds), "train_pictures": int(len(train_idx)),
              "heldout_pictures": int(len(held_idx)), "codebook_size": tok.codebook_size,
              "tokens_per_image": tok.tokens_per_image, "heldout": report}
    (out / "report.json").write_text(json.dumps(record, indent=1) + "\n")
    return record
