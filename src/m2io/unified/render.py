"""A unified answer as Markdown, HTML or JSON: text steps, referenced corpus figures, drawn images
(PNG data URIs) and, where one matched, the corpus figure shown beside it; then the sources.

>>> from m2io.unified.answer import AnswerStep, UnifiedAnswer
>>> a = UnifiedAnswer("Q?", [AnswerStep("text", text="Open it.")], ["no end token"], False, 3, {"total": 0.5}, 0.8)
>>> print(to_markdown(a))
# Q?
<BLANKLINE>
Open it.
<BLANKLINE>
> The generation was damaged: no end token
<BLANKLINE>
"""
from __future__ import annotations

import base64
import html
import json

from m2io.render import _STYLE, _data_uri
from m2io.unified.answer import UnifiedAnswer


def png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _figure_note(step) -> str:
    f = step.figure
    if f is None:
        return "generated"
    if f.shown:
        return f"corpus figure {f.image_id} ({f.caption}), similarity {f.similarity:.2f}; generated image beside it"
    return f"generated; nearest corpus figure {f.image_id} ({f.caption}) at similarity {f.similarity:.2f}"


def _sources(answer: UnifiedAnswer) -> list[str]:
    a = answer.interleaved
    return list(getattr(a, "source_labels", None) or getattr(a, "sources", None) or [])


def to_markdown(answer: UnifiedAnswer) -> str:
    lines = [f"# {answer.question}", ""]
    for k, step in enumerate(answer.steps):
        if step.kind == "text":
            lines += [step.text, ""]
            continue
        if step.kind == "reference":
            f = step.figure
            lines += [f"![{f.caption or f.image_id}]({f.path})", f"*figure {step.ref}: {f.caption or f.image_id}*", ""]
            continue
        if not step.png:
            lines += [f"*[image {k}: {len(step.codes)} codes, not decodable]*", ""]
            continue
        if step.figure is not None and step.figure.shown:
            lines.append(f"![{step.figure.caption}]({step.figure.path})")
        lines += [f"![generated image {k}]({png_uri(step.png)})", f"*{_figure_note(step)}*", ""]
    if answer.damage:
        lines += ["> The generation was damaged: " + "; ".join(answer.damage), ""]
    if _sources(answer):
        lines += ["Sources:", *[f"- {s}" for s in _sources(answer)], ""]
    return "\n".join(lines)


def to_json(answer: UnifiedAnswer) -> dict:
    steps = []
    for step in answer.steps:
        if step.kind == "text":
            steps.append({"kind": "text", "text": step.text})
            continue
        if step.kind == "reference":
            f = step.figure
            steps.append({"kind": "reference", "ref": step.ref,
                          "figure": {"image_id": f.image_id, "dataset": f.dataset, "caption": f.caption, "file": f.path,
                                     "similarity": None, "shown": True}})
            continue
        f = step.figure
        steps.append({"kind": "image", "png": png_uri(step.png) if step.png else None, "codes": step.codes,
                      "figure": None if f is None else {"image_id": f.image_id, "dataset": f.dataset,
                                                        "caption": f.caption, "file": f.path,
                                                        "similarity": f.similarity, "shown": f.shown}})
    return {"generator": "unified", "question": answer.question, "steps": steps, "damage": answer.damage,
            "well_formed": answer.well_formed, "partial": answer.partial, "tokens_generated": answer.tokens_generated,
            "loops_broken": answer.loops_broken,
            "lines_forbidden": answer.lines_forbidden, "sources": _sources(answer),
            "snap_threshold": answer.snap_threshold,
            "timings_ms": {k: round(v * 1000, 1) for k, v in answer.timings.items()}}


def to_html(answer: UnifiedAnswer) -> str:
    e = html.escape
    body = [f"<h1>{e(answer.question)}</h1>", '<article id="answer" class="unified">']
    for step in answer.steps:
        if step.kind == "text":
            body.append(f"<p>{e(step.text)}</p>")
            continue
        if step.kind == "reference":
            f = step.figure
            uri = _data_uri(f.path) if f.path else None
            picture = f'<img src="{uri}" alt="{e(f.caption or f.image_id)}">' if uri else \
                f'<p class="missing">figure {e(f.image_id)} has no image file</p>'
            body.append(f"<figure>{picture}<figcaption>{e(f.caption or f.image_id)}</figcaption></figure>")
            continue
        if not step.png:
            body.append(f'<p class="missing">an image of {len(step.codes)} codes that cannot be decoded</p>')
            continue
        pictures = f'<img class="generated" src="{png_uri(step.png)}" alt="generated image" width="192" height="192">'
        if step.figure is not None and step.figure.shown:
            uri = _data_uri(step.figure.path)
            if uri:
                pictures = f'<img src="{uri}" alt="{e(step.figure.caption)}"> ' + pictures
        body.append(f"<figure>{pictures}<figcaption>{e(_figure_note(step))}</figcaption></figure>")
    body.append("</article>")
    if _sources(answer):
        body.append("<h2>Sources</h2><ol>" + "".join(f"<li>{e(x)}</li>" for x in _sources(answer)) + "</ol>")
    if answer.damage:
        body.append(f'<p class="meta">The generation was damaged: {e("; ".join(answer.damage))}</p>')
    body.append(f'<p class="meta">unified model; {answer.tokens_generated} tokens generated; '
                + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in answer.timings.items()) + "</p>")
    style = _STYLE + "img.generated{image-rendering:pixelated;margin-left:.5rem}"
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(answer.question)}</title>'
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")


def render_unified(answer: UnifiedAnswer, fmt: str) -> str:
    if fmt == "md":
        return to_markdown(answer)
    if fmt == "html":
        return to_html(answer)
    if fmt == "json":
        return json.dumps(to_json(answer), indent=1) + "\n"
    raise ValueError(f"unknown format {fmt!r} (md, html or json)")
