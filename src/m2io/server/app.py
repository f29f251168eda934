"""The HTTP API and the web page (FastAPI). OpenAPI docs at ``/docs``.

- ``POST /api/ask`` (form: ``question``, optional ``image`` upload, ``inserter``, ``k``,
  ``stream``): the interleaved answer as JSON, or with ``stream=true`` (or ``Accept:
  text/event-stream``) as server-sent events: ``text`` (segments, sources), then
  ``placements``, then ``done`` (the whole answer).
- ``GET /api/images/{key}``: an image of the index by its key (from an answer); anything
  else is a 404.
- ``GET /health``; ``GET /`` the web page, served with its script and style by m2io itself.

With a token every ``/api`` call needs ``Authorization: Bearer <token>``.

>>> ServeConfig().max_body_bytes
8388608
"""
from __future__ import annotations

import hmac
import io
import json
import mimetypes
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse

from m2io.components import INSERTERS, ComponentConfig
from m2io.errors import M2IOError
from m2io.server.limits import BodyLimit
from m2io.server.service import AskService, draft_json


@dataclass(frozen=True)
class ServeConfig:
    token: str | None = None
    """If set, every /api call needs ``Authorization: Bearer <token>``."""
    max_body_bytes: int = 8 * 1024 * 1024
    """Requests with a larger body are refused (413)."""
    max_upload_bytes: int = 5 * 1024 * 1024
    """Query images larger than this are refused (413)."""
    max_question_chars: int = 2000
    default_inserter: str = ComponentConfig.inserter


def _check_image(data: bytes) -> str:
    """The upload's image format, or an HTTP 415 when it is not an image PIL can decode."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
            return (im.format or "png").lower()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise HTTPException(415, f"the upload is not an image ({e.__class__.__name__})") from e


def create_app(service: AskService, config: ServeConfig = ServeConfig()):
    def require_token(request: Request) -> None:
        if config.token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.encode(), config.token.encode()):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    app = FastAPI(title="m2io", description="Answers that interleave text with the right images.")
    web = resources.files("m2io") / "web"

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

    @app.post("/api/ask", dependencies=[Depends(require_token)])
    def ask(request: Request, question: str = Form(""), inserter: str = Form(config.default_inserter),
            k: int = Form(5), stream: bool = Form(False), image: UploadFile | None = File(None)):
        if len(question) > config.max_question_chars:
            raise HTTPException(422, f"question over {config.max_question_chars} characters")
        if inserter not in INSERTERS:
            raise HTTPException(422, f"unknown inserter {inserter!r} (choose from {', '.join(INSERTERS)})")
        if not 1 <= k <= service.max_k:
            raise HTTPException(422, f"k must be between 1 and {service.max_k}")
        upload = None
        if image is not None and image.filename:
            data = image.file.read(config.max_upload_bytes + 1)
            if len(data) > config.max_upload_bytes:
                raise HTTPException(413, f"image over {config.max_upload_bytes} bytes")
            fmt = _check_image(data)
            upload = tempfile.NamedTemporaryFile(suffix=f".{fmt}", delete=False)
            upload.write(data)
            upload.close()
        if not question.strip() and upload is None:
            raise HTTPException(422, "give a question, an image, or both")
        image_path = Path(upload.name) if upload else None
        wants_stream = stream or "text/event-stream" in request.headers.get("accept", "")
        if wants_stream:
            return StreamingResponse(_events(service, question, image_path, inserter, k),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-store"})
        try:
            with service.lock:
                result = service.pipeline(inserter, k).ask(question, image_path)
        except M2IOError as e:
            raise HTTPException(422, str(e)) from e
        finally:
            if image_path:
                image_path.unlink(missing_ok=True)
        return JSONResponse(service.answer_json(result, inserter))

    return BodyLimit(app, config.max_body_bytes) if config.max_body_bytes else app


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _events(service: AskService, question: str, image_path: Path | None, inserter: str, k: int):
    """text first (as soon as it is written), then placements, then the whole answer."""
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
        yield _sse("error", {"detail": str(e)})
    finally:
        if image_path:
            image_path.unlink(missing_ok=True)
