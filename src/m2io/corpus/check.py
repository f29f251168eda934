"""Validate an MRAMG dataset folder and count what it holds (``m2io corpus check DIR``).

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "doc_x.jsonl").write_text('["1", "text <PIC>", []]\\n')
>>> report = check_folder(d)
>>> report.ok, report.errors[0][0]
(False, 'pic_mismatch')
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from m2io.corpus.mramg import Dataset, dataset_names, read_dataset
from m2io.corpus.problems import Problems
from m2io.encoders.image import ImageError, load_image
from m2io.errors import DatasetError

MIN_SIDE = 8
"""Images with a side shorter than this are kept but warned about."""


@dataclass
class DatasetStats:
    name: str
    documents: int
    images: int
    images_in_documents: int
    qa: int
    multi_image_qa: int
    images_with_caption: int
    mean_images_per_qa: float


@dataclass
class CheckReport:
    stats: list[DatasetStats] = field(default_factory=list)
    errors: list[tuple[str, DatasetError]] = field(default_factory=list)
    warnings: list[tuple[str, DatasetError]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for kind, _ in self.errors:
            counts[kind] = counts.get(kind, 0) + 1
        return counts


def dataset_stats(ds: Dataset) -> DatasetStats:
    in_docs = {i for d in ds.documents for i in d.image_ids}
    n_qa_images = sum(len(set(q.image_ids)) for q in ds.qa)
    return DatasetStats(
        name=ds.name, documents=len(ds.documents), images=len(ds.images), images_in_documents=len(in_docs),
        qa=len(ds.qa), multi_image_qa=sum(q.is_multi_image for q in ds.qa),
        images_with_caption=sum(bool(im.caption.strip()) for im in ds.images.values()),
        mean_images_per_qa=n_qa_images / len(ds.qa) if ds.qa else 0.0)


def verify_images(ds: Dataset, problems: Problems, progress: bool = False) -> None:
    """Decode every image file on disk (bombs refused by their header) and record the ones that fail.

    A full decode, not PIL's ``verify``: truncated PNG and JPEG files pass ``verify``.
    """
    for image in tqdm(list(ds.images.values()), desc=f"verify {ds.name} images", unit="img",
                      disable=not progress):
        if image.path is None:
            continue  # already reported as missing
        try:
            size = load_image(image.path).size
        except ImageError as e:
            problems.error("unreadable_image", DatasetError(f"unreadable image ({e})", image.path, field=image.id))
            continue
        if min(size) < MIN_SIDE:
            problems.warn("tiny_image", DatasetError(f"only {size[0]} x {size[1]} pixels", image.path, field=image.id))


def check_folder(root: Path, progress: bool = False) -> CheckReport:
    """Check every dataset in ``root``; never raises for problems inside the files."""
    report = CheckReport()
    try:
        names = dataset_names(root)
    except DatasetError as e:
        report.errors.append(("not_a_dataset", e))
        return report
    if not names:
        report.errors.append(("empty", DatasetError(
            "no doc_<name>.jsonl here: not an MRAMG dataset, or an empty folder", root)))
    for name in names:
        problems = Problems(strict=False)
        ds = read_dataset(root, name, problems)
        verify_images(ds, problems, progress=progress)
        report.stats.append(dataset_stats(ds))
        report.errors += problems.errors
        report.warnings += problems.warnings
    return report
