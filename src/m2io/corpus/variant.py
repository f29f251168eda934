"""Dataset variants for harder evaluation: documents without the heading line they open with.

Manual corpora built here open every document with its heading path ("Toolbox > Align"), and their
questions are made from the same heading, so retrieval gets the answer's title for free. People's
questions and other corpora do not; ``strip_headings`` removes that line (and the sources sidecar,
which holds the same words) so that retrieval has to match the question to the section's content.

>>> from m2io.types import Document, DocSource
>>> ds = Dataset("demo", [Document("p#a", "Tools > Align\\nThe Align tool lines up layers. <PIC>", ["i"])],
...              sources={"p#a": DocSource("Demo", "Align", ["Tools", "Align"])})
>>> out, n = strip_headings(ds)
>>> out.documents[0].content, n, out.sources
('The Align tool lines up layers. <PIC>', 1, {})
"""
from __future__ import annotations

from dataclasses import replace

from m2io.corpus.mramg import Dataset
from m2io.types import PIC, Document

MAX_HEADING_WORDS = 20


def _heading_line(doc: Document, ds: Dataset) -> bool:
    first, _, rest = doc.content.partition("\n")
    if not rest or PIC in first:
        return False
    source = ds.sources.get(doc.id)
    if source is not None and source.heading_path:
        return first.strip() == " > ".join(source.heading_path).strip()
    return len(first.split()) <= MAX_HEADING_WORDS and not first.rstrip().endswith((".", ":", "!", "?"))


def strip_headings(ds: Dataset) -> tuple[Dataset, int]:
    """A copy of ``ds`` whose documents lose their opening heading line; also how many did."""
    docs, n = [], 0
    for doc in ds.documents:
        if _heading_line(doc, ds):
            docs.append(replace(doc, content=doc.content.partition("\n")[2]))
            n += 1
        else:
            docs.append(doc)
    return Dataset(ds.name, docs, list(ds.qa), dict(ds.images), ds.id_style, sources={}), n
