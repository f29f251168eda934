"""The pictures the image tokenizer and the unified model learn from: corpus figures and clip-art.

Corpus figures come from MRAMG folders (their captions from the image collection); a figure is
held out when its document is on the dev side of :func:`m2io.corpus.split.split_of_doc`, so a
manual's dev sections stay unseen. Clip-art comes from two Debian packages with titled images:
``openclipart-png`` (title from the file name, minus author and number) and
``tuxpaint-stamps-default`` (English description in the stamp's ``.txt``); 1 in 20 is held out by a
hash of its path. Pixels are read once into a uint8 array cached beside the run.

>>> openclipart_title(Path("png/science/chemistry_flask_matthew__02.png"))
'chemistry flask'
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CLIPART_PACKAGES = ("openclipart-png", "tuxpaint-stamps-default")


@dataclass(frozen=True)
class Picture:
    path: Path
    caption: str
    source: str
    """Where it comes from: a corpus name, ``openclipart`` or ``tuxpaint-stamps``."""
    split: str
    """``train`` or ``heldout``."""


def _hash_split(key: str, heldout: float = 0.05) -> str:
    from m2io.corpus.split import split_of_doc

    return "heldout" if split_of_doc(key, dev_fraction=heldout) == "dev" else "train"


def openclipart_title(path: Path) -> str:
    words = [w for w in Path(path).stem.split("_") if w and not w.isdigit()]
    return " ".join(words[:-1] if len(words) > 1 else words)


def tuxpaint_caption(png: Path) -> str:
    txt = png.with_suffix(".txt")
    if txt.is_file():
        for line in txt.read_text(errors="replace").splitlines():
            if line.strip() and "=" not in line.split(" ")[0]:
                return line.strip()
    return png.stem.replace("_", " ").replace("-", " ")


def clipart_pictures(cache: Path) -> list[Picture]:
    """Every titled PNG of the clip-art packages (fetched with ``apt-get download`` once, never installed)."""
    from m2io.corpus.manual.debian import fetch_package

    pictures = []
    for package in CLIPART_PACKAGES:
        root = fetch_package(package, cache)
        for png in sorted(root.rglob("*.png")):
            rel = str(png.relative_to(root))
            if package == "openclipart-png":
                pictures.append(Picture(png, openclipart_title(png), "openclipart", _hash_split(rel)))
            else:
                pictures.append(Picture(png, tuxpaint_caption(png), "tuxpaint-stamps", _hash_split(rel)))
    return pictures


def corpus_pictures(root: Path, all_heldout: bool = False) -> list[Picture]:
    """The figures of an MRAMG folder; held out if their document is on the dev side (or ``all_heldout``)."""
    from m2io.corpus.mramg import read_dataset
    from m2io.corpus.split import split_of_doc

    ds = read_dataset(Path(root))
    pictures, seen = [], set()
    for doc in ds.documents:
        split = "heldout" if all_heldout or split_of_doc(doc.id) == "dev" else "train"
        for image_id in doc.image_ids:
            image = ds.images.get(image_id)
            if image is None or image.path is None or image_id in seen:
                continue
            seen.add(image_id)
            pictures.append(Picture(image.path, image.caption, ds.name, split))
    return pictures


def _read(args: tuple[str, int]) -> np.ndarray | None:
    from m2io.encoders.image import load_image
    from m2io.unified.tokenizer import to_square

    path, size = args
    try:
        return np.asarray(to_square(load_image(path), size), dtype=np.uint8)
    except Exception:  # noqa: BLE001 - an unreadable picture is left out and counted
        return None


def load_pixels(pictures: list[Picture], size: int, cache_file: Path | None = None,
                workers: int = 2) -> tuple[np.ndarray, list[Picture]]:
    """(N, size, size, 3) uint8 pixels of the pictures that decode, and those pictures (same order).

    With ``cache_file`` the array is kept in an ``.npz`` keyed by the pictures' paths and the size."""
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    key = hashlib.sha256(("|".join(str(p.path) for p in pictures) + f"|{size}").encode()).hexdigest()[:16]
    if cache_file is not None and Path(cache_file).is_file():
        cached = np.load(cache_file)
        if str(cached["key"]) == key:
            ok = cached["ok"]
            return cached["pixels"], [p for p, good in zip(pictures, ok) if good]
    with ProcessPoolExecutor(workers) as pool:
        arrays = list(tqdm(pool.map(_read, [(str(p.path), size) for p in pictures], chunksize=32),
                           total=len(pictures), desc="pictures", unit="img"))
    ok = np.array([a is not None for a in arrays])
    pixels = np.stack([a for a in arrays if a is not None]) if ok.any() else np.zeros((0, size, size, 3), np.uint8)
    if cache_file is not None:
        Path(cache_file).parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache_file, key=key, ok=ok, pixels=pixels)
    return pixels, [p for p, good in zip(pictures, ok) if good]
