"""Tool calls in every dialect: assembled exactly from their pieces, one event a complete call
(docs/protocols.md#rule-tool-calls)."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamchat.client.http import HTTPOptions
from streamchat.env import Environment
from streamchat.protocol.body import ReplyDecoder
from streamchat.protocol.normalize import Normalizer, complete_answer
from streamchat.protocol.requests import ChatRequest
from streamchat.server.replies import plan_reply
from streamchat.server.tools import call_first_tool
from streamchat.session.http import ChatTarget, run_http_chat
from streamchat.session.output import OutputOptions, make_renderer


def units_json(text: str) -> str:
    """A JSON string literal of ``text`` as a UTF-16 language writes one: every code unit escaped, so a
    string cut between the two halves of a surrogate pair holds a lone, escaped half."""
    data = text.encode("utf-16-le", "surrogatepass")
    return '"' + "".join(f"\\u{int.from_bytes(data[i : i + 2], 'little'):04x}" for i in range(0, len(data), 2)) + '"'


def utf16_pieces(text: str, cuts: list[int]) -> list[str]:
    """``text`` cut at code-unit offsets (possibly between the halves of a pair)."""
    data = text.encode("utf-16-le", "surrogatepass")
    bounds = sorted({min(c, len(data) // 2) for c in cuts} | {0, len(data) // 2})
    return [data[2 * a : 2 * b].decode("utf-16-le", "surrogatepass") for a, b in zip(bounds, bounds[1:], strict=False)]


def sse(*datas: str, names: list[str] | None = None) -> bytes:
    out = []
    for i, data in enumerate(datas):
        name = f"event: {names[i]}\n" if names else ""
        out.append(f"{name}data: {data}\n\n")
    return "".join(out).encode()


def openai_stream(pieces: list[str], index: int = 0) -> bytes:
    head = '{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":' + str(index)
    first = head + ',"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null}]}'
    piece = '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":' + str(index) + ',"function":{"arguments":'
    parts = [piece + units_json(p) + '}}]},"finish_reason":null}]}' for p in pieces]
    return sse(first, *parts, '{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}', "[DONE]")


def anthropic_stream(pieces: list[str]) -> bytes:
    datas = [
        '{"type":"message_start","message":{"usage":{"input_tokens":3,"output_tokens":0}}}',
        '{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}',
        *(
            '{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":' + units_json(p) + "}}"
            for p in pieces
        ),
        '{"type":"content_block_stop","index":0}',
        '{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}',
        '{"type":"message_stop"}',
    ]
    return sse(*datas, names=[json.loads(d)["type"] for d in datas])


def responses_stream(pieces: list[str]) -> bytes:
    datas = [
        '{"type":"response.output_item.added","output_index":0,"item":{"id":"fc_1","type":"function_call","status":"in_progress","arguments":"","call_id":"call_1","name":"f"}}',
        *(
            '{"type":"response.function_call_arguments.delta","item_id":"fc_1","output_index":0,"delta":' + units_json(p) + "}"
            for p in pieces
        ),
        '{"type":"response.output_item.done","output_index":0,"item":{"id":"fc_1","type":"function_call","status":"completed","call_id":"call_1","name":"f"}}',
        '{"type":"response.completed","response":{"status":"completed","usage":null}}',
    ]
    return sse(*datas, names=[json.loads(d)["type"] for d in datas])


def events_of(body: bytes, content_type: str = "text/event-stream") -> list[dict]:
    decoder = ReplyDecoder(content_type, "openai")
    events, ended = decoder.feed(body)
    if not ended:
        events += decoder.close()
    return [e.as_dict() for e in events]


def calls_of(body: bytes) -> list[dict]:
    return [e for e in events_of(body) if e["type"] == "tool_call"]


ARGUMENTS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12).map(
    lambda t: json.dumps({"q": t}, ensure_ascii=False)
)


@settings(max_examples=60, deadline=None)
@given(ARGUMENTS, st.lists(st.integers(0, 40), max_size=6), st.sampled_from([openai_stream, anthropic_stream, responses_stream]))
def test_arguments_assembled_exactly_wherever_the_server_cuts_them(arguments, cuts, stream):
    """Cut anywhere in UTF-16 code units, a pair's halves in two fragments included: the same text."""
    pieces = utf16_pieces(arguments, cuts)
    calls = calls_of(stream(pieces))
    assert len(calls) == 1
    assert calls[0]["arguments"] == arguments
    assert calls[0]["name"] == "f"


@pytest.mark.parametrize("stream", [openai_stream, anthropic_stream, responses_stream])
def test_a_pair_split_between_fragments_is_one_character_again(stream):
    arguments = '{"emoji":"\U0001f600 ok"}'
    cut = arguments.encode("utf-16-le").index("\U0001f600".encode("utf-16-le")) // 2 + 1  # between the halves
    assert calls_of(stream(utf16_pieces(arguments, [cut])))[0]["arguments"] == arguments


def test_a_half_that_never_meets_its_partner_is_u_fffd():
    calls = calls_of(openai_stream(['{"a":"', "\ud83d", '"}']))
    assert calls[0]["arguments"] == '{"a":"\ufffd"}'


def test_content_with_a_lone_half_beside_a_tool_call_is_cleaned():
    body = sse(
        '{"choices":[{"index":0,"delta":{"content":"x\\ud800y"}}]}', '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}', "[DONE]"
    )
    assert events_of(body)[0] == {"type": "content", "text": "x\ufffdy"}


def test_openai_interleaved_parallel_calls_keep_their_order():
    chunk = '{"choices":[{"index":0,"delta":{"tool_calls":[%s]},"finish_reason":null}]}'
    body = sse(
        chunk % '{"index":0,"id":"a","function":{"name":"one","arguments":""}}',
        chunk % '{"index":1,"id":"b","function":{"name":"two","arguments":"{\\"y\\""}}',
        chunk % '{"index":0,"function":{"arguments":"{\\"x\\""}}',
        chunk % '{"index":1,"function":{"arguments":":2}"}},{"index":0,"function":{"arguments":":1}"}}',
        '{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}',
        "[DONE]",
    )
    assert events_of(body) == [
        {"type": "tool_call", "id": "a", "name": "one", "arguments": '{"x":1}'},
        {"type": "tool_call", "id": "b", "name": "two", "arguments": '{"y":2}'},
        {"type": "done", "finish_reason": "tool_calls"},
    ]


def test_openai_calls_numbered_zero_each_with_its_own_id_are_two_calls():
    chunk = '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"%s","function":{"name":"%s","arguments":"{}"}}]}}]}'
    body = sse(chunk % ("a", "one"), chunk % ("b", "two"), '{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}')
    assert [(c["id"], c["name"]) for c in calls_of(body)] == [("a", "one"), ("b", "two")]


def test_openai_an_id_repeated_differently_on_argument_pieces_stays_one_call():
    """Some servers send a fresh id on every piece of one call (no name with it): still one call."""
    body = sse(
        '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{\\"k\\""}}]}}]}',
        '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"z","function":{"arguments":":1}"}}]}}]}',
        '{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}',
    )
    assert calls_of(body) == [{"type": "tool_call", "id": "a", "name": "f", "arguments": '{"k":1}'}]


def test_openai_remaining_arguments_in_the_finish_chunk_are_part_of_the_call():
    """vLLM sends what was left of the arguments in the chunk that carries the finish reason."""
    body = sse(
        '{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"t","type":"function","index":0,"function":{"name":"f"}}]}}]}',
        '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"a\\": "}}]}}]}',
        '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]},"finish_reason":"tool_calls"}]}',
        "[DONE]",
    )
    assert calls_of(body) == [{"type": "tool_call", "id": "t", "name": "f", "arguments": '{"a": 1}'}]


def test_openai_done_without_a_finish_reason_still_gives_the_pending_call():
    body = sse('{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":"{}"}}]}}]}', "[DONE]")
    assert events_of(body) == [{"type": "tool_call", "id": "t", "name": "f", "arguments": "{}"}, {"type": "done"}]


def test_openai_role_chunk_with_empty_content_and_a_call_is_not_taken_for_a_token():
    """Ollama's /v1 sends the whole call beside "content": "": the token fast path must not swallow it."""
    chunk = (
        b'data: {"id":"chatcmpl-18","object":"chat.completion.chunk","created":1744446075,"model":"qwen2.5-coder:7b-instruct-q8_0",'
        b'"system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"%s"%s},"finish_reason":%s}]}\n\n'
    )
    body = (
        chunk % (b"Hi", b"", b"null")
        + chunk
        % (
            b"",
            b',"tool_calls":[{"id":"call_w","index":0,"type":"function","function":{"name":"run","arguments":"{\\"c\\":\\"ls\\"}"}}]',
            b"null",
        )
        + chunk % (b"", b"", b'"tool_calls"')
        + b"data: [DONE]\n\n"
    )
    assert events_of(body) == [
        {"type": "content", "text": "Hi"},
        {"type": "tool_call", "id": "call_w", "name": "run", "arguments": '{"c":"ls"}'},
        {"type": "done", "finish_reason": "tool_calls"},
    ]


def test_anthropic_tool_use_without_input_deltas_is_its_start_input():
    datas = [
        '{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_2","name":"now","input":{}}}',
        '{"type":"content_block_stop","index":1}',
        '{"type":"message_stop"}',
    ]
    assert events_of(sse(*datas, names=[json.loads(d)["type"] for d in datas]))[0]["arguments"] == "{}"


def test_anthropic_server_tool_blocks_are_no_calls_for_the_client():
    """Anthropic's web search streams a ``server_tool_use`` block with ``input_json_delta`` pieces, then
    its result block; the server runs that tool. The shape of Anthropic's web search tool streaming
    example, with a client ``tool_use`` block after it: only that one is a call."""
    datas = [
        '{"type":"message_start","message":{"id":"msg_abc123","type":"message","usage":{"input_tokens":5,"output_tokens":1}}}',
        '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
        '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me search."}}',
        '{"type":"content_block_stop","index":0}',
        '{"type":"content_block_start","index":1,"content_block":{"type":"server_tool_use","id":"srvtoolu_xyz789","name":"web_search"}}',
        '{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}',
        '{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"query\\":\\"quantum computing 2025\\"}"}}',
        '{"type":"content_block_stop","index":1}',
        '{"type":"content_block_start","index":2,"content_block":{"type":"web_search_tool_result","tool_use_id":"srvtoolu_xyz789",'
        '"content":[{"type":"web_search_result","title":"Quantum","url":"https://example.com"}]}}',
        '{"type":"content_block_stop","index":2}',
        '{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_1","name":"save","input":{}}}',
        '{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\\"note\\":1}"}}',
        '{"type":"content_block_stop","index":3}',
        '{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9,"server_tool_use":{"web_search_requests":1}}}',
        '{"type":"message_stop"}',
    ]
    body = sse(*datas, names=[json.loads(d)["type"] for d in datas])
    expected = [
        {"type": "content", "text": "Let me search."},
        {"type": "tool_call", "id": "toolu_1", "name": "save", "arguments": '{"note":1}'},
        {"type": "usage", "input_tokens": 5, "output_tokens": 9, "total_tokens": 14},
        {"type": "done", "finish_reason": "tool_use"},
    ]
    assert events_of(body) == expected
    for cut in range(len(body) + 1):
        decoder = ReplyDecoder("text/event-stream", "anthropic")
        events = decoder.feed(body[:cut])[0] + decoder.feed(body[cut:])[0]
        assert [e.as_dict() for e in events] == expected, cut


def test_responses_arguments_done_wins_over_the_fragments():
    datas = [
        '{"type":"response.output_item.added","output_index":3,"item":{"id":"fc_9","type":"function_call","call_id":"c9","name":"f","arguments":""}}',
        '{"type":"response.function_call_arguments.delta","item_id":"fc_9","delta":"{\\"a\\":"}',  # no output_index: the item id finds it
        '{"type":"response.function_call_arguments.done","item_id":"fc_9","output_index":3,"arguments":"{\\"a\\":1}"}',
        '{"type":"response.output_item.done","output_index":3,"item":{"id":"fc_9","type":"function_call","call_id":"c9","name":"f","arguments":"{\\"a\\":1}"}}',
        '{"type":"response.completed","response":{"usage":{"input_tokens":1,"output_tokens":2}}}',
    ]
    assert events_of(sse(*datas, names=[json.loads(d)["type"] for d in datas])) == [
        {"type": "tool_call", "id": "c9", "name": "f", "arguments": '{"a":1}'},
        {"type": "usage", "input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
        {"type": "done", "finish_reason": "stop"},
    ]


def test_responses_parallel_calls_open_at_once_are_each_written_once():
    """Two function_call items open together, their deltas interleaved; each is closed by
    ``arguments.done`` and then again by ``output_item.done`` while the other is still open."""
    datas = [
        '{"type":"response.output_item.added","output_index":0,"item":{"id":"fc_a","type":"function_call","call_id":"call_A","name":"get_weather","arguments":""}}',
        '{"type":"response.output_item.added","output_index":1,"item":{"id":"fc_b","type":"function_call","call_id":"call_B","name":"get_time","arguments":""}}',
        '{"type":"response.function_call_arguments.delta","item_id":"fc_a","output_index":0,"delta":"{\\"city\\":"}',
        '{"type":"response.function_call_arguments.delta","item_id":"fc_b","output_index":1,"delta":"{\\"tz\\":"}',
        '{"type":"response.function_call_arguments.delta","item_id":"fc_a","output_index":0,"delta":"\\"Oslo\\"}"}',
        '{"type":"response.function_call_arguments.done","item_id":"fc_a","output_index":0,"arguments":"{\\"city\\":\\"Oslo\\"}"}',
        '{"type":"response.output_item.done","output_index":0,"item":{"id":"fc_a","type":"function_call","call_id":"call_A","name":"get_weather","arguments":"{\\"city\\":\\"Oslo\\"}"}}',
        '{"type":"response.function_call_arguments.delta","item_id":"fc_b","output_index":1,"delta":"\\"UTC\\"}"}',
        '{"type":"response.function_call_arguments.done","item_id":"fc_b","output_index":1,"arguments":"{\\"tz\\":\\"UTC\\"}"}',
        '{"type":"response.output_item.done","output_index":1,"item":{"id":"fc_b","type":"function_call","call_id":"call_B","name":"get_time","arguments":"{\\"tz\\":\\"UTC\\"}"}}',
        '{"type":"response.completed","response":{"usage":{"input_tokens":1,"output_tokens":2}}}',
    ]
    assert calls_of(sse(*datas, names=[json.loads(d)["type"] for d in datas])) == [
        {"type": "tool_call", "id": "call_A", "name": "get_weather", "arguments": '{"city":"Oslo"}'},
        {"type": "tool_call", "id": "call_B", "name": "get_time", "arguments": '{"tz":"UTC"}'},
    ]


def test_responses_call_sent_only_as_a_finished_item_is_written():
    datas = [
        '{"type":"response.output_item.done","output_index":0,"item":{"id":"fc_1","type":"function_call","call_id":"call_1","name":"f","arguments":"{\\"a\\":1}"}}',
        '{"type":"response.completed","response":{"usage":{"input_tokens":1,"output_tokens":2}}}',
    ]
    assert calls_of(sse(*datas, names=[json.loads(d)["type"] for d in datas])) == [
        {"type": "tool_call", "id": "call_1", "name": "f", "arguments": '{"a":1}'}
    ]


def test_non_streamed_answers_carry_their_calls():
    openai = {
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
                },
                "finish_reason": "tool_calls",
            }
        ]
    }
    anthropic = {
        "type": "message",
        "content": [{"type": "tool_use", "id": "toolu", "name": "g", "input": {"x": [1]}}],
        "stop_reason": "tool_use",
    }
    assert [e.as_dict() for e in complete_answer(openai)] == [
        {"type": "tool_call", "id": "c", "name": "f", "arguments": "{}"},
        {"type": "done", "finish_reason": "tool_calls"},
    ]
    assert [e.as_dict() for e in complete_answer(anthropic)] == [
        {"type": "tool_call", "id": "toolu", "name": "g", "arguments": '{"x":[1]}'},
        {"type": "done", "finish_reason": "tool_use"},
    ]


def test_ollama_calls_keep_their_ids_and_number_the_others_across_the_reply():
    norm = Normalizer("ollama")
    line = '{"model":"m","message":{"role":"assistant","content":"","tool_calls":%s},"done":false}'
    first = norm.line(line % '[{"function":{"name":"a","arguments":{"x":1}}},{"id":"own","function":{"name":"b","arguments":{}}}]')
    second = norm.line(line % '[{"function":{"index":1,"name":"c","arguments":{"y":"\\u00e9"}}}]')
    assert [e.as_dict() for e in first + second] == [
        {"type": "tool_call", "id": "call_0", "name": "a", "arguments": '{"x":1}'},
        {"type": "tool_call", "id": "own", "name": "b", "arguments": "{}"},
        {"type": "tool_call", "id": "call_1", "name": "c", "arguments": '{"y":"é"}'},
    ]


# -- the reference server's tool calls, in every dialect, through chat ----------------------------------

FUNCTION = {
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}},
}
TOOLS = {
    "openai": ("/v1/chat/completions", [{"type": "function", "function": FUNCTION}]),
    "anthropic": ("/v1/messages", [{"name": FUNCTION["name"], "input_schema": FUNCTION["parameters"]}]),
    "responses": ("/v1/responses", [{"type": "function", **FUNCTION}]),
    "ollama": ("/api/chat", [{"type": "function", "function": FUNCTION}]),
}


def run_chat(url: str, dialect: str, mode: str, tools: list, message: str) -> tuple[str, str]:
    env = Environment(stdin=None, stdout=io.BytesIO(), stderr=io.StringIO(), environ={})
    renderer = make_renderer(env, OutputOptions(mode, quiet=True))
    opts = HTTPOptions(retries=0, sleep=lambda s: None, environ={}, connect_timeout=5, read_timeout=5)
    run_http_chat(ChatTarget(url, dialect), ChatRequest(message=message, model_id="m", params={"tools": tools}), opts, renderer)
    return env.stdout.getvalue().decode(), env.stderr.getvalue()


@pytest.mark.parametrize("dialect", list(TOOLS))
def test_reference_server_tool_call_in_every_dialect_and_output_mode(server, dialect):
    path, tools = TOOLS[dialect]
    message = "weather in Paris \U0001f600"
    expected = call_first_tool(tools, message)
    assert expected is not None and len(expected.pieces) > 1  # it does stream in pieces
    out, _ = run_chat(server.url + path, dialect, "ndjson", tools, message)
    calls = [e for e in map(json.loads, out.splitlines()) if e["type"] == "tool_call"]
    assert len(calls) == 1 and calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == expected.parsed  # Ollama's arrives as an object: same value
    if dialect != "ollama":
        assert calls[0]["arguments"] == expected.arguments  # assembled from its pieces, exactly
    summary = json.loads(run_chat(server.url + path, dialect, "json", tools, message)[0])
    assert summary["tool_calls"] == [{k: v for k, v in calls[0].items() if k != "type"}]
    out, err = run_chat(server.url + path, dialect, "text", tools, message)
    assert err.splitlines()[-1] == f"streamchat: tool call get_weather({calls[0]['arguments']})"
    assert out == "" and plan_reply(message, "m", tools=tools).content == []  # a call, no text


def test_no_tools_means_an_empty_list_in_json(server):
    summary = json.loads(run_chat(server.url + "/v1/chat/completions", "openai", "json", [], "Hi")[0])
    assert summary["tool_calls"] == []


def test_the_stderr_line_is_one_harmless_line():
    norm_events = calls_of(openai_stream(['{"a":"\\u001b[2J\\n', '\u202e"}']))
    env = Environment(stdin=None, stdout=io.BytesIO(), stderr=io.StringIO(), environ={})
    renderer = make_renderer(env, OutputOptions("text"))
    from streamchat.events import ToolCall
    from streamchat.session.reply import Reply

    renderer.begin(0.0)
    renderer.emit(Reply(0.0), [ToolCall(**{k: v for k, v in norm_events[0].items() if k != "type"})], 0.0)
    renderer.flush()
    line = env.stderr.getvalue()
    assert line.count("\n") == 1 and "\x1b" not in line and "\u202e" not in line
    assert line.startswith("streamchat: tool call f(")


def test_fragments_of_raw_utf8_split_across_every_read():
    """Characters sent as raw UTF-8 (not escaped), the body fed one byte a read: every character is cut."""
    arguments = '{"city":"Zürich 😀","note":"日本"}'
    pieces = [arguments[i : i + 3] for i in range(0, len(arguments), 3)]
    chunk = '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":%s}}]}}]}'
    body = sse(
        '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":""}}]}}]}',
        *(chunk.replace("%s", json.dumps(p, ensure_ascii=False)) for p in pieces),
        '{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}',
    )
    decoder = ReplyDecoder("text/event-stream", "openai")
    events = []
    for i in range(len(body)):
        events += decoder.feed(body[i : i + 1])[0]
    events += decoder.close()
    assert [e.as_dict() for e in events][0] == {"type": "tool_call", "id": "c", "name": "f", "arguments": arguments}


@pytest.mark.parametrize("mode", ["text", "ndjson", "json"])
def test_a_token_echoed_in_a_tool_call_is_scrubbed_in_every_mode(mode):
    from streamchat.events import ToolCall
    from streamchat.secrets import Scrubber
    from streamchat.session.reply import Reply

    env = Environment(stdin=None, stdout=io.BytesIO(), stderr=io.StringIO(), environ={})
    renderer = make_renderer(env, OutputOptions(mode), Scrubber("s3cret-token-value"))
    reply = Reply(0.0)
    renderer.begin(0.0)
    renderer.emit(reply, [ToolCall("call_s3cret-token-value", "send", '{"key":"s3cret-token-value"}')], 0.0)
    renderer.end(reply)
    written = env.stdout.getvalue().decode() + env.stderr.getvalue()
    assert "s3cret-token-value" not in written and "send" in written
