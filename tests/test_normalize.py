"""The normaliser (SPEC §4, §12) on the byte streams real servers send."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamchat.errors import ProtocolError
from streamchat.events import Content, Done, Error, Reasoning, Tps, Usage
from streamchat.protocol.normalize import Normalizer, complete_answer
from streamchat.protocol.sse import decode_all

# Copies of ../shared/captures/open-webui/ files: what a live Open WebUI 0.12.4 sent.
CAPTURES = Path(__file__).resolve().parent / "data"


def normalize(payload: bytes, dialect: str = "streamchat") -> list:
    """Events of a whole stream, ending at the first error or done; a clean end adds a done after a finish reason."""
    norm = Normalizer(dialect)
    out = []
    for message in decode_all(payload):
        for event in norm.sse(message.event, message.data):
            out.append(event)
            if isinstance(event, (Error, Done)):
                return out
    done = norm.end_of_stream()
    return out + ([done] if done else [])


def sse(*objs, event: str | None = None) -> bytes:
    out = b""
    for obj in objs:
        data = obj if isinstance(obj, str) else json.dumps(obj)
        out += (f"event: {event}\n" if event else "").encode() + b"data: " + data.encode() + b"\n\n"
    return out


# -- rule 1: our own named events --------------------------------------------------------------


def test_named_events_seed_http_streaming():
    payload = (
        b'event: content\ndata: {"text": "Hello"}\n\n'
        b'event: content\ndata: {"text": "!"}\n\n'
        b'event: reasoning\ndata: {"text": "The user greeted me..."}\n\n'
        b'event: tps\ndata: {"tps": 45.2}\n\n'
        b'event: usage\ndata: {"input_tokens": 10, "output_tokens": 5}\n\n'
        b"event: done\ndata: {}\n\n"
    )
    assert normalize(payload) == [
        Content("Hello"),
        Content("!"),
        Reasoning("The user greeted me..."),
        Tps(45.2),
        Usage(10, 5, 15),
        Done(None),
    ]


def test_named_error_with_code_and_nothing_after():
    payload = b'event: content\ndata: {"text": "a"}\n\nevent: error\ndata: {"message": "Rate limit exceeded", "code": "rate_limit"}\n\nevent: content\ndata: {"text": "b"}\n\n'
    assert normalize(payload) == [Content("a"), Error("Rate limit exceeded", "rate_limit")]


def test_usage_keeps_server_total_and_optional_fields():
    ev = normalize(
        b'event: usage\ndata: {"input_tokens": 3, "output_tokens": 4, "total_tokens": 9, "reasoning_tokens": 0, "cached_tokens": 2}\n\n'
    )[0]
    assert ev.as_dict() == {
        "type": "usage",
        "input_tokens": 3,
        "output_tokens": 4,
        "total_tokens": 9,
        "reasoning_tokens": 0,
        "cached_tokens": 2,
    }


def test_empty_content_is_never_an_event():
    assert normalize(b'event: content\ndata: {"text": ""}\n\nevent: done\ndata: {}\n\n') == [Done()]


# -- rules 2, 3: OpenAI-compatible servers -----------------------------------------------------

OPENAI = (
    b'data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}\n\n'
    b'data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n'
    b'data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" there"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n'
    b'data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n\n'
    b'data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}}}\n\n'
    b"data: [DONE]\n\n"
)


def test_openai_stream():
    assert normalize(OPENAI, "openai") == [
        Content("Hello"),
        Content(" there"),
        Usage(9, 2, 11, reasoning_tokens=0, cached_tokens=0),
        Done("stop"),
    ]


def test_vllm_reasoning_content_and_reasoning():
    payload = sse(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "model": "m",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}],
        },
        {"id": "c", "choices": [{"index": 0, "delta": {"reasoning_content": "Think"}, "finish_reason": None}]},
        {"id": "c", "choices": [{"index": 0, "delta": {"reasoning": " more"}, "finish_reason": None}]},
        {"id": "c", "choices": [{"index": 0, "delta": {"content": "Answer"}, "finish_reason": "length"}]},
        {"id": "c", "choices": [], "usage": {"prompt_tokens": 4, "total_tokens": 10, "completion_tokens": 6}},
        "[DONE]",
    )
    assert normalize(payload, "openai") == [Reasoning("Think"), Reasoning(" more"), Content("Answer"), Usage(4, 6, 10), Done("length")]


def test_vllm_error_shapes():
    new = sse({"error": {"object": "error", "message": "context too long", "type": "BadRequestError", "param": None, "code": 400}})
    assert normalize(new) == [Error("context too long", 400)]
    old = sse({"object": "error", "message": "bad model", "type": "NotFoundError", "param": None, "code": 404})
    assert normalize(old) == [Error("bad model", 404)]


def test_llama_cpp_timings_and_clean_close_without_done():
    payload = sse(
        {
            "choices": [{"finish_reason": None, "index": 0, "delta": {"content": "Hi"}}],
            "created": 1,
            "id": "c",
            "model": "m",
            "object": "chat.completion.chunk",
        },
        {
            "choices": [{"finish_reason": "stop", "index": 0, "delta": {}}],
            "id": "c",
            "object": "chat.completion.chunk",
            "usage": {"completion_tokens": 5, "prompt_tokens": 3, "total_tokens": 8},
            "timings": {"prompt_n": 3, "prompt_ms": 1.2, "predicted_n": 5, "predicted_ms": 50.0, "predicted_per_second": 100.0},
        },
    )
    assert normalize(payload, "openai") == [Content("Hi"), Tps(100.0), Usage(3, 5, 8), Done("stop")]


def test_clean_close_without_finish_reason_is_truncation():
    payload = sse({"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]})
    assert normalize(payload, "openai") == [Content("Hi")]  # no done: the caller reports truncation


def test_ollama_reasoning_field():
    payload = sse(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "model": "qwen3",
            "system_fingerprint": "fp_ollama",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "", "reasoning": "hmm"}, "finish_reason": None}],
        },
        {"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Yes"}, "finish_reason": None}]},
        {"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": "stop"}]},
        "[DONE]",
    )
    assert normalize(payload, "openai") == [Reasoning("hmm"), Content("Yes"), Done("stop")]


def test_openrouter_comments_usage_and_midstream_error():
    payload = b": OPENROUTER PROCESSING\n\n" + sse(
        {
            "id": "gen-1",
            "provider": "OpenAI",
            "model": "openai/gpt-4o",
            "object": "chat.completion.chunk",
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": "Hi"},
                    "finish_reason": None,
                    "native_finish_reason": None,
                    "logprobs": None,
                }
            ],
        },
        {
            "id": "gen-1",
            "object": "chat.completion.chunk",
            "error": {"code": "server_error", "message": "Provider disconnected unexpectedly"},
            "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
        },
    )
    assert normalize(payload, "openai") == [Content("Hi"), Error("Provider disconnected unexpectedly", "server_error")]


def test_deepseek_cache_hit_tokens():
    payload = sse(
        {
            "id": "x",
            "choices": [],
            "usage": {
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "total_tokens": 15,
                "prompt_cache_hit_tokens": 8,
                "prompt_cache_miss_tokens": 2,
            },
        }
    )
    assert normalize(payload, "openai") == [Usage(10, 5, 15, cached_tokens=8)]


def test_litellm_string_code_passes_through():
    payload = sse({"error": {"message": "litellm.RateLimitError", "type": "None", "param": "None", "code": "429"}})
    assert normalize(payload) == [Error("litellm.RateLimitError", "429")]


def test_error_string_member():
    assert normalize(sse({"error": "boom"})) == [Error("boom")]


def test_null_content_is_never_printed():
    payload = sse({"choices": [{"index": 0, "delta": {"content": None, "tool_calls": []}, "finish_reason": None}]}, "[DONE]")
    assert normalize(payload, "openai") == [Done(None)]


# -- rules 5–7, 9, 10: the seeds' shapes -------------------------------------------------------


def test_prompt_dialect_seed():
    payload = sse({"type": "chunk", "text": "Based on"}, {"type": "chunk", "text": " your data"}, {"type": "done"})
    assert normalize(payload, "prompt") == [Content("Based on"), Content(" your data"), Done()]


def test_prompt_seed_without_blank_lines_is_read_line_by_line():
    # The seed's example leaves out the blank lines: one SSE event with five data lines.
    payload = b'data: {"type": "chunk", "text": "Based on"}\ndata: {"type": "chunk", "text": " your"}\ndata: {"type": "done"}\n\n'
    assert normalize(payload, "prompt") == [Content("Based on"), Content(" your"), Done()]


def test_websocket_seed_types():
    norm = Normalizer()
    frames = [
        {"type": "content", "text": "I can see"},
        {"type": "reasoning", "text": "Analyzing"},
        {"type": "tps", "tps": 42.5},
        {"type": "usage", "input_tokens": 1200, "output_tokens": 150},
        {"type": "done"},
        {"type": "error", "message": "Rate limit exceeded"},
    ]
    out = [e for f in frames for e in norm.data(json.dumps(f))]
    assert out == [Content("I can see"), Reasoning("Analyzing"), Tps(42.5), Usage(1200, 150, 1350), Done(), Error("Rate limit exceeded")]


def test_query_dialect_json_content_and_plain_text():
    assert normalize(sse({"content": "Hello"}, "plain words", "[DONE]"), "query") == [Content("Hello"), Content("plain words"), Done()]
    assert normalize(sse(" 42", "[DONE]"), "query") == [Content(" 42"), Done()]


def test_non_json_data_is_a_protocol_error_outside_query():
    with pytest.raises(ProtocolError):
        normalize(sse("not json"), "openai")


def test_a_bare_data_line_is_a_keep_alive_not_a_protocol_error():
    """Gateways keep an idle stream open with `data:` and nothing after it; an EventSource dispatches
    that as a message whose data is empty. Empty data carries nothing, in every dialect."""
    for keep_alive in (b"data:\n\n", b"data: \n\n", b"data:  \t\n\n", b"data:\r\n\r\n"):
        payload = sse({"choices": [{"delta": {"content": "a"}}]}) + keep_alive + sse({"choices": [{"delta": {"content": "b"}}]}, "[DONE]")
        assert normalize(payload, "openai") == [Content("a"), Content("b"), Done()], keep_alive
    assert normalize(b"data:\n\n" + sse({"type": "chunk", "text": "a"}, {"type": "done"}), "prompt") == [Content("a"), Done()]
    assert normalize(b"data:  \n\n" + sse("[DONE]"), "query") == [Content(" "), Done()]  # in query, white space is text


def test_unknown_event_names_and_types_are_ignored():
    payload = b"event: keepalive\ndata: whatever\n\n" + sse({"type": "status", "x": 1}, {"type": "chunk", "text": "a"}, {"type": "done"})
    assert normalize(payload, "prompt") == [Content("a"), Done()]


# -- §12: Anthropic-style events ---------------------------------------------------------------


def test_open_webui_anthropic_capture():
    payload = (CAPTURES / "60_anthropic_messages_sse.txt").read_bytes()
    events = normalize(payload, "anthropic")
    assert "".join(e.text for e in events if isinstance(e, Content)) == "Hello from the stub backend."
    assert events[-2:] == [Usage(7, 6, 13), Done("end_turn")]


def test_anthropic_stream_remembers_input_tokens_and_thinking():
    payload = (
        sse(
            {
                "type": "message_start",
                "message": {
                    "id": "m",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "usage": {"input_tokens": 25, "output_tokens": 1, "cache_read_input_tokens": 4},
                },
            },
            event="message_start",
        )
        + sse(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}, event="content_block_start"
        )
        + sse({"type": "ping"}, event="ping")
        + sse(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me see"}},
            event="content_block_delta",
        )
        + sse(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "abc"}},
            event="content_block_delta",
        )
        + sse({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi!"}}, event="content_block_delta")
        + sse(
            {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 15}},
            event="message_delta",
        )
        + sse({"type": "message_stop"}, event="message_stop")
    )
    assert normalize(payload, "anthropic") == [
        Reasoning("Let me see"),
        Content("Hi!"),
        Usage(25, 15, 40, cached_tokens=4),
        Done("end_turn"),
    ]


def test_anthropic_error_event_code_is_error_type():
    payload = sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, event="error")
    assert normalize(payload, "anthropic") == [Error("Overloaded", "overloaded_error")]


# -- complete (non-streamed) answers -----------------------------------------------------------


def test_complete_openai_answer():
    body = {
        "id": "x",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    assert complete_answer(body, "openai") == [Content("Hi"), Usage(1, 1, 2), Done("stop")]


def test_complete_answer_with_error():
    assert complete_answer({"error": {"message": "nope", "code": "x"}}) == [Error("nope", "x")]


def test_a_json_body_that_is_no_chat_answer_is_malformed():
    """A 200 application/json answer must be one of the answer shapes: a model list (a redirected POST)
    or any other object is a protocol error, not an empty reply that finished with 'stop'."""
    for body in ({"hello": 1}, {"object": "list", "data": [{"id": "m"}]}, {}):
        with pytest.raises(ProtocolError, match="no chat answer"):
            complete_answer(body, "openai")
    empty = {"choices": [{"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": "stop"}]}
    assert complete_answer(empty, "openai") == [Done("stop")]  # an empty answer is still an answer


def test_open_webui_plain_stream_capture():
    capture = json.loads((CAPTURES / "10_plain_stream_http.json").read_text())
    events = normalize(capture["http_body"].encode(), "openai")
    assert "".join(e.text for e in events if isinstance(e, Content)) == "Hello from the stub backend."
    assert isinstance(events[-1], Done)


# -- robustness ----------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "choices",
                    "delta",
                    "content",
                    "text",
                    "error",
                    "usage",
                    "message",
                    "index",
                    "finish_reason",
                    "object",
                    "timings",
                    "tps",
                    "code",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_json, st.sampled_from(["message", "content", "reasoning", "tps", "usage", "done", "error", "message_delta", "content_block_delta"]))
def test_arbitrary_json_never_raises(value, event):
    events = Normalizer("openai").sse(event, json.dumps(value))
    for e in events:
        json.dumps(e.as_dict())


_delta = st.fixed_dictionaries(
    {},
    optional={
        "content": st.one_of(st.text(max_size=5), st.none(), st.integers()),
        "role": st.just("assistant"),
        "reasoning_content": st.text(max_size=5),
        "reasoning": st.text(max_size=5),
    },
)
_choice = st.fixed_dictionaries(
    {"delta": st.one_of(_delta, st.none(), st.text(max_size=3))},
    optional={"index": st.sampled_from([0, 1]), "finish_reason": st.sampled_from([None, "stop", "length", ""])},
)
_chunk = st.fixed_dictionaries(
    {"choices": st.one_of(st.lists(_choice, max_size=2), st.none(), st.just("x"))},
    optional={"usage": st.just({"prompt_tokens": 1, "completion_tokens": 2}), "error": st.just({"message": "boom"}), "id": st.just("c")},
)


def one_at_a_time(messages: list) -> tuple[list, bool, bool, Normalizer]:
    """What sse() gives message by message, up to a terminal event: (events, ended, failed, normalizer)."""
    from streamchat.errors import ProtocolError

    one = Normalizer("openai")
    expected: list = []
    try:
        for m in messages:
            for e in one.sse(m.event, m.data):
                expected.append(e)
                if e.type in ("error", "done"):
                    return expected, True, False, one
    except ProtocolError:
        return expected, False, True, one
    return expected, False, False, one


def assert_batch_equals(batch_call, messages: list) -> None:
    from streamchat.errors import ProtocolError

    expected, ended, failed, one = one_at_a_time(messages)
    batch = Normalizer("openai")
    try:
        got, got_ended = batch_call(batch)
    except ProtocolError as exc:
        assert failed and exc.partial == expected
        return
    assert not failed and got == expected and got_ended == ended and batch.finish_reason == one.finish_reason


_payloads = st.lists(st.one_of(_chunk.map(json.dumps), st.just("[DONE]"), st.just("{not json")), max_size=6)


@settings(max_examples=400, deadline=None)
@given(_payloads)
def test_batch_fast_path_equals_one_message_at_a_time(payloads):
    """sse_batch reads the common OpenAI chunk inline; it must give exactly what sse() gives."""
    from streamchat.protocol.sse import SSEMessage

    messages = [SSEMessage("message", p) for p in payloads]
    assert_batch_equals(lambda n: n.sse_batch(messages), messages)


_raw = st.one_of(
    _payloads.map(lambda ps: [p.encode() for p in ps]),
    st.lists(
        st.sampled_from(
            [b'{"choices":[{"delta":{"content":"\xff\xfeok"}}]}', b"\xff", b'{"choices":[{"delta":{"content":"\xe4\xb8\x96"}}]}']
        ),
        max_size=3,
    ),
)


@settings(max_examples=300, deadline=None)
@given(_raw, _raw)
def test_data_batch_on_raw_bytes_equals_decoding_first(first, second):
    """data_batch takes the decoder's raw payloads: the same events as decoding them (U+FFFD) and sse()."""
    from streamchat.protocol.sse import SSEMessage

    payloads = first + second
    messages = [SSEMessage("message", p.decode("utf-8", "replace")) for p in payloads]
    assert_batch_equals(lambda n: n.data_batch(payloads), messages)


_ollama_message = st.dictionaries(
    st.sampled_from(["role", "content", "thinking", "tool_calls"]),
    st.sampled_from(["", "tok", "assistant", [], [{"function": {"name": "f", "arguments": {"a": 1}}}]]),
)
_ollama_line = st.fixed_dictionaries({"model": st.just("m"), "message": _ollama_message, "done": st.booleans()}).map(json.dumps)


@settings(max_examples=400, deadline=None)
@given(st.lists(_ollama_line, max_size=5))
def test_lines_batch_fast_path_equals_one_line_at_a_time(lines):
    """lines_batch reads Ollama's token line inline; it must give exactly what line() gives, whatever a
    message holds beside its content (a message with no role included)."""
    one = Normalizer("ollama")
    expected: list = []
    for event in (event for line in lines for event in one.line(line)):
        expected.append(event)
        if event.type in ("error", "done"):  # nothing after the end is read
            break
    got, _ = Normalizer("ollama").lines_batch([line.encode() for line in lines])
    assert got == expected


def test_usage_whose_every_count_is_absent_or_not_finite_is_no_usage():
    from streamchat.protocol.fields import usage_from

    for usage in (
        {},
        {"prompt_tokens": None, "completion_tokens": None},
        {"prompt_tokens": float("nan"), "completion_tokens": float("inf")},
    ):
        assert usage_from(usage) is None, usage
    assert usage_from({"prompt_tokens": float("nan"), "completion_tokens": 3}) == Usage(0, 3, 3)  # one known count is usage
