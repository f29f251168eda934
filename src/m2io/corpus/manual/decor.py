"""Tell content figures from decorative images by what the image file and its alt text are.

Structure already removed navigation bars and inline icons (:mod:`m2io.corpus.manual.page`);
what is left here are images that stand alone but carry no content: admonition icons
(``[Note]``, ``[Tip]``), navigation arrows, and tiny images (toolbar buttons, bullets).

>>> decor_reason(alt="[Tip]", size=(48, 48))
'admonition_icon'
>>> decor_reason(alt=r"\\begin{displaymath} x^2 \\end{displaymath}", size=(200, 40))
'math'
>>> decor_reason(alt="The Layers dialog", size=(24, 24))
'tiny'
>>> decor_reason(alt="The Layers dialog", size=(640, 480)) is None
True
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image as PILImage

_ICON_WORDS = r"note|tip|warning|caution|important|danger|attention|info|information|hint|error|todo"
_NAV_WORDS = r"prev|previous|next|up|home|top|back|forward|toc|contents|index"
_ADMONITION = re.compile(rf"^\W*(?:{_ICON_WORDS})\W*$", re.IGNORECASE)
_NAV = re.compile(rf"^\W*(?:{_NAV_WORDS})\W*$", re.IGNORECASE)
# LaTeX2HTML renders formulas as images whose alt is the LaTeX source: typeset math, not a figure.
_MATH = re.compile(r"^\s*(?:\$|\\\[|\\\(|\\begin\{(?:displaymath|equation|eqnarray|align|math)\*?\})")
RASTER_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"}


@dataclass(frozen=True)
class DecorRules:
    """Thresholds for decorative images."""

    min_side: int = 40
    """An image whose longer side is below this many pixels is an icon."""
    min_area: int = 40 * 40
    """An image with fewer pixels than this is an icon (thin rules, bullets)."""


def decor_reason(alt: str, size: tuple[int, int], file_stem: str = "", rules: DecorRules = DecorRules()) -> str | None:
    """Why an image is decorative (a short reason), or None if it is content."""
    if _ADMONITION.match(alt) or _ADMONITION.match(file_stem):
        return "admonition_icon"
    if _NAV.match(alt) or _NAV.match(file_stem):
        return "navigation_icon"
    if _MATH.match(alt):
        return "math"
    w, h = size
    if max(w, h) < rules.min_side or w * h < rules.min_area:
        return "tiny"
    return None


def icon_by_name(alt: str, file_stem: str = "") -> bool:
    """True if the alt text or file name says admonition or navigation icon ("[Note]", "prev")."""
    return any(p.match(t) for p in (_ADMONITION, _NAV) for t in (alt, file_stem) if t)


def image_size(path: Path) -> tuple[int, int] | None:
    """Pixel size of a raster image file, or None if it is missing or not a readable raster."""
    if Path(path).suffix.lower() not in RASTER_SUFFIXES:
        return None
    try:
        with PILImage.open(path) as im:
            return im.size
    except (OSError, ValueError, PILImage.DecompressionBombError):
        return None
