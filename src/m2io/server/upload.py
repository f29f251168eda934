"""Check a query image before anything decodes it: size in bytes, pixels by its header, then a full decode.

A 0.9 MB PNG can declare 30,000 x 30,000 pixels (a decompression bomb); PIL reads the size from the
header without decoding, so the pixel cap is checked first and the image is decoded only when under it.

>>> import io
>>> from PIL import Image
>>> buf = io.BytesIO(); Image.new("RGB", (64, 48)).save(buf, "PNG")
>>> check_image(buf.getvalue(), UploadLimits())
'png'
>>> try:
...     check_image(buf.getvalue(), UploadLimits(max_pixels=1000))
... except UploadRejected as e:
...     e.status, str(e)
(413, 'image of 64 x 48 = 3072 pixels is over the cap of 1000 pixels')
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int = 5 * 1024 * 1024
    max_pixels: int = 40_000_000
    """Width x height above this is refused (413) before decoding."""


class UploadRejected(ValueError):
    """An upload the server will not take; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def check_image(data: bytes, limits: UploadLimits) -> str:
    """The image's format (``png``, ``jpeg`` ...), or :class:`UploadRejected` (413 too big, 415 not an image)."""
    if len(data) > limits.max_bytes:
        raise UploadRejected(413, f"image over {limits.max_bytes} bytes")
    if not data:
        raise UploadRejected(415, "the upload is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
                fmt = (im.format or "png").lower()
                if w * h > limits.max_pixels:
                    raise UploadRejected(413, f"image of {w} x {h} = {w * h} pixels is over the cap of "
                                              f"{limits.max_pixels} pixels")
                if w < 1 or h < 1:
                    raise UploadRejected(415, f"image of {w} x {h} pixels has no pixels")
                im.load()  # a full decode: truncated or corrupt data fails here, not inside a model
    except UploadRejected:
        raise
    except Image.DecompressionBombError as e:
        raise UploadRejected(413, f"image over PIL's decompression-bomb limit ({e})") from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as e:
        raise UploadRejected(415, f"the upload is not an image PIL can decode ({e.__class__.__name__}: {e})") from e
    return fmt
