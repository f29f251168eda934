"""Write an interleaved answer as Markdown, a self-contained HTML page, or JSON.

Text between two placed images is one paragraph; images stand where the inserter put them
(slot ``s`` = after segment ``s``). HTML embeds each image as a data URI, so the page can be
mailed or opened anywhere; an image file that cannot be read shows its caption and says so.

>>> from m2io.types import InterleavedAnswer, Placement
>>> blocks(InterleavedAnswer(["A.", "B.", "C."], [Placement("x", 1)]))
[('text', 'A.'), ('image', 'x'), ('text', 'B. C.')]

Each text block also knows which sources its sentences came from (their provenance), so a page
can say which section of the manual each part of the answer is from:

>>> from m2io.types import Origin
>>> a = InterleavedAnswer(["A.", "B.", "C."], [Placement("x", 1)], ["m/s1", "m/s2"], [],
...                       [Origin("m/s1"), Origin("m/s1"), Origin("m/s2")])
>>> block_sources(a)
[[0], [0, 1]]
"""
from __future__ import annotations

import base64
import html
import json
import mimetypes
from pathlib import Path

from m2io.types import InterleavedAnswer


def blocks(answer: InterleavedAnswer) -> list[tuple[str, str]]:
    """``('text', paragraph)`` and ``('image', image id)`` in reading order."""
    by_slot: dict[int, list[str]] = {}
    for p in answer.placements:
        by_slot.setdefault(p.slot, []).append(p.image_id)
    out, para = [], []
    for slot in range(len(answer.segments) + 1):
        if slot:
            para.append(answer.segments[slot - 1])
        if by_slot.get(slot):
            if para:
                out.append(("text", " ".join(para)))
                para = []
            out += [("image", i) for i in by_slot[slot]]
    if para:
        out.append(("text", " ".join(para)))
    return out


def _block_segments(answer: InterleavedAnswer) -> list[list[int]]:
    """The segment indices of each text block of :func:`blocks`, in order."""
    cut = {p.slot for p in answer.placements}
    out, cur = [], []
    for slot in range(len(answer.segments) + 1):
        if slot:
            cur.append(slot - 1)
        if slot in cut and cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def block_sources(answer: InterleavedAnswer) -> list[list[int]]:
    """For each text block, the indices (into ``answer.sources``) of the sections its segments came from."""
    index = {s: n for n, s in enumerate(answer.sources)}
    prov = answer.provenance
    return [sorted({index[prov[i].section] for i in seg if i < len(prov) and prov[i] is not None
                    and prov[i].section in index}) for seg in _block_segments(answer)]


def _images(result) -> dict:
    return {c.image.id: c for c in result.candidates}


def _labels(answer) -> list[str]:
    return answer.source_labels if len(answer.source_labels) == len(answer.sources) else list(answer.sources)


def to_json(result, inserter: str = "", answerer: str = "") -> dict:
    """Segments, placements (image id, slot, caption, file), sources and per-stage timings."""
    cands = _images(result)
    return {"question": result.question, "image": result.image, "inserter": inserter, "answerer": answerer,
            "segments": result.answer.segments,
            "placements": [{"image_id": p.image_id, "slot": p.slot, "k": cands[p.image_id].k,
                            "caption": cands[p.image_id].image.caption,
                            "file": str(cands[p.image_id].image.path) if cands[p.image_id].image.path else None}
                           for p in result.answer.placements],
            "candidates": [{"k": c.k, "image_id": c.image.id, "caption": c.image.caption,
                            "file": str(c.image.path) if c.image.path else None} for c in result.candidates],
            "sources": result.answer.sources, "source_labels": _labels(result.answer),
            "provenance": [None if o is None else {"source": result.answer.sources.index(o.section)
                                                   if o.section in result.answer.sources else None,
                                                   "section": o.section, "chunk": o.chunk, "position": o.position,
                                                   "score": o.score} for o in result.answer.provenance],
            "fallback": result.insert.fallback,
            "raw_output": result.insert.raw_output, "model_calls": result.model_calls,
            "tokens_generated": result.tokens_generated,
            "timings_ms": {k: round(v * 1000, 1) for k, v in result.timings.items()}}


def _refs(numbers: list[int]) -> str:
    return "".join(f"[{n + 1}]" for n in numbers)


def to_markdown(result) -> str:
    cands = _images(result)
    lines = [f"**{result.question}**", ""]
    refs = iter(block_sources(result.answer))
    for kind, value in blocks(result.answer):
        if kind == "text":
            mark = _refs(next(refs, []))
            lines += [f"{value} {mark}" if mark else value, ""]
        else:
            c = cands[value]
            lines += [f"![{c.image.caption}]({c.image.path})", f"*{c.image.caption}*", ""]
    lines += ["Sources:"] + [f"{n}. {label} ({s})" if label != s else f"{n}. {s}"
                             for n, (s, label) in enumerate(zip(result.answer.sources, _labels(result.answer)), 1)]
    return "\n".join(lines) + "\n"


def _data_uri(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    mime = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


_STYLE = """body{font:16px/1.55 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.3rem}figure{margin:1.2rem 0;text-align:center}img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:.9rem;color:#555}.missing{padding:2rem;border:1px dashed #aaa;color:#777}
.meta{font-size:.85rem;color:#555}table{border-collapse:collapse}td{padding:0 .8rem 0 0}
sup.ref{font-size:.7rem;margin-left:.15rem}sup.ref a{color:#36c;text-decoration:none}"""


def to_html(result, inserter: str = "", answerer: str = "") -> str:
    """A self-contained page: the answer with its images in place, captions, sources and timings."""
    cands = _images(result)
    e = html.escape
    body = [f"<h1>{e(result.question)}</h1>", '<article id="answer">']
    refs = iter(block_sources(result.answer))
    for kind, value in blocks(result.answer):
        if kind == "text":
            marks = "".join(f'<sup class="ref"><a href="#source-{n + 1}" title="{e(_labels(result.answer)[n])}">'
                            f"{n + 1}</a></sup>" for n in next(refs, []))
            body.append(f"<p>{e(value)}{marks}</p>")
            continue
        c = cands[value]
        uri = _data_uri(c.image.path)
        media = (f'<img src="{uri}" alt="{e(c.image.caption)}" data-image-id="{e(c.image.id)}">' if uri else
                 f'<div class="missing">image {e(c.image.id)}: file not readable</div>')
        body.append(f"<figure>{media}<figcaption>{e(c.image.caption)}</figcaption></figure>")
    body.append("</article>")
    used = {o.section for o in result.answer.provenance if o is not None}
    body.append('<h2>Sources</h2><ol class="meta">' + "".join(
        f'<li id="source-{n}">{e(label)}{"" if label == s else f" <small>{e(s)}</small>"}'
        f'{" <em>(in the answer)</em>" if s in used else ""}</li>'
        for n, (s, label) in enumerate(zip(result.answer.sources, _labels(result.answer)), 1)) + "</ol>")
    rows = "".join(f"<tr><td>{e(k)}</td><td>{v * 1000:.0f} ms</td></tr>" for k, v in result.timings.items())
    body.append(f'<p class="meta">inserter {e(inserter)}, answerer {e(answerer)}; {result.model_calls} model '
                f"call(s), {result.tokens_generated} tokens generated"
                f"{'; the inserter fell back to rule' if result.insert.fallback else ''}</p>"
                f'<table class="meta">{rows}</table>')
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(result.question)}</title>'
            f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n")


def render(result, fmt: str, inserter: str = "", answerer: str = "") -> str:
    if fmt == "md":
        return to_markdown(result)
    if fmt == "html":
        return to_html(result, inserter, answerer)
    if fmt == "json":
        return json.dumps(to_json(result, inserter, answerer), indent=1) + "\n"
    raise ValueError(f"unknown format {fmt!r} (md, html or json)")
