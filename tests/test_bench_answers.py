"""A non-streamed 200 application/json answer is measured as chat measures it: one answer, TTFT = e2e."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from conftest import run_cli
from raw_servers import raw_server

from streamchat.bench.runner import LoadSpec, run_load
from streamchat.errors import ProtocolError
from streamchat.protocol.requests import ChatRequest

OPENAI_ANSWER = json.dumps(
    {
        "id": "x",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }
).encode()
ANTHROPIC_ANSWER = json.dumps(
    {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": "Hi"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 4, "output_tokens": 1},
    }
).encode()


def _load(url: str, dialect: str) -> list[dict]:
    spec = LoadSpec(url, dialect=dialect, requests=3, concurrency=1, prompts=[ChatRequest(message="hi", model_id="m")])
    return asyncio.run(run_load(spec))[0]


@pytest.mark.parametrize(
    ("body", "dialect", "path", "tokens"),
    [(OPENAI_ANSWER, "openai", "/v1/chat/completions", 2), (ANTHROPIC_ANSWER, "anthropic", "/v1/messages", 1)],
)
def test_a_json_answer_is_one_answer_not_a_truncated_stream(body, dialect, path, tokens):
    for framing in ("length", "chunked", "close"):
        with raw_server(body, framing=framing, pieces=3, content_type="application/json", path=path) as url:
            records = _load(url, dialect)
        assert [r["status"] for r in records] == ["ok"] * 3, (framing, records)
        for r in records:
            assert r["ttft_ms"] == r["e2e_ms"] > 0 and r["itl_ms"] == []
            assert r["output_tokens"] == tokens and r["tokens_source"] == "usage"


def test_the_reference_servers_json_fault_is_measured(server):
    fault = f"X-Streamchat-Fault: json;id={uuid.uuid4()}"
    r = run_cli("bench", "--url", server.url + "/v1/chat/completions", "-m", "m", "--requests", "3", "-H", fault, "-o", "json", "-q")
    assert r.code == 0, r.stderr
    summary = json.loads(r.out)
    assert summary["ok"] == 3 and summary["ttft_ms"]["mean"] == pytest.approx(summary["e2e_ms"]["mean"])


def test_the_body_form_is_decided_by_the_shared_reply_decoder():
    """chat and bench both read bodies through protocol/body.py: the content type decides, the same way."""
    from streamchat.protocol.body import ReplyDecoder

    with pytest.raises(ProtocolError, match="wrong content type 'text/html'"):
        ReplyDecoder("text/html", "openai")
    for cut in range(1, len(OPENAI_ANSWER)):
        decoder = ReplyDecoder("application/json", "openai")
        assert decoder.feed(b"\n " + OPENAI_ANSWER[:cut]) == ([], False) and decoder.feed(OPENAI_ANSWER[cut:]) == ([], False)
        events = decoder.close()
        assert [e.type for e in events] == ["content", "usage", "done"]
    broken = ReplyDecoder("application/json", "openai")
    broken.feed(b'{"choices": [')
    with pytest.raises(ProtocolError, match="not JSON"):
        broken.close()


def test_a_reply_over_the_size_cap_is_too_large_in_bench_as_in_chat(server):
    """The same bytes, the same verdict: the reference server's oversize fault (about 11 MB) is exit 7
    too_large in chat, and too_large in bench (default cap 10MB, or --max-response-size)."""
    fault = f"X-Streamchat-Fault: oversize;id={uuid.uuid4()}"
    url = server.url + "/v1/chat/completions"
    chat = run_cli("chat", "--url", url, "-m", "m", "-H", fault, "-o", "json", "-q", "--retries", "0", "hi")
    assert chat.code == 7 and json.loads(chat.out)["error"]["code"] == "too_large", chat.out
    r = run_cli("bench", "--url", url, "-m", "m", "--requests", "2", "--concurrency", "1", "-H", fault, "-o", "json", "-q")
    assert r.code == 8 and json.loads(r.out)["errors"] == {"too_large": 2}, r.out
    small = run_cli("bench", "--url", url, "-m", "m", "--requests", "2", "--max-response-size", "2KB", "-o", "json", "-q")
    assert small.code == 8 and json.loads(small.out)["errors"] == {"too_large": 2}, small.out
    assert run_cli("bench", "--url", url, "--max-response-size", "lots", "-q").code == 2


OPENAI_TOOL_STREAM = (
    b"".join(
        b"data: " + json.dumps(chunk).encode() + b"\n\n"
        for chunk in [
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "role": "assistant",
                            "tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f", "arguments": ""}}],
                        },
                    }
                ]
            },
            {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}}]},
            {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        ]
    )
    + b"data: [DONE]\n\n"
)


def test_a_reply_of_tool_calls_only_has_no_first_token_in_bench_as_in_chat():
    """TTFT is to the first content or reasoning event: a reply that only calls a tool has none."""
    with raw_server(OPENAI_TOOL_STREAM, framing="chunked", pieces=4, path="/v1/chat/completions") as url:
        records = _load(url, "openai")
        chat = run_cli("chat", "--url", url, "-m", "m", "-o", "json", "-q", "hi")
    assert json.loads(chat.out)["timing"]["ttft_ms"] is None and len(json.loads(chat.out)["tool_calls"]) == 1
    assert [r["status"] for r in records] == ["ok"] * 3
    assert all(r["ttft_ms"] is None and r["itl_ms"] == [] for r in records), records
