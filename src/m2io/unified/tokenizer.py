"""The image tokenizer: a small conv autoencoder with an FSQ bottleneck (``vector-quantize-pytorch``).

A 64x64 RGB image becomes an 8x8 grid of codes from a codebook of 1,000 (FSQ levels 8,5,5,5), and a
grid of codes decodes back to an image. FSQ rather than VQ: its codebook is implicit (a rounded
grid), so there is no codebook to collapse, no commitment loss and no EMA to tune; every code stays
in use, which matters when a few thousand images and twenty CPU minutes are all the training there
is, and when the LM must learn to predict every code. 1,000 codes keep the LM's added vocabulary
small (1,000 rows, not 64k).

Only the conv stacks are written here (no library ships a small conv autoencoder to build on).

>>> tok = ImageTokenizer(TokenizerConfig(channels=8))
>>> import torch
>>> codes = tok.encode(torch.rand(2, 3, 64, 64))
>>> codes.shape, int(codes.max()) < tok.codebook_size, tok.decode(codes).shape
(torch.Size([2, 64]), True, torch.Size([2, 3, 64, 64]))
"""
from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image as PILImage
from torch import nn

from m2io.errors import M2IOError

CONFIG_FILE, WEIGHTS_FILE = "tokenizer.json", "tokenizer.pt"


class TokenizerError(M2IOError):
    """An image tokenizer folder that cannot be loaded."""


@dataclass
class TokenizerConfig:
    image_size: int = 64
    """Side of the square images it reads and writes (pixels)."""
    downsample: int = 8
    """image_size / downsample is the side of the code grid (64 / 8 = an 8x8 grid)."""
    channels: int = 64
    """Width of the first conv stage (doubled at each downsampling, capped at 4x)."""
    levels: list[int] = field(default_factory=lambda: [8, 5, 5, 5])
    """FSQ levels per latent dimension; the codebook size is their product."""

    @property
    def grid(self) -> int:
        return self.image_size // self.downsample

    @property
    def tokens_per_image(self) -> int:
        return self.grid * self.grid


class _Res(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.GroupNorm(8, c), nn.SiLU(), nn.Conv2d(c, c, 3, padding=1),
                                  nn.GroupNorm(8, c), nn.SiLU(), nn.Conv2d(c, c, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


def _widths(cfg: TokenizerConfig) -> list[int]:
    stages = int(np.log2(cfg.downsample))
    return [cfg.channels * min(2 ** i, 4) for i in range(stages + 1)]


class ImageTokenizer(nn.Module):
    """Images in [0, 1], shape (B, 3, S, S)  <->  codes, shape (B, grid*grid), ints below ``codebook_size``."""

    def __init__(self, config: TokenizerConfig | None = None):
        from vector_quantize_pytorch import FSQ

        super().__init__()
        self.config = cfg = config or TokenizerConfig()
        if cfg.image_size % cfg.downsample or cfg.downsample & (cfg.downsample - 1):
            raise TokenizerError(f"downsample {cfg.downsample} must be a power of 2 dividing image_size {cfg.image_size}")
        w = _widths(cfg)
        enc = [nn.Conv2d(3, w[0], 3, padding=1)]
        for i, (a, b) in enumerate(zip(w, w[1:])):  # no residual block at full resolution: it would cost most
            enc += ([_Res(a)] if i else []) + [nn.Conv2d(a, b, 4, stride=2, padding=1)]
        enc += [_Res(w[-1]), nn.GroupNorm(8, w[-1]), nn.SiLU(), nn.Conv2d(w[-1], len(cfg.levels), 1)]
        self.encoder = nn.Sequential(*enc)
        self.quantizer = FSQ(levels=list(cfg.levels))
        dec = [nn.Conv2d(len(cfg.levels), w[-1], 3, padding=1), _Res(w[-1])]
        for i, (a, b) in enumerate(zip(w[::-1], w[::-1][1:])):
            dec += [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1)] + ([_Res(b)] if i < len(w) - 2 else [])
        dec += [nn.GroupNorm(8, w[0]), nn.SiLU(), nn.Conv2d(w[0], 3, 3, padding=1)]
        self.decoder = nn.Sequential(*dec)

    @property
    def codebook_size(self) -> int:
        return int(np.prod(self.config.levels))

    @property
    def tokens_per_image(self) -> int:
        return self.config.tokens_per_image

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruction (B, 3, S, S) and codes (B, grid*grid)."""
        quantized, codes = self.quantizer(self.encoder(images * 2 - 1))
        return self.decoder(quantized) * 0.5 + 0.5, codes.flatten(1).long()

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.quantizer(self.encoder(images * 2 - 1))[1].flatten(1).long()

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        g = self.config.grid
        codes = torch.as_tensor(codes).long().view(-1, g, g)
        latent = self.quantizer.indices_to_codes(codes)
        return (self.decoder(latent) * 0.5 + 0.5).clamp(0, 1)

    def save(self, folder: Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CONFIG_FILE).write_text(json.dumps(asdict(self.config), indent=1) + "\n")
        torch.save(self.state_dict(), folder / WEIGHTS_FILE)
        return folder

    @classmethod
    def load(cls, folder: Path) -> "ImageTokenizer":
        folder = Path(folder)
        try:
            cfg = TokenizerConfig(**json.loads((folder / CONFIG_FILE).read_text()))
            tok = cls(cfg)
            tok.load_state_dict(torch.load(folder / WEIGHTS_FILE, map_location="cpu", weights_only=True))
        except (OSError, ValueError, TypeError, RuntimeError) as e:
            raise TokenizerError(f"{folder}: not an image tokenizer ({e})") from e
        return tok.eval()


def to_square(image: PILImage.Image, size: int) -> PILImage.Image:
    """``image`` fitted inside a white ``size`` x ``size`` square, aspect kept (transparency on white).

    >>> to_square(PILImage.new("RGBA", (40, 10)), 16).size
    (16, 16)
    """
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        image = PILImage.new("RGB", rgba.size, "white")
        image.paste(rgba, mask=rgba.split()[-1])
    image = image.convert("RGB")
    scale = size / max(image.size)
    w, h = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    canvas = PILImage.new("RGB", (size, size), "white")
    canvas.paste(image.resize((w, h), PILImage.BICUBIC), ((size - w) // 2, (size - h) // 2))
    return canvas


def to_tensor(images: list[PILImage.Image], size: int) -> torch.Tensor:
    """(B, 3, size, size) floats in [0, 1]."""
    arr = np.stack([np.asarray(to_square(im, size), dtype=np.float32) for im in images]) / 255.0
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


def to_pil(images: torch.Tensor) -> list[PILImage.Image]:
    arr = (images.clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)
    return [PILImage.fromarray(a) for a in arr]


def png_bytes(image: PILImage.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
