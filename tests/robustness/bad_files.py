"""Bad files made on purpose: PNG headers that lie, truncated images, bombs, SVG, text posing as images.

Shared by the corpus and server robustness tests (imported as a plain module).
"""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image as PILImage


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header declares ``width`` x ``height`` (a decompression bomb when large)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024, 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def real_image(fmt: str = "PNG", size: tuple[int, int] = (64, 48)) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    PILImage.fromarray(pixels).save(buf, fmt)
    return buf.getvalue()


def truncated(fmt: str) -> bytes:
    data = real_image(fmt, (96, 96))
    return data[: len(data) // 2]


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>'
TEXT = b"this is a text file, not a picture\n"

BAD_IMAGES = {
    "text": TEXT,
    "empty": b"",
    "svg": SVG,
    "truncated_png": truncated("PNG"),
    "truncated_jpeg": truncated("JPEG"),
    "bomb_30000px": png_declaring(30_000, 30_000),
    "zero_by_zero": png_declaring(0, 0),
    "random_bytes": bytes(range(256)) * 4,
}
