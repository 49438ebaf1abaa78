"""Real servers' bytes (tests/data/wire/README.md names each source) through ``ReplyDecoder`` at every
split point, and over a raw loopback server into ``chat``.

The expected events are written out by hand from what each source says the stream means (the SDK
test's assembled arguments, the server's own ``.done`` texts, the counts in the last chunk), not
from what the code under test produces.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from conftest import run_cli
from raw_servers import raw_server

from streamchat.client.http import HTTPOptions
from streamchat.env import Environment
from streamchat.errors import ProtocolError, StreamchatError
from streamchat.protocol.body import ReplyDecoder
from streamchat.protocol.requests import ChatRequest
from streamchat.session.http import ChatTarget, run_http_chat
from streamchat.session.output import OutputOptions, make_renderer

WIRE = Path(__file__).resolve().parent / "data" / "wire"
SSE, NDJSON, JSON = "text/event-stream", "application/x-ndjson", "application/json"


def replay(body: bytes, content_type: str, pieces: list[bytes] | None = None) -> list[dict]:
    """The events of a whole body fed as ``pieces`` (the whole body when None), as the NDJSON schema."""
    decoder = ReplyDecoder(content_type, "openai")
    events = []
    for piece in pieces if pieces is not None else [body]:
        found, ended = decoder.feed(piece)
        events += found
        if ended:
            break
    else:
        events += decoder.close()
    return [event.as_dict() for event in events]


def every_split(body: bytes, content_type: str, expected: list[dict], stride: int = 1) -> None:
    """The same events whatever the reads: one byte a read (every offset a boundary at once), and the
    body cut in two at every offset (every ``stride``-th one, and around every line end, for big bodies)."""
    assert replay(body, content_type, [body[i : i + 1] for i in range(len(body))]) == expected
    cuts = set(range(0, len(body) + 1, stride))
    for end in (m.start() for m in re.finditer(b"\n", body)):
        cuts.update(range(max(0, end - 2), min(len(body), end + 3)))
    for cut in sorted(cuts):
        assert replay(body, content_type, [body[:cut], body[cut:]]) == expected, cut


def read(name: str) -> bytes:
    return (WIRE / name).read_bytes()


def usage(inp: int, out: int, total: int | None = None, **details: int) -> dict:
    return {"type": "usage", "input_tokens": inp, "output_tokens": out, "total_tokens": inp + out if total is None else total, **details}


def call(call_id: str, name: str, arguments: str) -> dict:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def done(reason: str | None) -> dict:
    return {"type": "done", "finish_reason": reason} if reason is not None else {"type": "done"}


def joined(events: list[dict], kind: str) -> str:
    return "".join(e["text"] for e in events if e["type"] == kind)


def without_text(events: list[dict]) -> list[dict]:
    return [e for e in events if e["type"] not in ("content", "reasoning")]


def server_done_text(body: bytes, event: str, key: str) -> str:
    """The whole text a Responses stream repeats in its own ``.done`` event (the server's word for it)."""
    for block in body.split(b"\n\n"):
        if block.startswith(f"event: {event}\n".encode()):
            return json.loads(block.split(b"\ndata: ", 1)[1])[key]
    raise AssertionError(f"no {event} in the stream")


# -- OpenAI chat completions: tool calls from OpenAI, vLLM, llama.cpp ----------------------------------

OPENAI_CASES = {
    "openai_tool_call.sse": [
        call("call_4XzlGBLtUe9dy3GVNV4jhq7h", "get_weather", '{"city":"New York City"}'),
        usage(44, 16, 60, reasoning_tokens=0),
        done("tool_calls"),
    ],
    "openai_parallel_tool_calls.sse": [
        call("call_JMW1whyEaYG438VE1OIflxA2", "GetWeatherArgs", '{"city": "Edinburgh", "country": "GB", "units": "c"}'),
        call("call_DNYTawLBoN8fj3KN6qU9N1Ou", "get_stock_price", '{"ticker": "AAPL", "exchange": "NASDAQ"}'),
        usage(149, 60, 209, reasoning_tokens=0),
        done("tool_calls"),
    ],
    "vllm_tool_call.sse": [
        usage(226, 0, 226),
        usage(226, 7, 233),
        usage(226, 15, 241),
        usage(226, 16, 242),
        usage(226, 17, 243),
        usage(226, 18, 244),
        usage(226, 19, 245),
        call("chatcmpl-tool-b3b307239370432d9910d4b79b4dbbaa", "searchGoogle", '{"query": "latest news on ai"}'),
        usage(226, 20, 246),
        usage(226, 20, 246),
        done("tool_calls"),
    ],
    "llamacpp_tool_call.sse": [
        call("v2dh...", "run_command", '{"command":"pwd"}'),
        {"type": "tps", "tps": 196.04383540159577},
        done("tool_calls"),
    ],
}


@pytest.mark.parametrize("name", list(OPENAI_CASES))
def test_openai_tool_call_streams_at_every_split(name):
    every_split(read(name), SSE, OPENAI_CASES[name])


# -- the Responses API ----------------------------------------------------------------------------------


def test_responses_text_stream():
    body = read("responses_text.sse")
    events = replay(body, SSE)
    assert joined(events, "content") == server_done_text(body, "response.output_text.done", "text")
    assert len([e for e in events if e["type"] == "content"]) == 60
    assert without_text(events) == [usage(10, 62, 72, reasoning_tokens=0, cached_tokens=0), done("stop")]
    every_split(body, SSE, events, stride=97)


def test_responses_function_calls():
    body = read("responses_tools.sse")
    expected = [
        call("call_GXd80NWdsX8ng3xdeNLeA42o", "search", '{"query":"Detroit Tigers game time October 6, 2023"}'),
        call("call_qfdHN9tTntv02109c9RNnGGe", "weather", '{"city":"Detroit"}'),
        usage(92, 52, 144, reasoning_tokens=0, cached_tokens=0),
        done("stop"),
    ]
    every_split(body, SSE, expected, stride=31)


def test_responses_reasoning_summary_then_a_call():
    body = read("responses_reasoning_summary.sse")
    events = replay(body, SSE)
    assert joined(events, "reasoning") == server_done_text(body, "response.reasoning_summary_text.done", "text")
    assert without_text(events) == [
        call("call_nNlsgLEC5L6HTPLYNLGxYOrZ", "search", '{"query": "Detroit Tigers game time June 23 2025"}'),
        usage(78, 221, 299, reasoning_tokens=192, cached_tokens=0),
        done("stop"),
    ]
    every_split(body, SSE, events, stride=151)


def test_responses_error_event_ends_the_reply():
    every_split(read("responses_error.sse"), SSE, [{"type": "error", "message": "Foobar", "code": "unknown-error"}])


def test_responses_non_streamed_object():
    body = read("responses_object.json")
    text = json.loads(body)["output"][0]["content"][0]["text"]
    expected = [{"type": "content", "text": text}, usage(14, 50, 64, reasoning_tokens=0, cached_tokens=0), done("stop")]
    every_split(body, JSON, expected, stride=53)


# -- Ollama ---------------------------------------------------------------------------------------------


def test_ollama_chat_stream():
    body = read("ollama_chat.ndjson")
    events = replay(body, NDJSON)
    lines = [json.loads(line) for line in body.splitlines()]
    assert joined(events, "content") == "".join(line["message"]["content"] for line in lines)
    assert without_text(events) == [usage(37, 37), {"type": "tps", "tps": 37 / 1.511}, done("stop")]
    every_split(body, NDJSON, events)


def test_ollama_tool_calls_on_two_lines():
    expected = [
        call("call_0", "weather", '{"city":"Detroit"}'),
        call("call_1", "search", '{"query":"Detroit Tigers game time today"}'),
        usage(218, 306),
        {"type": "tps", "tps": 306 / 23.230435042},
        done("stop"),
    ]
    every_split(read("ollama_tools.ndjson"), NDJSON, expected)


def test_ollama_thinking_and_text_on_the_last_line():
    expected = [
        {"type": "reasoning", "text": "Let me think about that."},
        {"type": "reasoning", "text": "First, I will consider relevant factors."},
        {"type": "content", "text": "Here is the answer:"},
        {"type": "content", "text": " You should bring a light jacket."},
        {"type": "content", "text": " Have a great day!"},
        done("stop"),  # no counts on that line: no usage, no rate
    ]
    every_split(read("ollama_thinking.ndjson"), NDJSON, expected)


def test_ollama_generate_stream():
    events = replay(read("ollama_generate.ndjson"), NDJSON)
    assert joined(events, "content") == "That's a fantastic question!"
    assert without_text(events) == [done("stop")]
    every_split(read("ollama_generate.ndjson"), NDJSON, events)


def test_ollama_non_streamed_answer_with_a_tool_call():
    expected = [call("call_0", "get_weather", '{"city":"Tokyo"}'), usage(169, 18), {"type": "tps", "tps": 18 / 0.133293625}, done("stop")]
    every_split(read("ollama_chat_whole.json"), JSON, expected, stride=7)


def test_ollama_body_without_its_done_line_is_truncated():
    body = read("ollama_chat.ndjson").rsplit(b"\n", 2)[0] + b"\n"
    decoder = ReplyDecoder(NDJSON, "ollama")
    events, ended = decoder.feed(body)
    assert not ended and events
    with pytest.raises(ProtocolError, match="truncated"):
        decoder.close()


def test_ollama_last_line_without_its_line_end_still_counts():
    body = read("ollama_generate.ndjson").rstrip(b"\n")
    assert replay(body, NDJSON)[-1] == done("stop")


# -- over loopback, into chat ---------------------------------------------------------------------------

LOOPBACK = [
    ("openai_parallel_tool_calls.sse", SSE, "/v1/chat/completions", "openai"),
    ("vllm_tool_call.sse", SSE, "/v1/chat/completions", "openai"),
    ("llamacpp_tool_call.sse", SSE, "/v1/chat/completions", "openai"),
    ("responses_tools.sse", SSE, "/v1/responses", "responses"),
    ("responses_reasoning_summary.sse", SSE, "/v1/responses", "responses"),
    ("responses_object.json", JSON, "/v1/responses", "responses"),
    ("ollama_tools.ndjson", NDJSON, "/api/chat", "ollama"),
    ("ollama_thinking.ndjson", NDJSON, "/api/chat", "ollama"),
    ("ollama_chat_whole.json", JSON, "/api/chat", "ollama"),
]


def chat_json(url: str, dialect: str) -> dict:
    env = Environment(stdin=None, stdout=io.BytesIO(), stderr=io.StringIO(), environ={})
    renderer = make_renderer(env, OutputOptions("json", quiet=True))
    opts = HTTPOptions(retries=0, sleep=lambda s: None, environ={}, connect_timeout=5, read_timeout=5)
    try:
        run_http_chat(ChatTarget(url, dialect), ChatRequest(message="Hi", model_id="m"), opts, renderer)
    except StreamchatError as exc:
        raise AssertionError(f"exit {exc.exit_code}: {exc}") from None
    return json.loads(env.stdout.getvalue())


@pytest.mark.parametrize(("name", "content_type", "path", "dialect"), LOOPBACK)
@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_real_bodies_over_loopback_into_chat(name, content_type, path, dialect, framing):
    body = read(name)
    expected = replay(body, content_type)
    with raw_server(body, framing=framing, content_type=content_type, path=path, pieces=7, pause=0.001) as url:
        summary = chat_json(url, dialect)
    assert summary["done"] is True and summary["error"] is None
    assert summary["tool_calls"] == [{k: v for k, v in e.items() if k != "type"} for e in expected if e["type"] == "tool_call"]
    assert summary["content"] == joined(expected, "content")
    assert summary["reasoning"] == joined(expected, "reasoning")
    assert summary["finish_reason"] == expected[-1].get("finish_reason")


def test_responses_error_stream_exits_1_with_the_servers_message():
    with raw_server(read("responses_error.sse"), path="/v1/responses") as url:
        r = run_cli("chat", "--url", url, "-m", "m", "-o", "ndjson", "Hi")
    assert r.code == 1
    assert r.lines() == [{"type": "error", "message": "Foobar", "code": "unknown-error"}]


def test_ollama_stream_cut_before_its_done_line_exits_7():
    body = read("ollama_chat.ndjson").rsplit(b"\n", 2)[0] + b"\n"
    with raw_server(body, content_type=NDJSON, path="/api/chat") as url:
        r = run_cli("chat", "--url", url, "-m", "m", "-o", "ndjson", "Hi")
    assert r.code == 7 and "truncated" in r.stderr
    assert r.lines()[0] == {"type": "content", "text": "I"} and not any(e["type"] == "done" for e in r.lines())


def test_tool_call_in_text_mode_is_one_stderr_line():
    with raw_server(read("openai_parallel_tool_calls.sse")) as url:
        r = run_cli("chat", "--url", url, "-m", "m", "-q", "Hi")
    assert r.code == 0 and r.out == ""
    assert r.stderr.splitlines() == [
        'streamchat: tool call GetWeatherArgs({"city": "Edinburgh", "country": "GB", "units": "c"})',
        'streamchat: tool call get_stock_price({"ticker": "AAPL", "exchange": "NASDAQ"})',
    ]
