"""The HTTP API and the web page (FastAPI). OpenAPI docs at ``/docs``.

- ``POST /api/ask`` (a JSON object ``{question, inserter, k, stream, image_b64, generator}``, or a
  form with ``question``, an ``image`` upload, ``inserter``, ``k``, ``stream``, ``generator``): the
  interleaved answer as JSON, or with ``stream`` (or ``Accept: text/event-stream``) as server-sent
  events: ``text`` (segments, sources), then ``placements``, then ``done`` (the whole answer).
  ``generator: unified`` answers with the unified model (text steps and generated images, each
  with its nearest corpus figure) as one JSON object; a server without one answers 422.
- Bad requests are 4xx with a ``detail`` naming the field; an image over ``max_image_pixels`` (by
  its header, before decoding) is a 413; any other failure a 500 with a JSON body and a request id
  that the server log names (``X-Request-ID`` on every response).
- ``GET /api/images/{key}``: an image of the index by its key (from an answer); anything
  else is a 404.
- ``GET /health``; ``GET /`` the web page, served with its script and style by m2io itself.

With a token every ``/api`` call needs ``Authorization: Bearer <token>``.

>>> ServeConfig().max_body_bytes
8388608
"""
from __future__ import annotations

import hmac
import json
import logging
import mimetypes
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from m2io.components import INSERTERS, ComponentConfig
from m2io.errors import M2IOError
from m2io.server.ask_request import FIELDS, AskJSON, AskRequest, AskRequestError, parse_form, parse_json
from m2io.server.limits import BodyLimit, RequestId, request_id
from m2io.server.upload import UploadLimits, UploadRejected, check_image
from m2io.server.service import AskService, draft_json

log = logging.getLogger("m2io.server")


@dataclass(frozen=True)
class ServeConfig:
    token: str | None = None
    """If set, every /api call needs ``Authorization: Bearer <token>``."""
    max_body_bytes: int = 8 * 1024 * 1024
    """Requests with a larger body are refused (413)."""
    max_upload_bytes: int = 5 * 1024 * 1024
    """Query images larger than this are refused (413)."""
    max_image_pixels: int = 40_000_000
    """Query images of more pixels (by their header, before decoding) are refused (413)."""
    max_question_chars: int = 2000
    default_inserter: str = ComponentConfig.inserter


FORM_SCHEMA = {"type": "object", "properties": {
    "question": {"type": "string"}, "inserter": {"type": "string", "enum": list(INSERTERS)},
    "k": {"type": "integer", "default": 5}, "stream": {"type": "boolean", "default": False},
    "image": {"type": "string", "format": "binary", "description": "A query image file."},
    "generator": {"type": "string", "enum": ["pipeline", "unified"], "default": "pipeline"}}}
ASK_OPENAPI = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": AskJSON.model_json_schema()},
    "multipart/form-data": {"schema": FORM_SCHEMA},
    "application/x-www-form-urlencoded": {"schema": {**FORM_SCHEMA, "properties": {
        k: v for k, v in FORM_SCHEMA["properties"].items() if k != "image"}}}}}}


async def _read_request(request: Request, config: ServeConfig) -> AskRequest:
    """The ask request from a JSON body or a form; 400/415/422 with the field named otherwise."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if ctype == "application/json" or ctype.endswith("+json"):
            return parse_json(await request.body(), config.default_inserter)
        if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.form(max_files=1, max_fields=len(FIELDS) + 1)
            req, upload = parse_form(form, config.default_inserter)
            if upload is not None and getattr(upload, "filename", None):
                req.image = await upload.read(config.max_upload_bytes + 1)
            return req
    except AskRequestError as e:
        raise HTTPException(e.status, str(e)) from e
    raise HTTPException(415, f"send a JSON object (application/json) or a form (multipart/form-data), "
                             f"not {ctype or 'a body without a content type'}")


def create_app(service: AskService, config: ServeConfig = ServeConfig()):
    limits = UploadLimits(max_bytes=config.max_upload_bytes, max_pixels=config.max_image_pixels)

    def require_token(request: Request) -> None:
        if config.token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.encode(), config.token.encode()):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    app = FastAPI(title="m2io", description="Answers that interleave text with the right images.")
    web = resources.files("m2io") / "web"

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        rid = request_id(request)
        log.error("request %s %s %s failed: %s: %s", rid, request.method, request.url.path,
                  exc.__class__.__name__, exc, exc_info=exc)
        return JSONResponse({"detail": f"internal error ({exc.__class__.__name__}); the server log names request "
                                       f"{rid}", "request_id": rid}, status_code=500, headers={"X-Request-ID": rid})

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "images": len(service.image_files)}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse((web / "index.html").read_text())

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        files = {"app.js": "text/javascript", "style.css": "text/css"}
        if name not in files:
            raise HTTPException(404, "not found")
        return Response((web / name).read_text(), media_type=files[name])

    @app.get("/api/images/{key}", dependencies=[Depends(require_token)])
    def image(key: str) -> FileResponse:
        path = service.image_files.get(key)
        if path is None or not path.is_file():
            raise HTTPException(404, "no such image in the index")
        return FileResponse(path, media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")

    @app.post("/api/ask", dependencies=[Depends(require_token)], openapi_extra=ASK_OPENAPI)
    async def ask(request: Request):
        """The interleaved answer to a question, an image, or both; a JSON object or a form."""
        req = await _read_request(request, config)
        if len(req.question) > config.max_question_chars:
            raise HTTPException(422, f"question over {config.max_question_chars} characters")
        if req.inserter not in INSERTERS:
            raise HTTPException(422, f"unknown inserter {req.inserter[:40]!r} (choose from {', '.join(INSERTERS)})")
        if not 1 <= req.k <= service.max_k:
            raise HTTPException(422, f"k must be between 1 and {service.max_k}")
        upload = None
        if req.image is not None:
            try:
                fmt = check_image(req.image, limits)
            except UploadRejected as e:
                raise HTTPException(e.status, str(e)) from e
            upload = tempfile.NamedTemporaryFile(suffix=f".{fmt}", delete=False)
            upload.write(req.image)
            upload.close()
        if not req.question.strip() and upload is None:
            raise HTTPException(422, "give a question, an image, or both")
        image_path = Path(upload.name) if upload else None
        if req.generator == "unified":  # one JSON answer (no stream): the images come with the text
            try:
                return JSONResponse(await run_in_threadpool(service.ask_unified, req.question, image_path))
            except M2IOError as e:
                raise HTTPException(422, str(e)) from e
            finally:
                if image_path:
                    image_path.unlink(missing_ok=True)
        if req.stream or "text/event-stream" in request.headers.get("accept", ""):
            return StreamingResponse(_events(service, req.question, image_path, req.inserter, req.k,
                                             request_id(request)),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-store"})
        try:
            result = await run_in_threadpool(_ask, service, req.question, image_path, req.inserter, req.k)
        except M2IOError as e:
            raise HTTPException(422, str(e)) from e
        finally:
            if image_path:
                image_path.unlink(missing_ok=True)
        return JSONResponse(service.answer_json(result, req.inserter))

    inner = BodyLimit(app, config.max_body_bytes) if config.max_body_bytes else app
    return RequestId(inner)


def _ask(service: AskService, question: str, image_path: Path | None, inserter: str, k: int):
    with service.lock:
        return service.pipeline(inserter, k).ask(question, image_path)


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _events(service: AskService, question: str, image_path: Path | None, inserter: str, k: int, rid: str):
    """text first (as soon as it is written), then placements, then the whole answer; errors as an event."""
    try:
        with service.lock:
            pipeline = service.pipeline(inserter, k)
            draft = pipeline.draft(question, image_path)
            yield _sse("text", draft_json(service, draft))
            result = pipeline.place(draft)
        answer = service.answer_json(result, inserter)
        yield _sse("placements", {"placements": answer["placements"], "timings_ms": answer["timings_ms"]})
        yield _sse("done", answer)
    except M2IOError as e:
        yield _sse("error", {"detail": str(e), "request_id": rid})
    except Exception as e:  # the stream has started: the client gets an error event, the log the traceback
        log.error("request %s (stream) failed: %s: %s", rid, e.__class__.__name__, e, exc_info=e)
        yield _sse("error", {"detail": f"internal error ({e.__class__.__name__}); the server log names request "
                                       f"{rid}", "request_id": rid})
    finally:
        if image_path:
            image_path.unlink(missing_ok=True)
