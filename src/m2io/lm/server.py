"""``m2io serve-lm``: expose a local chat model through the OpenAI chat-completions shape.

So that everything speaking that protocol (m2io's own :class:`OpenAIChatModel`, other tools)
can use m2io's local models, and so the HTTP backend is tested against a real server.

    m2io serve-lm --port 8001        # then: OpenAIChatModel("http://127.0.0.1:8001/v1", "SmolLM2-135M-Instruct")
"""
from __future__ import annotations

import threading
import time
import uuid

from pydantic import BaseModel, Field

from m2io.lm.base import ChatModel


class ChatMessage(BaseModel):
    role: str
    content: str


class ChatRequest(BaseModel):
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int = Field(default=256, ge=1, le=4096)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    stop: list[str] | str | None = None


def create_app(model: ChatModel):
    from fastapi import FastAPI

    app = FastAPI(title="m2io serve-lm", description="OpenAI-compatible chat completions for a local model")
    lock = threading.Lock()  # one generation at a time: the model is not re-entrant

    @app.get("/v1/models")
    def models() -> dict:
        return {"object": "list", "data": [{"id": model.name, "object": "model", "owned_by": "m2io"}]}

    @app.post("/v1/chat/completions")
    def chat(request: ChatRequest) -> dict:
        stop = [request.stop] if isinstance(request.stop, str) else request.stop
        with lock:
            g = model.chat([m.model_dump() for m in request.messages], max_tokens=request.max_tokens,
                           temperature=request.temperature, stop=stop)
        return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                "model": model.name,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": g.text},
                             "finish_reason": "length" if g.completion_tokens >= request.max_tokens else "stop"}],
                "usage": {"prompt_tokens": g.prompt_tokens, "completion_tokens": g.completion_tokens,
                          "total_tokens": g.prompt_tokens + g.completion_tokens}}

    return app
