"""The HTTP API and the web page (FastAPI). OpenAPI docs at ``/docs``.

- ``POST /api/ask`` (a JSON object ``{question, inserter, k, stream, image_b64, generator}``, or a
  form with ``question``, an ``image`` upload, ``inserter``, ``k``, ``stream``, ``generator``): the
  interleaved answer as JSON, or with ``stream`` (or ``Accept: text/event-stream``) as server-sent
  events: ``text`` (segments, sources), then ``placements``, then ``done`` (the whole answer).
  ``generator: unified`` answers with the unified model (text steps, retrieved figures it refers
  to, drawn images with their nearest corpus figure) as one JSON object, or streamed: ``window`` (the
  answer so far, after each passage window but the last), then ``done``; a server without one answers 422.
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

import asyncio
import contextlib
import hmac
import json
import logging
import mimetypes
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from m2io.components import INSERTERS, ComponentConfig
from m2io.errors import M2IOError
from m2io.server.admission import Admission, Busy, Gone
from m2io.server.ask_request import FIELDS, AskJSON, AskRequest, AskRequestError, parse_form, parse_json
from m2io.server.limits import BodyLimit, RequestId, request_id
from m2io.server.metrics import STAGE_SECONDS, Timed, exposition, worker_exit
from m2io.server.upload import UploadLimits, UploadRejected, check_image
from m2io.server.service import NO_UNIFIED, AskService, draft_json

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
    max_queue: int = 8
    """Requests that may wait for this worker's inference thread; beyond, 503 with Retry-After."""
    refresh_seconds: float = 2.0
    """How often an idle worker looks for a newer index snapshot (a busy one looks before each answer)."""


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


def create_app(service: AskService | Callable[[], AskService], config: ServeConfig = ServeConfig()):
    """The app over ``service``, or over what ``service()`` returns: then it is loaded in a thread as the app
    starts, and until then ``/health`` answers 503 ``{"ready": false}`` and ``/api`` calls 503 with Retry-After."""
    limits = UploadLimits(max_bytes=config.max_upload_bytes, max_pixels=config.max_image_pixels)
    state = Loaded(service if isinstance(service, AskService) else None)
    gate = Admission(config.max_queue)

    def require_token(request: Request) -> None:
        if config.token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.encode(), config.token.encode()):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    def ready() -> AskService:
        if state.service is None:
            detail = f"not ready: {state.error}" if state.error else "starting: models are loading"
            raise HTTPException(503, detail, headers={"Retry-After": "2"})
        return state.service

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        tasks = []
        if state.service is None:
            tasks.append(asyncio.create_task(state.load(service)))
        tasks.append(asyncio.create_task(state.poll(config.refresh_seconds)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            worker_exit()

    app = FastAPI(title="m2io", description="Answers that interleave text with the right images.", lifespan=lifespan)
    web = resources.files("m2io") / "web"

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        rid = request_id(request)
        log.error("request %s %s %s failed: %s: %s", rid, request.method, request.url.path,
                  exc.__class__.__name__, exc, exc_info=exc)
        return JSONResponse({"detail": f"internal error ({exc.__class__.__name__}); the server log names request "
                                       f"{rid}", "request_id": rid}, status_code=500, headers={"X-Request-ID": rid})

    @app.get("/health")
    def health() -> JSONResponse:
        """Readiness: 200 once this worker's models are loaded, with the index snapshot it answers from."""
        body = {"worker": os.getpid(), "queue": gate.waiting}
        if state.service is None:
            return JSONResponse({**body, "status": "error" if state.error else "starting", "ready": False,
                                 "detail": state.error}, status_code=503)
        return JSONResponse({**body, "status": "ok", "ready": True, "index_version": state.service.retriever.version,
                             "images": len(state.service.image_files),
                             "load_seconds": round(state.seconds, 2)})

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        body, media_type = exposition()
        return Response(body, media_type=media_type)

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
        service = ready()
        path = service.image_file(key)
        if path is None and service.refresh_when_idle():  # an answer from a newer snapshot than this worker's
            path = service.image_file(key)
        if path is None or not path.is_file():
            raise HTTPException(404, "no such image in the index")
        return FileResponse(path, media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")

    @app.post("/api/ask", dependencies=[Depends(require_token)], openapi_extra=ASK_OPENAPI)
    async def ask(request: Request):
        """The interleaved answer to a question, an image, or both; a JSON object or a form."""
        service = ready()
        req = await _read_request(request, config)
        if len(req.question) > config.max_question_chars:
            raise HTTPException(422, f"question over {config.max_question_chars} characters")
        if req.inserter not in INSERTERS:
            raise HTTPException(422, f"unknown inserter {req.inserter[:40]!r} (choose from {', '.join(INSERTERS)})")
        if not 1 <= req.k <= service.max_k:
            raise HTTPException(422, f"k must be between 1 and {service.max_k}")
        if req.image is not None:
            try:
                fmt = check_image(req.image, limits)
            except UploadRejected as e:
                raise HTTPException(e.status, str(e)) from e
        if not req.question.strip() and req.image is None:
            raise HTTPException(422, "give a question, an image, or both")
        if req.generator == "unified" and not service.has_unified:
            raise HTTPException(422, NO_UNIFIED)
        turn = gate.turn(request.is_disconnected)
        try:
            await turn.__aenter__()
        except Busy as e:
            return JSONResponse({"detail": str(e)}, status_code=503, headers={"Retry-After": str(e.retry_after)})
        except Gone:
            log.info("request %s dropped from the queue: its client went away", request_id(request))
            return Response(status_code=499)
        image_path, streaming = None, False
        try:
            if req.image is not None:
                with tempfile.NamedTemporaryFile(suffix=f".{fmt}", delete=False) as upload:
                    upload.write(req.image)
                image_path = Path(upload.name)
            stream = req.stream or "text/event-stream" in request.headers.get("accept", "")
            if req.generator == "unified" and not stream:  # one JSON answer: the images come with the text
                try:
                    return JSONResponse(await run_in_threadpool(service.ask_unified, req.question, image_path))
                except M2IOError as e:
                    raise HTTPException(422, str(e)) from e
            if stream:
                events = (_unified_events(service, req.question, image_path, request_id(request))
                          if req.generator == "unified" else
                          _events(service, req.question, image_path, req.inserter, req.k, request_id(request)))
                streaming = True  # from here the response releases the turn and the upload, however it ends
                return ReleasingStream(iterate_in_threadpool(events), _releaser(events, turn, image_path),
                                       media_type="text/event-stream", headers={"Cache-Control": "no-store"})
            try:
                return JSONResponse(await run_in_threadpool(_ask, service, req.question, image_path, req.inserter,
                                                            req.k))
            except M2IOError as e:
                raise HTTPException(422, str(e)) from e
        finally:
            if not streaming:
                await turn.__aexit__(None, None, None)
                if image_path:
                    image_path.unlink(missing_ok=True)

    inner = BodyLimit(app, config.max_body_bytes) if config.max_body_bytes else app
    return RequestId(Timed(inner))


class Loaded:
    """The app's service once loaded (or the error that stopped it), and the idle poll for new snapshots."""

    def __init__(self, service: AskService | None):
        self.service, self.error, self.seconds = service, None, 0.0

    async def load(self, make: Callable[[], AskService]) -> None:
        start = time.perf_counter()
        try:
            service = await run_in_threadpool(make)
        except Exception as e:  # the worker stays up to say why it is not ready
            log.error("the service did not load: %s: %s", e.__class__.__name__, e, exc_info=e)
            self.error = f"{e.__class__.__name__}: {e}"
            return
        self.seconds = time.perf_counter() - start
        self.service = service
        try:
            await run_in_threadpool(service.warm_up)  # the other inserters, while the defaults already answer
        except Exception as e:  # they load on first use instead
            log.warning("warming up the other inserters failed: %s: %s", e.__class__.__name__, e)

    async def poll(self, seconds: float) -> None:
        """Every ``seconds``, an idle worker moves to the index's newest snapshot (a busy one does at its next
        answer), so ``/health`` and ``/metrics`` show what it will answer from."""
        while True:
            await asyncio.sleep(seconds)
            if self.service is not None:
                try:
                    await run_in_threadpool(self.service.refresh_when_idle)
                except Exception as e:  # a poll must never take the worker down
                    log.warning("index refresh failed: %s: %s", e.__class__.__name__, e)


class ReleasingStream(StreamingResponse):
    """A stream that runs ``release`` once when the response ends, however it ends: sent, client gone, or
    cancelled before its first byte (Starlette may cancel the body's generator before it ever starts)."""

    def __init__(self, content, release, **kwargs):
        super().__init__(content, **kwargs)
        self._release = release

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._release()


def _releaser(events, turn, image_path: Path | None):
    async def release():
        with contextlib.suppress(ValueError):  # a client that left mid-answer: release the answer's lock now
            events.close()
        await turn.__aexit__(None, None, None)
        if image_path:
            image_path.unlink(missing_ok=True)

    return release


def _observe(timings: dict[str, float]) -> None:
    for stage, seconds in timings.items():
        if stage != "total":
            STAGE_SECONDS.labels(stage).observe(seconds)


def _ask(service: AskService, question: str, image_path: Path | None, inserter: str, k: int) -> dict:
    """The answer as JSON, made from one snapshot (its image URLs and source labels too)."""
    with service.answering():
        result = service.pipeline(inserter, k).ask(question, image_path)
        answer = service.answer_json(result, inserter)
    _observe(result.timings)
    return answer


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _guarded(events, rid: str):
    """``events`` (SSE strings), a failure as a last ``error`` event: the stream has started, so the client gets an
    error event and the log the traceback."""
    try:
        yield from events
    except M2IOError as e:
        yield _sse("error", {"detail": str(e), "request_id": rid})
    except Exception as e:
        log.error("request %s (stream) failed: %s: %s", rid, e.__class__.__name__, e, exc_info=e)
        yield _sse("error", {"detail": f"internal error ({e.__class__.__name__}); the server log names request "
                                       f"{rid}", "request_id": rid})


def _unified_events(service: AskService, question: str, image_path: Path | None, rid: str):
    """The unified answer so far after each passage window (``window``), then the whole (``done``); errors as an
    event."""
    yield from _guarded((_sse("window" if answer["partial"] else "done", answer)
                         for answer in service.stream_unified(question, image_path)), rid)


def _events(service: AskService, question: str, image_path: Path | None, inserter: str, k: int, rid: str):
    """text first (as soon as it is written), then placements, then the whole answer; errors as an event."""
    yield from _guarded(_pipeline_events(service, question, image_path, inserter, k), rid)


def _pipeline_events(service: AskService, question: str, image_path: Path | None, inserter: str, k: int):
    with service.answering():
        pipeline = service.pipeline(inserter, k)
        draft = pipeline.draft(question, image_path)
        yield _sse("text", draft_json(service, draft))
        result = pipeline.place(draft)
        answer = service.answer_json(result, inserter)
    _observe(result.timings)
    yield _sse("placements", {"placements": answer["placements"], "timings_ms": answer["timings_ms"]})
    yield _sse("done", answer)
