"""The HTTP backend against a real server: `m2io serve-lm` started by the test, on loopback."""
from __future__ import annotations

import httpx
import pytest

from conftest import free_port
from m2io.lm.base import LMError
from m2io.lm.openai import OpenAIChatModel

MESSAGES = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


@pytest.fixture(scope="module")
def server(serve_lm):
    return serve_lm


def test_http_backend_matches_the_local_model(server, local_lm):
    remote = OpenAIChatModel(server, model="SmolLM2-135M-Instruct")
    try:
        got = remote.chat(MESSAGES, max_tokens=12)
    finally:
        remote.close()
    want = local_lm.chat(MESSAGES, max_tokens=12)
    assert got.text == want.text and "Paris" in got.text
    assert (got.prompt_tokens, got.completion_tokens) == (want.prompt_tokens, want.completion_tokens)


def test_models_listing_and_validation(server):
    assert httpx.get(f"{server}/models").json()["data"][0]["id"] == "SmolLM2-135M-Instruct"
    bad = httpx.post(f"{server}/chat/completions", json={"messages": []})
    assert bad.status_code == 422
    with pytest.raises(LMError, match=r"HTTP 422"):
        OpenAIChatModel(server, model="x").chat([], max_tokens=4)


def test_unreachable_server_is_a_clear_error():
    lm = OpenAIChatModel(f"http://127.0.0.1:{free_port()}/v1", model="x", timeout=2)
    with pytest.raises(LMError, match="no answer"):
        lm.chat(MESSAGES)
