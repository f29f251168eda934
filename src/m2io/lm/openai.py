"""Any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, llama.cpp server, a hosted API).

>>> lm = OpenAIChatModel("http://127.0.0.1:8001/v1", model="SmolLM2-135M-Instruct")   # doctest: +SKIP
>>> lm.chat([{"role": "user", "content": "Say hi"}], max_tokens=8).text               # doctest: +SKIP
"""
from __future__ import annotations

import os
import time

from m2io.lm.base import ChatModel, Generation, LMError, Message, cut_at_stop


class OpenAIChatModel(ChatModel):
    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 120.0):
        import httpx

        self.name = model
        self.base_url = base_url.rstrip("/")
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = httpx.Client(timeout=timeout, headers=headers)

    def chat(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
             stop: list[str] | None = None, constraint=None, free_tokens: int = 0,
             no_repeat_ngram: int = 0) -> Generation:
        import httpx

        if constraint is not None:
            raise LMError(f"{self.base_url}: constrained decoding needs the local backend")
        body = {"model": self.name, "messages": messages, "max_tokens": max_tokens, "temperature": temperature}
        if stop:
            body["stop"] = stop
        url = f"{self.base_url}/chat/completions"
        start = time.perf_counter()
        try:
            response = self.client.post(url, json=body)
        except httpx.HTTPError as e:
            raise LMError(f"{url}: no answer ({e.__class__.__name__}: {e})") from e
        if response.status_code != 200:
            raise LMError(f"{url}: HTTP {response.status_code}: {response.text[:300]}")
        try:
            data = response.json()
            text = data["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise LMError(f"{url}: not a chat-completions answer: {response.text[:300]}") from e
        usage = data.get("usage") or {}
        return Generation(text=cut_at_stop(text, stop), prompt_tokens=int(usage.get("prompt_tokens", 0)),
                          completion_tokens=int(usage.get("completion_tokens", 0)),
                          seconds=time.perf_counter() - start)

    def close(self) -> None:
        self.client.close()
