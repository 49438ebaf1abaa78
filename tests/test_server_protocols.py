"""The reference server's newer protocols at the byte level: the OpenAI Responses API, Ollama's native
API, and tool calls in each dialect, read by a raw client and (Responses, chat) by the official SDK."""

from __future__ import annotations

import json
import re

import pytest
from conftest import expected_reply
from server_clients import connect, exchange, post_json, read_head, request_bytes

from streamchat.server.replies import plan_reply

TOOLS_OPENAI = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city"]},
        },
    },
    {"type": "function", "function": {"name": "never_called", "parameters": {"type": "object", "properties": {}}}},
]
TOOLS_RESPONSES = [{"type": "function", **TOOLS_OPENAI[0]["function"]}]
TOOLS_ANTHROPIC = [{"name": "get_weather", "input_schema": TOOLS_OPENAI[0]["function"]["parameters"]}]
ASK = "weather in Paris"
ARGUMENTS = {"city": ASK, "days": 1}
MESSAGES = [{"role": "user", "content": "Hi"}]


def sse_events(body: bytes) -> list[tuple[str | None, dict | str]]:
    """(event name, data) of every SSE event; data is parsed JSON unless it is ``[DONE]``."""
    events = []
    for block in body.decode().split("\n\n"):
        if not block.strip():
            continue
        name = None
        data = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        text = "\n".join(data)
        events.append((name, text if text == "[DONE]" else json.loads(text)))
    return events


def ndjson(body: bytes) -> list[dict]:
    assert body.endswith(b"\n")
    return [json.loads(line) for line in body.split(b"\n") if line]


# -- the OpenAI Responses API ---------------------------------------------------------------------


def test_responses_stream_is_the_documented_event_sequence(server):
    status, headers, body = post_json(server.url, "/v1/responses", {"model": "m", "input": "Hi", "stream": True})
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    events = sse_events(body)
    assert all(name == data["type"] for name, data in events)  # every event is named after its type
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    kinds = [name for name, _ in events]
    tokens = plan_reply("Hi", "m", reply_tokens=12).content
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * len(tokens),
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    created, added, part = events[0][1], events[2][1], events[3][1]
    assert created["response"]["status"] == "in_progress" and created["response"]["output"] == []
    item_id = added["item"]["id"]
    assert added["item"] == {"id": item_id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
    assert part["part"] == {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    deltas = [data for name, data in events if name == "response.output_text.delta"]
    assert all(d["item_id"] == item_id and d["output_index"] == 0 and d["content_index"] == 0 for d in deltas)
    assert "".join(d["delta"] for d in deltas) == expected_reply("Hi", "m") == events[-4][1]["text"]
    completed = events[-1][1]["response"]
    assert completed["status"] == "completed"
    assert completed["output"][0]["content"][0]["text"] == expected_reply("Hi", "m")
    assert completed["usage"] == {
        "input_tokens": 1,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 12,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 13,
    }


def test_responses_reasoning_model_streams_a_reasoning_item_first(server):
    body = post_json(server.url, "/v1/responses", {"model": "demo-reasoner", "input": [{"role": "user", "content": "Hi"}], "stream": True})[
        2
    ]
    events = sse_events(body)
    plan = plan_reply("Hi", "demo-reasoner", reply_tokens=12)
    reasoning = [d["delta"] for n, d in events if n == "response.reasoning_text.delta"]
    assert reasoning == plan.reasoning
    items = [d["item"] for n, d in events if n == "response.output_item.done"]
    assert [i["type"] for i in items] == ["reasoning", "message"]
    assert items[0]["content"] == [{"type": "reasoning_text", "text": "".join(plan.reasoning)}]
    assert {d["output_index"] for n, d in events if n == "response.output_text.delta"} == {1}
    usage = events[-1][1]["response"]["usage"]
    assert usage["output_tokens_details"]["reasoning_tokens"] == len(plan.reasoning)


def test_responses_function_call_and_incomplete_and_whole(server):
    body = post_json(server.url, "/v1/responses", {"model": "m", "input": ASK, "tools": TOOLS_RESPONSES, "stream": True})[2]
    events = sse_events(body)
    added = next(d for n, d in events if n == "response.output_item.added")["item"]
    assert added["type"] == "function_call" and added["name"] == "get_weather" and added["arguments"] == ""
    assert added["call_id"].startswith("call_") and added["id"].startswith("fc_")
    deltas = [d["delta"] for n, d in events if n == "response.function_call_arguments.delta"]
    assert len(deltas) > 2 and json.loads("".join(deltas)) == ARGUMENTS
    done = next(d for n, d in events if n == "response.function_call_arguments.done")
    assert done["arguments"] == "".join(deltas) and done["name"] == "get_weather"
    assert events[-1][1]["response"]["output"][0]["status"] == "completed"
    cut = sse_events(post_json(server.url, "/v1/responses", {"model": "m", "input": "Hi", "max_output_tokens": 3, "stream": True})[2])
    assert cut[-1][0] == "response.incomplete"
    assert cut[-1][1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    status, _, whole = post_json(server.url, "/v1/responses", {"model": "m", "input": "Hi"})
    answer = json.loads(whole)
    assert status == 200 and answer["object"] == "response" and answer["status"] == "completed"
    assert answer["output"][0]["content"][0]["text"] == expected_reply("Hi", "m")
    assert post_json(server.url, "/v1/responses", {"model": "m"})[0] == 400


def test_the_openai_sdk_reads_the_responses_stream(server):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    types = openai.types.responses
    events = list(client.responses.create(model="demo-reasoner", input="Hi", stream=True))
    assert isinstance(events[0], types.ResponseCreatedEvent) and isinstance(events[-1], types.ResponseCompletedEvent)
    assert any(isinstance(e, types.ResponseReasoningTextDeltaEvent) for e in events)
    assert any(isinstance(e, types.ResponseTextDeltaEvent) for e in events)
    # the SDK's stream helper rebuilds the response from the events and fails on any inconsistency
    with client.responses.stream(model="m", input="Hi") as stream:
        final = stream.get_final_response()
    assert final.output_text == expected_reply("Hi", "m") and final.usage.output_tokens == 12
    with client.responses.stream(model="m", input=ASK, tools=TOOLS_RESPONSES) as stream:
        call = stream.get_final_response().output[0]
    assert call.type == "function_call" and call.name == "get_weather" and json.loads(call.arguments) == ARGUMENTS
    assert client.responses.create(model="m", input="Hi").output_text == expected_reply("Hi", "m")


# -- tool calls in the chat dialects ------------------------------------------------------------


def test_openai_chat_tool_call_streams_in_pieces(server):
    events = sse_events(
        post_json(
            server.url,
            "/v1/chat/completions",
            {"model": "m", "messages": [{"role": "user", "content": ASK}], "tools": TOOLS_OPENAI, "stream": True},
        )[2]
    )
    assert events[-1] == (None, "[DONE]")
    deltas = [data["choices"][0]["delta"] for _, data in events[:-1]]
    assert deltas[0] == {"role": "assistant", "content": None}
    first = deltas[1]["tool_calls"][0]
    assert first["index"] == 0 and first["type"] == "function" and first["id"].startswith("call_")
    assert first["function"] == {"name": "get_weather", "arguments": ""}
    pieces = [d["tool_calls"][0]["function"]["arguments"] for d in deltas[2:] if d]
    assert len(pieces) > 2 and json.loads("".join(pieces)) == ARGUMENTS
    assert events[-2][1]["choices"][0]["finish_reason"] == "tool_calls"
    whole = json.loads(
        post_json(
            server.url, "/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": ASK}], "tools": TOOLS_OPENAI}
        )[2]
    )
    message = whole["choices"][0]["message"]
    assert message["content"] is None and json.loads(message["tool_calls"][0]["function"]["arguments"]) == ARGUMENTS


def test_the_openai_sdk_assembles_the_chat_tool_call(server):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": ASK}], tools=TOOLS_OPENAI) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls" and json.loads(choice.message.tool_calls[0].function.arguments) == ARGUMENTS


def test_anthropic_tool_use_block_with_input_json_deltas(server):
    body = post_json(
        server.url,
        "/v1/messages",
        {"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": ASK}], "tools": TOOLS_ANTHROPIC, "stream": True},
    )[2]
    events = sse_events(body)
    start = next(d for n, d in events if n == "content_block_start")
    assert start["content_block"]["type"] == "tool_use" and start["content_block"]["input"] == {}
    assert start["content_block"]["id"].startswith("toolu_") and start["content_block"]["name"] == "get_weather"
    pieces = [d["delta"]["partial_json"] for n, d in events if n == "content_block_delta"]
    assert pieces[0] == "" and len(pieces) > 3 and json.loads("".join(pieces)) == ARGUMENTS
    assert next(d for n, d in events if n == "message_delta")["delta"]["stop_reason"] == "tool_use"
    assert [n for n, _ in events][-3:] == ["content_block_stop", "message_delta", "message_stop"]
    whole = json.loads(
        post_json(server.url, "/v1/messages", {"model": "m", "messages": [{"role": "user", "content": ASK}], "tools": TOOLS_ANTHROPIC})[2]
    )
    assert whole["stop_reason"] == "tool_use" and whole["content"][0]["input"] == ARGUMENTS


# -- Ollama's native API ----------------------------------------------------------------------------


def test_ollama_chat_is_ndjson_with_metrics_last(server):
    status, headers, body = post_json(server.url, "/api/chat", {"model": "m", "messages": MESSAGES})  # streams by default
    assert status == 200 and headers["content-type"] == "application/x-ndjson"
    lines = ndjson(body)
    assert all(set(line) >= {"model", "created_at", "message", "done"} for line in lines)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", line["created_at"]) for line in lines)
    assert [line["done"] for line in lines] == [False] * (len(lines) - 1) + [True]
    assert "".join(line["message"]["content"] for line in lines) == expected_reply("Hi", "m")
    last = lines[-1]
    assert last["done_reason"] == "stop" and last["prompt_eval_count"] == 1 and last["eval_count"] == 12
    for key in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert isinstance(last[key], int) and last[key] > 0
    whole = json.loads(post_json(server.url, "/api/chat", {"model": "m", "messages": MESSAGES, "stream": False})[2])
    assert whole["done"] is True and whole["message"]["content"] == expected_reply("Hi", "m")


def test_ollama_generate_thinking_and_tool_calls(server):
    lines = ndjson(post_json(server.url, "/api/generate", {"model": "demo-reasoner", "prompt": "Hi"})[2])
    plan = plan_reply("Hi", "demo-reasoner", reply_tokens=12)
    assert [line["thinking"] for line in lines if line.get("thinking")] == plan.reasoning
    assert "".join(line["response"] for line in lines) == "".join(plan.content)
    assert lines[-1]["eval_count"] == plan.output_tokens
    lines = ndjson(
        post_json(server.url, "/api/chat", {"model": "m", "messages": [{"role": "user", "content": ASK}], "tools": TOOLS_OPENAI})[2]
    )
    calls = [line["message"]["tool_calls"] for line in lines if "tool_calls" in line["message"]]
    assert len(calls) == 1 and calls[0][0]["function"]["name"] == "get_weather"
    assert calls[0][0]["function"]["arguments"] == ARGUMENTS  # an object, not JSON text
    assert lines[-1]["done_reason"] == "stop"
    assert json.loads(post_json(server.url, "/api/generate", {"model": "m"})[2]) == {"error": "prompt must be a string"}


def test_ollama_tags_lists_the_models(server):
    status, _, body = exchange(server.url, "GET", "/api/tags")
    models = json.loads(body)["models"]
    assert status == 200 and [m["name"] for m in models] == ["deepseek/deepseek-chat", "demo-reasoner", "streamchat-demo"]
    assert all(m["digest"].startswith("sha256:") and "details" in m for m in models)


# -- the fault knobs on every new endpoint ---------------------------------------------------------

NEW_ENDPOINTS = [
    ("/v1/responses", {"model": "m", "input": "Hi", "stream": True}),
    ("/api/chat", {"model": "m", "messages": MESSAGES}),
    ("/api/generate", {"model": "m", "prompt": "Hi"}),
]


def faulted(server, path: str, body: dict, spec: str, stall: float = 10.0) -> tuple[int, dict, bytes]:
    """The raw answer to a request carrying ``spec``, read until it is complete, the server cuts it,
    or nothing came for ``stall`` seconds."""
    with connect(server.url) as sock:
        sock.sendall(
            request_bytes("POST", path, json.dumps(body).encode(), {"X-Streamchat-Fault": spec, "Content-Type": "application/json"})
        )
        status, headers, raw = read_head(sock)
        sock.settimeout(stall)

        def complete() -> bool:
            return raw.endswith(b"0\r\n\r\n") if "content-length" not in headers else len(raw) >= int(headers["content-length"])

        try:
            while not complete() and (chunk := sock.recv(65536)):
                raw += chunk
        except TimeoutError:
            pass
        return status, headers, raw


def items_in(path: str, raw: bytes) -> int:
    """How many content items a (possibly cut) raw chunked body carries."""
    return raw.count(b"response.output_text.delta\n") if path == "/v1/responses" else raw.count(b'"done":false')


@pytest.mark.parametrize("path, body", NEW_ENDPOINTS, ids=[p for p, _ in NEW_ENDPOINTS])
def test_fault_knobs_on_the_new_endpoints(server, path, body):
    status, _, raw = faulted(server, path, body, "drop-after=2")
    assert status == 200 and items_in(path, raw) == 2 and not raw.endswith(b"0\r\n\r\n")  # cut, no clean end
    status, _, raw = faulted(server, path, body, "error-after=2")
    assert items_in(path, raw) == 2 and b"injected error after 2 tokens" in raw and raw.endswith(b"0\r\n\r\n")
    assert faulted(server, path, body, "status=503;retry-after=1")[0] == 503
    status, headers, raw = faulted(server, path, body, "garbage")
    assert status == 200 and b"not json {{{" in raw.split(b"\r\n", 2)[1]  # the first bytes of the body
    assert len(faulted(server, path, body, "oversize=150000")[2]) > 150000
    status, headers, _ = faulted(server, path, body, "content-type=text/html")
    assert status == 200 and headers["content-type"].startswith("text/html")
    status, headers, raw = faulted(server, path, body, "empty")
    assert status == 200 and raw in (b"", b"0\r\n\r\n")
    status, headers, raw = faulted(server, path, body, "json")
    assert status == 200 and headers["content-type"] == "application/json" and json.loads(raw)
    assert items_in(path, faulted(server, path, body, "stall-after=2", stall=1.0)[2]) == 2  # then nothing for a second


def test_the_first_tool_is_read_from_every_dialects_shape():
    from streamchat.server.tools import call_first_tool, tool_spec

    schema = {
        "type": "object",
        "properties": {"unit": {"type": "string", "enum": ["C", "F"]}, "at": {"type": "object", "properties": {"n": {"type": "number"}}}},
    }
    shapes = [
        {"type": "function", "function": {"name": "f", "parameters": schema}},  # OpenAI chat, Ollama
        {"type": "function", "name": "f", "parameters": schema},  # Responses
        {"name": "f", "input_schema": schema},  # Anthropic
    ]
    assert all(tool_spec(shape) == ("f", schema) for shape in shapes)
    calls = [call_first_tool([{"no": "name"}, shape], "Hi") for shape in shapes]
    assert all(call == calls[0] for call in calls)  # the same call whichever API offered the tool
    assert calls[0].parsed == {"unit": "C", "at": {"n": 1.5}} and "".join(calls[0].pieces) == calls[0].arguments
    assert call_first_tool([], "Hi") is None and call_first_tool(["junk", {"name": ""}], "Hi") is None


CALLED = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
RESULT = '{"temperature": 21}'
ANSWERED_TOOL = {
    "openai": (
        "/v1/chat/completions",
        {
            "messages": [
                {"role": "user", "content": ASK},
                {"role": "assistant", "tool_calls": [CALLED]},
                {"role": "tool", "tool_call_id": "call_1", "content": RESULT},
            ],
            "tools": TOOLS_OPENAI,
            "stream": True,
        },
    ),
    "anthropic": (
        "/v1/messages",
        {
            "messages": [
                {"role": "user", "content": ASK},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
                },
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": RESULT}]},
            ],
            "tools": TOOLS_ANTHROPIC,
            "max_tokens": 64,
            "stream": True,
        },
    ),
    "responses": (
        "/v1/responses",
        {
            "input": [
                {"role": "user", "content": ASK},
                {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
                {"type": "function_call_output", "call_id": "call_1", "output": RESULT},
            ],
            "tools": TOOLS_RESPONSES,
            "stream": True,
        },
    ),
    "ollama": (
        "/api/chat",
        {
            "messages": [
                {"role": "user", "content": ASK},
                {"role": "assistant", "content": "", "tool_calls": [CALLED]},
                {"role": "tool", "content": RESULT},
            ],
            "tools": TOOLS_OPENAI,
        },
    ),
}


@pytest.mark.parametrize("dialect", list(ANSWERED_TOOL))
def test_a_conversation_ending_with_a_tool_result_is_answered_in_text(server, dialect):
    # A front end that runs the tools it offers (Open WebUI offers its own on every chat) sends the result
    # back with the tools still offered: calling one again would loop until the front end gives up.
    path, body = ANSWERED_TOOL[dialect]
    status, _, answer = post_json(server.url, path, {"model": "m", **body})
    assert status == 200
    text = answer.decode()
    call_marker = {"openai": '"tool_calls"', "anthropic": '"tool_use"', "responses": '"function_call"', "ollama": '"tool_calls"'}
    assert call_marker[dialect] not in text
    text_marker = {
        "openai": '"delta":{"content":"',
        "anthropic": '"text_delta"',
        "responses": "response.output_text.delta",
        "ollama": '"content":"',
    }
    assert text_marker[dialect] in text  # a text reply instead
