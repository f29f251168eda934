"""``POST /api/ask`` bodies: a JSON object or a form, read into one typed request with located errors.

JSON (what most clients send)::

    {"question": "How do I crop?", "inserter": "rule", "k": 10, "stream": false, "image_b64": "<base64 PNG>"}

or a form (``multipart/form-data`` with an ``image`` file, or ``application/x-www-form-urlencoded``).
Every problem is an :class:`AskRequestError` naming the field, answered with a 4xx.

>>> parse_json(b'{"question": "How?", "k": 3}', default_inserter="rule")
AskRequest(question='How?', inserter='rule', k=3, stream=False, image=None, generator='pipeline')
>>> try:
...     parse_json(b'{"question": 7}', default_inserter="rule")
... except AskRequestError as e:
...     e.status, str(e)
(422, 'question: must be a string, got int')
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from pydantic import BaseModel, Field

FIELDS = {"question", "inserter", "k", "stream", "image_b64", "generator"}
GENERATORS = ("pipeline", "unified")


class AskJSON(BaseModel):
    """The JSON body of ``POST /api/ask`` (for the OpenAPI schema; parsing is :func:`parse_json`)."""

    question: str = Field("", description="The question; may be empty when an image is given.")
    inserter: str | None = Field(None, description="r1, rule, source, onepass or r1-lm; the server's default if left out.")
    k: int = Field(10, description="How many chunks to retrieve.")
    stream: bool = Field(False, description="Answer as server-sent events: text, placements, done.")
    image_b64: str | None = Field(None, description="A query image, base64-encoded (PNG, JPEG, ...).")
    generator: str = Field("pipeline", description="pipeline (retrieve, answer, place) or unified (the unified model "
                                                   "writes the answer from the retrieved passage, each figure a "
                                                   "retrieved one or a drawn one; the shipped model by default).")


@dataclass
class AskRequest:
    question: str
    inserter: str
    k: int
    stream: bool
    image: bytes | None
    generator: str = "pipeline"


class AskRequestError(ValueError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _type_name(value) -> str:
    return "null" if value is None else type(value).__name__


def _bool(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on", "false", "0", "no", "off", ""):
        return value.strip().lower() in ("true", "1", "yes", "on")
    raise AskRequestError(422, f"{name}: must be true or false, got {value!r}"[:200])


def _generator(value) -> str:
    if value is None or value == "":
        return "pipeline"
    if not isinstance(value, str) or value not in GENERATORS:
        raise AskRequestError(422, f"generator: must be one of {', '.join(GENERATORS)}, got {value!r}"[:200])
    return value


def _int(value, name: str) -> int:
    if isinstance(value, bool):
        raise AskRequestError(422, f"{name}: must be an integer, got bool")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value.strip()) < 10:
        return int(value.strip())
    raise AskRequestError(422, f"{name}: must be an integer, got {value!r}"[:200])


def parse_json(body: bytes, default_inserter: str) -> AskRequest:
    """Read a JSON body; unknown fields, wrong types and bad base64 are 422s, bytes that are not JSON a 400."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise AskRequestError(400, f"the JSON body is not UTF-8 (byte {e.start})") from e
    except json.JSONDecodeError as e:
        raise AskRequestError(400, f"malformed JSON body: {e.msg} at line {e.lineno} column {e.colno}") from e
    if not isinstance(data, dict):
        raise AskRequestError(422, f"the JSON body must be an object, got {_type_name(data)}")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise AskRequestError(422, f"unknown field(s) {', '.join(map(str, unknown))[:200]} "
                                   f"(expected {', '.join(sorted(FIELDS))})")
    question = data.get("question", "")
    if question is None:
        question = ""
    if not isinstance(question, str):
        raise AskRequestError(422, f"question: must be a string, got {_type_name(question)}")
    inserter = data.get("inserter") or default_inserter
    if not isinstance(inserter, str):
        raise AskRequestError(422, f"inserter: must be a string, got {_type_name(inserter)}")
    image = None
    raw = data.get("image_b64")
    if raw is not None:
        if not isinstance(raw, str):
            raise AskRequestError(422, f"image_b64: must be a base64 string, got {_type_name(raw)}")
        if raw.startswith("data:") and "," in raw:  # a data URI, as browsers make them
            raw = raw.split(",", 1)[1]
        try:
            image = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as e:
            raise AskRequestError(422, f"image_b64: not valid base64 ({e})") from e
    return AskRequest(question, inserter, _int(data.get("k", 10), "k"), _bool(data.get("stream", False), "stream"),
                      image, _generator(data.get("generator")))


def parse_form(form, default_inserter: str) -> tuple[AskRequest, object]:
    """Read a form; returns the request (image still unread) and the ``image`` upload, if any."""
    unknown = sorted(set(form.keys()) - (FIELDS | {"image"}))
    if unknown:
        raise AskRequestError(422, f"unknown field(s) {', '.join(unknown)[:200]}")
    question = form.get("question", "")
    if not isinstance(question, str):
        raise AskRequestError(422, "question: must be text, not a file")
    inserter = form.get("inserter") or default_inserter
    if not isinstance(inserter, str):
        raise AskRequestError(422, "inserter: must be text, not a file")
    upload = form.get("image")
    if isinstance(upload, str):
        if upload:
            raise AskRequestError(422, "image: must be a file upload (or send JSON with image_b64)")
        upload = None
    k = form.get("k", "10")
    stream = form.get("stream", "false")
    if not isinstance(k, str) or not isinstance(stream, str):
        raise AskRequestError(422, "k and stream must be text, not files")
    generator = form.get("generator", "pipeline")
    if not isinstance(generator, str):
        raise AskRequestError(422, "generator: must be text, not a file")
    return AskRequest(question, inserter, _int(k, "k"), _bool(stream, "stream"), None, _generator(generator)), upload
