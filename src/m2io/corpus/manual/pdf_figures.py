"""Find a PDF page's figures (embedded images and vector drawings), save them, and read their captions.

- **Raster figures**: image objects shown at least ``min_side`` points on their longer side (smaller ones
  are icons) and not covering the whole page (a scanned page or a background). The image is saved as
  the PDF holds it: JPEG bytes as they are (a soft mask on a JPEG, rare in manuals, is not applied),
  anything else rendered to PNG; a picture with shapes drawn over it is saved as a rendered crop.
- **Vector drawings**: path objects clustered by nearness. A cluster is a figure when it is large
  enough and either has a "Figure N" caption next to it or looks drawn (curves, slanted lines, many
  shapes) without being a frame around text (tables, code listings, notes). It is saved as a rendered
  crop of its region, labels included.
- **Captions** (:mod:`~m2io.corpus.manual.pdf_captions`): caption lines and the labels inside a figure
  are left out of the page's text.
- **Logos**: the same picture (by content) in the same place on many pages, uncaptioned, is left out
  by the document reader.

Hand-written because PDF libraries give objects and boxes, not figures: which shapes make one
drawing and which line is its caption are layout conventions, not PDF structure.

>>> import tempfile, pathlib, pypdfium2
>>> from fpdf import FPDF
>>> from PIL import Image as PILImage
>>> from m2io.corpus.manual.pdf_lines import read_lines
>>> d = pathlib.Path(tempfile.mkdtemp()); PILImage.new("RGB", (300, 200), "teal").save(d / "shot.png")
>>> pdf = FPDF(); pdf.add_page(); pdf.set_font("helvetica", size=10)
>>> _ = pdf.cell(0, 5, "The dialog opens:"); _ = pdf.image(str(d / "shot.png"), x=20, y=30, w=100)
>>> pdf.set_xy(20, 100); _ = pdf.cell(0, 5, "Figure 2.1: The Layers dialog")
>>> pdf.output(str(d / "t.pdf")); page = pypdfium2.PdfDocument(d / "t.pdf")[0]
>>> figures, used = find_figures(page, 0, read_lines(page, 0), d / "figs")
>>> [(f.kind, f.caption, f.path.name) for f in figures], sorted(used)
([('raster', 'Figure 2.1: The Layers dialog', 'p0001-1.png')], [1])
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from m2io.corpus.manual.pdf_captions import FIGURE_START, find_caption
from m2io.corpus.manual.pdf_lines import Line

RENDER_SCALE = 2.0  # 144 dpi for rendered crops
FIGURES_VERSION = 3
"""Bumped whenever which regions become figures changes: saved figures are reused only within one version."""


@dataclass(frozen=True)
class FigureRules:
    """Sizes in points (1/72 inch) that tell a figure from an icon, a rule or a frame."""

    min_side: float = 40.0
    """An image or drawing whose longer side is shorter than this is an icon."""
    min_drawing_height: float = 24.0
    """A drawing flatter than this is a rule or an underline."""
    max_text_cover: float = 0.35
    """A drawing whose region is more than this share text is a frame around text (a table, a listing)."""
    min_shapes: int = 6
    """A drawing of straight, upright lines needs this many shapes (or a caption) to count."""


@dataclass
class Figure:
    """A figure on a page: its region (points from the top left), the saved image and its caption."""

    page: int
    x0: float
    top: float
    x1: float
    bottom: float
    path: Path
    kind: str
    """``raster`` (an embedded image) or ``drawing`` (a rendered region of vector graphics)."""
    caption: str = ""
    caption_source: str = ""
    key: tuple = ()
    """Position, pixel size and content, to spot the same logo repeated on every page."""
    at_page_edge: bool = False
    """First or last on its page in reading order: where typesetters float figures to."""


@dataclass
class _Cluster:
    box: list[float]
    images: list = field(default_factory=list)
    paths: list = field(default_factory=list)


def _overlaps(a: list[float], b: list[float], gap: float) -> bool:
    return a[0] - gap <= b[2] and b[0] - gap <= a[2] and a[1] - gap <= b[3] and b[1] - gap <= a[3]


class _Obj:
    """A page object's handle and type, wrapped in pypdfium2's helper only when it is an image."""

    __slots__ = ("raw", "type", "page")

    def __init__(self, raw, kind: int, page):
        self.raw, self.type, self.page = raw, kind, page

    def image(self) -> pdfium.PdfImage:
        return pdfium.PdfObject(self.raw, page=self.page, pdf=self.page.pdf)


def _walk(page, height: float, form=None, matrix=None):
    """(object, box from the top left) for every image, path and shading, through form XObjects.

    Raw PDFium calls: a page of a browser-printed PDF holds thousands of text objects, and wrapping
    each in a Python helper costs more than reading the page's text.
    """
    count = pdfium_c.FPDFFormObj_CountObjects(form) if form is not None else pdfium_c.FPDFPage_CountObjects(page.raw)
    l, b, r, t = ctypes.c_float(), ctypes.c_float(), ctypes.c_float(), ctypes.c_float()
    for i in range(max(count, 0)):
        raw = pdfium_c.FPDFFormObj_GetObject(form, i) if form is not None else pdfium_c.FPDFPage_GetObject(page.raw, i)
        if not raw:
            continue
        kind = pdfium_c.FPDFPageObj_GetType(raw)
        if kind == pdfium_c.FPDF_PAGEOBJ_FORM:
            fs = pdfium_c.FS_MATRIX()
            if pdfium_c.FPDFPageObj_GetMatrix(raw, fs):
                own = pdfium.PdfMatrix.from_raw(fs)
                yield from _walk(page, height, raw, own if matrix is None else own.multiply(matrix))
            continue
        if kind not in (pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_SHADING):
            continue
        if not pdfium_c.FPDFPageObj_GetBounds(raw, l, b, r, t):
            continue
        box = (l.value, b.value, r.value, t.value)
        if matrix is not None:
            box = matrix.on_rect(*box)
        yield _Obj(raw, kind, page), [box[0], height - box[3], box[2], height - box[1]]


def _drawn(path_obj, budget: int = 24) -> bool:
    """True if a path has a curve or a slanted line (drawing), not only upright lines (rules, frames)."""
    n = pdfium_c.FPDFPath_CountSegments(path_obj.raw)
    x, y = pdfium_c.FS_FLOAT(), pdfium_c.FS_FLOAT()
    prev = None
    for i in range(min(n, budget)):
        seg = pdfium_c.FPDFPath_GetPathSegment(path_obj.raw, i)
        kind = pdfium_c.FPDFPathSegment_GetType(seg)
        if kind == pdfium_c.FPDF_SEGMENT_BEZIERTO:
            return True
        pdfium_c.FPDFPathSegment_GetPoint(seg, x, y)
        point = (x.value, y.value)
        if kind == pdfium_c.FPDF_SEGMENT_LINETO and prev is not None:
            dx, dy = abs(point[0] - prev[0]), abs(point[1] - prev[1])
            if dx > 1 and dy > 1:
                return True
        prev = point
    return False


def _near(a: _Cluster, box: list[float], image_only: bool, gap: float) -> bool:
    # Pictures side by side are figures of their own (two phone screenshots in a row); only tiles that
    # touch make one picture. Shapes join pictures and shapes within ``gap`` (labels, arrows, frames).
    if image_only and a.images and not a.paths:
        return _overlaps(a.box, box, 0.5)
    return _overlaps(a.box, box, gap)


def _merge(target: _Cluster, other: _Cluster) -> None:
    target.box = [min(target.box[0], other.box[0]), min(target.box[1], other.box[1]),
                  max(target.box[2], other.box[2]), max(target.box[3], other.box[3])]
    target.images += other.images
    target.paths += other.paths


def _clusters(items: list[tuple[object, list[float], bool]], gap: float = 3.0) -> list[_Cluster]:
    clusters: list[_Cluster] = []
    for obj, box, is_image in items:
        target = _Cluster(list(box))
        (target.images if is_image else target.paths).append((obj, box))
        for c in [c for c in clusters if _near(c, box, is_image, gap)]:
            clusters.remove(c)
            _merge(target, c)
        clusters.append(target)
    changed = True
    while changed:  # a grown box may now reach a cluster it did not reach before
        changed = False
        for i, a in enumerate(clusters):
            for b in clusters[i + 1:]:
                if _near(a, b.box, bool(b.images) and not b.paths, gap):
                    _merge(a, b)
                    clusters.remove(b)
                    changed = True
                    break
            if changed:
                break
    return clusters


def _inside(line: Line, box: list[float]) -> bool:
    cx, cy = (line.x0 + line.x1) / 2, line.mid_y
    return box[0] - 1 <= cx <= box[2] + 1 and box[1] - 1 <= cy <= box[3] + 1


def _with_labels(box: list[float], lines: list[Line], used: set[int], gap: float = 3.0) -> list[float]:
    """A drawing's region grown to take in the short labels at its edges (text set beside the shapes)."""
    box = list(box)
    for _ in range(3):
        grown = False
        for i, ln in enumerate(lines):
            if i in used or len(ln.text.split()) > 4 or FIGURE_START.match(ln.text) or _inside(ln, box):
                continue
            if _overlaps(box, [ln.x0, ln.top, ln.x1, ln.bottom], gap):
                box = [min(box[0], ln.x0), min(box[1], ln.top), max(box[2], ln.x1), max(box[3], ln.bottom)]
                grown = True
        if not grown:
            break
    return box


def _digest(path: Path) -> str:
    """What the saved picture is, so that one logo repeated is told from screenshots of one size."""
    with path.open("rb") as f:
        return hashlib.md5(f.read(1 << 16)).hexdigest()


def _save_image(item: _Obj, dest: Path) -> Path | None:
    """Write an image object as the PDF holds it: JPEG bytes as they are, anything else rendered to PNG."""
    try:
        obj = item.image()
        if obj.get_filters(skip_simple=True) == ["DCTDecode"]:
            target = dest.with_suffix(".jpg")
            if not target.exists():
                tmp = dest.with_name(dest.name + ".part")
                obj.extract(tmp)  # writes tmp.jpg
                os.replace(tmp.with_name(tmp.name + ".jpg"), target)
            return target
        target = dest.with_suffix(".png")
        if not target.exists():
            image = obj.get_bitmap(render=True).to_pil()
            tmp = target.with_name(target.name + ".part")
            image.save(tmp, format="PNG", compress_level=1)
            os.replace(tmp, target)
        return target
    except (pdfium.PdfiumError, OSError, ValueError):
        return None


def _save_crop(page, box: list[float], dest: Path) -> Path:
    target = dest.with_suffix(".png")
    if not target.exists():
        width, height = page.get_size()
        crop = (max(box[0], 0), max(height - box[3], 0), max(width - box[2], 0), max(box[1], 0))
        image = page.render(scale=RENDER_SCALE, crop=crop, may_draw_forms=True).to_pil()
        tmp = target.with_name(target.name + ".part")
        image.save(tmp, format="PNG", compress_level=1)
        os.replace(tmp, target)
    return target


def find_figures(page, page_no: int, lines: list[Line], out_dir: Path, rules: FigureRules = FigureRules(),
                 body_size: float = 0.0) -> tuple[list[Figure], set[int]]:
    """The figures of a pypdfium2 page (saved under ``out_dir``) and the indexes of ``lines`` they use."""
    out_dir.mkdir(parents=True, exist_ok=True)
    width, height = page.get_size()
    page_area = width * height
    body_size = body_size or (sorted(ln.size for ln in lines)[len(lines) // 2] if lines else 10.0)
    items = []
    for obj, box in _walk(page, height):
        w, h = box[2] - box[0], box[3] - box[1]
        if w * h >= 0.6 * page_area and obj.type != pdfium_c.FPDF_PAGEOBJ_IMAGE:
            continue  # a page background or frame
        if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE and w * h >= 0.9 * page_area:
            continue  # a scanned page or a full-page background, not a figure
        items.append((obj, box, obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE))
    figures: list[Figure] = []
    used: set[int] = set()
    for cluster in sorted(_clusters(items), key=lambda c: (c.box[1], c.box[0])):
        box = cluster.box
        w, h = box[2] - box[0], box[3] - box[1]
        if max(w, h) < rules.min_side or h < rules.min_drawing_height and not cluster.images:
            continue
        if cluster.images:
            big = [(o, b) for o, b in cluster.images if max(b[2] - b[0], b[3] - b[1]) >= rules.min_side]
            if not big:
                continue
        if not cluster.images:
            box = _with_labels(box, lines, used)
            w, h = box[2] - box[0], box[3] - box[1]
        inside = [i for i, ln in enumerate(lines) if i not in used and _inside(ln, box)]
        text_cover = sum(lines[i].width * lines[i].height for i in inside) / max(w * h, 1.0)
        caption, source, caption_lines = find_caption(box, lines, used | set(inside), body_size)
        if not cluster.images:
            drawn = any(_drawn(o) for o, _ in cluster.paths[:200])
            # Upright lines and boxes around lines of text are a table, a listing or a note.
            frame = not drawn and (text_cover > rules.max_text_cover or len(inside) >= 2)
            if not (source == "caption_line" and not text_cover > 0.8) and \
                    (frame or not (drawn or len(cluster.paths) >= rules.min_shapes)):
                continue
        n = len(figures) + 1
        dest = out_dir / f"p{page_no + 1:04d}-{n}"
        single = cluster.images[0] if len(cluster.images) == 1 and not inside else None
        saved = None
        if single is not None and (single[1][2] - single[1][0]) * (single[1][3] - single[1][1]) >= 0.9 * w * h:
            saved = _save_image(single[0], dest)
        path = saved or _save_crop(page, box, dest)
        try:
            px = cluster.images[0][0].image().get_px_size() if cluster.images else (0, 0)
        except pdfium.PdfiumError:
            px = (0, 0)
        key = (round(box[0]), round(box[1]), round(w), round(h), *px, _digest(path))
        figures.append(Figure(page_no, box[0], box[1], box[2], box[3], path,
                              "raster" if cluster.images else "drawing", caption, source, key))
        used.update(inside)
        used.update(caption_lines)
    return figures, used
