"""Read a PDF page's text layer into lines with their box, font size and style.

PDFium (through pypdfium2) gives the characters in content order, with the line breaks it infers
("\\r\\n"). A line is cut there and also where the next character jumps far to the right or to
another baseline, so that two columns written side by side never merge into one line. Boxes are
in points with y measured from the top of the page, as a reader sees it.

Hand-written because pypdfium2 exposes characters, not lines with styles; the rules are the few
that PDF layout needs (pdfminer's LAParams play the same role, in pure Python).

>>> import tempfile, pathlib, pypdfium2
>>> from fpdf import FPDF
>>> pdf = FPDF(); pdf.add_page(); pdf.set_font("helvetica", "B", 16); _ = pdf.cell(0, 10, "Layers")
>>> pdf.ln(12); pdf.set_font("helvetica", size=10); _ = pdf.cell(0, 5, "A layer holds pixels.")
>>> path = pathlib.Path(tempfile.mkdtemp()) / "t.pdf"; pdf.output(str(path))
>>> lines = read_lines(pypdfium2.PdfDocument(path)[0], page_no=0)
>>> [(l.text, l.bold) for l in lines], lines[0].size > 1.5 * lines[1].size
([('Layers', True), ('A layer holds pixels.', False)], True)
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

import pypdfium2.raw as pdfium_c

SOFT_HYPHENS = "\u00ad\ufffe\x02"
"""Characters PDFium writes for a hyphen that breaks a word at the end of a line."""
_FONT_BOLD = 1 << 18  # PDF font descriptor flag ForceBold
_FONT_ITALIC = 1 << 6


@dataclass
class Line:
    """One line of text on one page; ``x0, top, x1, bottom`` in points from the page's top left."""

    text: str
    page: int
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    bold: bool = False
    italic: bool = False

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def mid_y(self) -> float:
        return (self.top + self.bottom) / 2


def _font_style(textpage, index: int, buf: ctypes.Array) -> tuple[bool, bool]:
    flags = ctypes.c_int()
    pdfium_c.FPDFText_GetFontInfo(textpage, index, buf, len(buf), ctypes.byref(flags))
    name = buf.value.decode("latin-1", "replace").lower()
    bold = "bold" in name or "black" in name or "heavy" in name or "semibold" in name \
        or bool(flags.value & _FONT_BOLD) or pdfium_c.FPDFText_GetFontWeight(textpage, index) >= 600
    italic = "italic" in name or "oblique" in name or bool(flags.value & _FONT_ITALIC)
    return bold, italic


def read_lines(page, page_no: int) -> list[Line]:
    """The text lines of a pypdfium2 ``PdfPage``, in content order."""
    height = page.get_size()[1]
    textpage = page.get_textpage()
    try:
        n = textpage.count_chars()
        text = textpage.get_text_range(0, n) if n else ""
        if len(text) != n:  # surrogate pairs: fall back to one character per index
            text = "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage, i) or 32) for i in range(n))
        rect = pdfium_c.FS_RECTF()
        font_buf = ctypes.create_string_buffer(96)
        lines: list[Line] = []
        chars: list[str] = []
        box: list[float] = []
        first = -1
        last_x1 = last_mid = size = 0.0

        def close() -> None:
            content = "".join(chars).strip()
            if content and box:
                bold, italic = _font_style(textpage, first, font_buf)
                lines.append(Line(" ".join(content.split()), page_no, box[0], height - box[3], box[2],
                                  height - box[1], size, bold, italic))
            chars.clear()
            box.clear()

        for i, ch in enumerate(text):
            if ch in "\r\n":
                close()
                continue
            if ch == " " or pdfium_c.FPDFText_IsGenerated(textpage, i) == 1:
                if chars:
                    chars.append(" " if ch not in SOFT_HYPHENS else ch)
                continue
            pdfium_c.FPDFText_GetLooseCharBox(textpage, i, rect)
            l, b, r, t = rect.left, rect.bottom, rect.right, rect.top
            if r - l <= 0 and t - b <= 0:
                continue
            mid = (b + t) / 2
            if box:
                jump = l - last_x1
                # Another baseline, a jump back, or a gap wider than a column gutter: a new line.
                if abs(mid - last_mid) > 0.6 * max(size, 1.0) or jump < -2 * max(size, 1.0) or jump > 2.5 * max(size, 1.0):
                    close()
                elif jump > 0.15 * max(size, 1.0) and chars and chars[-1] != " ":
                    chars.append(" ")
            if not box:
                box[:] = [l, b, r, t]
                first = i
                # The loose box's height, not the font size: generators that scale text through the
                # text matrix (Chromium, Skia) report a size of 1 for every font.
                size = (t - b) / 1.15 if t > b else pdfium_c.FPDFText_GetFontSize(textpage, i)
            else:
                box[0], box[1], box[2], box[3] = min(box[0], l), min(box[1], b), max(box[2], r), max(box[3], t)
            chars.append(ch)
            last_x1, last_mid = r, mid
        close()
        return lines
    finally:
        textpage.close()
