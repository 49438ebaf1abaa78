"""The dialect registry: path inference, base URLs, and the request each dialect builds."""

from __future__ import annotations

import pytest

from streamchat import dialects
from streamchat.errors import UsageError
from streamchat.protocol.requests import ChatRequest, HistoryMessage

PNG = "data:image/png;base64,iVBORw0KGgo="


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/v1/chat/completions", "openai"),
        ("/openai/deployments/x/chat/completions/", "openai"),
        ("/v1/messages", "anthropic"),
        ("/api/v1/messages", "anthropic"),
        ("/v1/responses", "responses"),
        ("/api/chat", "ollama"),
        ("/api/generate", "ollama"),
        ("/api/v1/actions/chats/42/messages", "prompt"),
        ("/api/chat/stream", "streamchat"),
        ("/anything/else", "streamchat"),
    ],
)
def test_the_path_implies_the_dialect(path, name):
    assert dialects.infer("http://127.0.0.1:8000" + path).name == name


def test_every_dialect_is_registered_once_with_a_builder():
    assert len(set(dialects.NAMES)) == len(dialects.NAMES) == 7
    for name in dialects.NAMES:
        dialect = dialects.get(name)
        assert dialect.name == name and callable(dialect.build) and dialect.demo_path.startswith("/")


@pytest.mark.parametrize(
    ("url", "dialect", "full"),
    [
        ("http://h:8000", None, "http://h:8000/v1/chat/completions"),
        ("http://h:8000/", None, "http://h:8000/v1/chat/completions"),
        ("http://h:8000/v1", None, "http://h:8000/v1/chat/completions"),
        ("http://h:8000/openai/v1/", None, "http://h:8000/openai/v1/chat/completions"),
        ("http://h:8000/v1", "anthropic", "http://h:8000/v1/messages"),
        ("http://h:8000/v1", "responses", "http://h:8000/v1/responses"),
        ("http://h:8000/v1?x=1", None, "http://h:8000/v1/chat/completions?x=1"),
        ("http://h:8000/v1/chat/completions", None, None),
        ("http://h:8000/api/chat/stream", None, None),
        ("http://h:8000/v1", "streamchat", None),
        ("http://h:8000/v1", "ollama", None),  # its API lives under /api, not /v1
        ("http://h:8000/v1", "prompt", None),
        ("http://h:8000/v1", "query", None),
    ],
)
def test_base_urls(url, dialect, full):
    assert dialects.complete_base_url(url, dialect) == full


def request(**kw) -> ChatRequest:
    base = {"message": "Hi", "model_id": "m", "system_prompt": "Be brief.", "images": [PNG], "max_tokens": 5, "temperature": 0.5}
    base.update(kw)
    return ChatRequest(**base)


def test_responses_body():
    history = [HistoryMessage("user", "Earlier"), HistoryMessage("assistant", "Reply")]
    method, _, body = dialects.get("responses").build(request(history=history), "http://h/v1/responses", True)
    assert method == "POST"
    assert body == {
        "model": "m",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Earlier"}]},
            {"role": "assistant", "content": [{"type": "output_text", "text": "Reply"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "Hi"}, {"type": "input_image", "image_url": PNG}]},
        ],
        "instructions": "Be brief.",
        "stream": True,
        "max_output_tokens": 5,
        "temperature": 0.5,
    }


def test_ollama_chat_and_generate_bodies():
    _, _, chat = dialects.get("ollama").build(request(), "http://h/api/chat", True)
    assert chat == {
        "model": "m",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi", "images": ["iVBORw0KGgo="]}],
        "stream": True,
        "options": {"temperature": 0.5, "num_predict": 5},
    }
    _, _, generate = dialects.get("ollama").build(request(), "http://h/api/generate", True)
    assert generate == {
        "model": "m",
        "prompt": "Hi",
        "system": "Be brief.",
        "images": ["iVBORw0KGgo="],
        "stream": True,
        "options": {"temperature": 0.5, "num_predict": 5},
    }
    with pytest.raises(UsageError, match="not URLs"):
        dialects.get("ollama").build(request(images=["https://example.com/a.png"]), "http://h/api/chat", True)
    with pytest.raises(UsageError, match="/api/chat"):
        dialects.get("ollama").build(request(history=[HistoryMessage("user", "x")]), "http://h/api/generate", True)


def test_openai_and_anthropic_bodies_carry_only_their_own_fields():
    _, _, openai = dialects.get("openai").build(request(), "http://h/v1/chat/completions", True)
    assert set(openai) == {"model", "messages", "stream", "stream_options", "max_tokens", "temperature"}
    assert openai["messages"][1]["content"][1] == {"type": "image_url", "image_url": {"url": PNG}}
    _, _, anthropic = dialects.get("anthropic").build(request(), "http://h/v1/messages", True)
    assert anthropic["system"] == "Be brief." and anthropic["max_tokens"] == 5
    assert anthropic["messages"][0]["content"][1]["source"] == {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
    assert dialects.get("anthropic").headers == {"anthropic-version": "2023-06-01"} and dialects.get("anthropic").auth_scheme == "x-api-key"


def test_query_adds_the_message_to_the_urls_own_parameters():
    method, url, body = dialects.get("query").build(request(message="a b&c"), "http://h/s?lang=en", True)
    assert (method, url, body) == ("GET", "http://h/s?lang=en&message=a+b%26c", None)
