"""The Responses API's events and Ollama's NDJSON lines, rule by rule (docs/protocols.md#rule-responses,
#rule-ollama, #ndjson-decoding, #non-streamed), on hand-written edge cases; real servers' streams are
in test_wire_conformance.py."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli
from raw_servers import raw_server

from streamchat.errors import ProtocolError
from streamchat.protocol.body import ReplyDecoder
from streamchat.protocol.normalize import Normalizer, complete_answer

NDJSON = "application/x-ndjson"


def named(*objs: dict, names: bool = True) -> bytes:
    return b"".join((f"event: {o['type']}\n" if names else "").encode() + b"data: " + json.dumps(o).encode() + b"\n\n" for o in objs)


def decode(body: bytes, content_type: str = "text/event-stream", dialect: str = "responses") -> list[dict]:
    decoder = ReplyDecoder(content_type, dialect)
    events, ended = decoder.feed(body)
    if not ended:
        events += decoder.close()
    return [e.as_dict() for e in events]


def delta(kind: str, text: str) -> dict:
    return {"type": kind, "item_id": "x", "output_index": 0, "content_index": 0, "delta": text}


# -- the Responses API ---------------------------------------------------------------------------------


def test_text_reasoning_and_summary_deltas():
    body = named(
        {"type": "response.created", "response": {"id": "r", "status": "in_progress", "usage": None}},
        delta("response.reasoning_summary_text.delta", "Plan"),
        delta("response.reasoning_text.delta", "Think"),
        {"type": "response.content_part.added", "part": {"type": "output_text", "text": ""}},
        delta("response.output_text.delta", "Hi"),
        delta("response.output_text.delta", ""),
        {"type": "response.output_text.done", "text": "Hi"},
        {
            "type": "response.completed",
            "response": {"usage": {"input_tokens": 5, "output_tokens": 2, "output_tokens_details": {"reasoning_tokens": 1}}},
        },
    )
    assert decode(body) == [
        {"type": "reasoning", "text": "Plan"},
        {"type": "reasoning", "text": "Think"},
        {"type": "content", "text": "Hi"},
        {"type": "usage", "input_tokens": 5, "output_tokens": 2, "total_tokens": 7, "reasoning_tokens": 1},
        {"type": "done", "finish_reason": "stop"},
    ]


@pytest.mark.parametrize("dialect", ["responses", "openai", "streamchat", "query"])
@pytest.mark.parametrize("names", [True, False])
def test_responses_events_are_read_whatever_the_dialect_and_with_or_without_names(dialect, names):
    body = named(delta("response.output_text.delta", "ok"), {"type": "response.completed", "response": {}}, names=names)
    assert decode(body, dialect=dialect) == [{"type": "content", "text": "ok"}, {"type": "done", "finish_reason": "stop"}]


def test_incomplete_gives_its_reason_and_usage():
    body = named(
        delta("response.output_text.delta", "Hel"),
        {
            "type": "response.incomplete",
            "response": {
                "status": "incomplete",
                "incomplete_details": {"reason": "max_output_tokens"},
                "usage": {"input_tokens": 3, "output_tokens": 1},
            },
        },
    )
    assert decode(body)[1:] == [
        {"type": "usage", "input_tokens": 3, "output_tokens": 1, "total_tokens": 4},
        {"type": "done", "finish_reason": "max_output_tokens"},
    ]
    assert decode(named({"type": "response.incomplete", "response": {"incomplete_details": None}})) == [{"type": "done"}]


def test_failed_and_error_events_are_errors_with_the_servers_code():
    failed = {"type": "response.failed", "response": {"status": "failed", "error": {"code": "server_error", "message": "boom"}}}
    assert decode(named(delta("response.output_text.delta", "a"), failed)) == [
        {"type": "content", "text": "a"},
        {"type": "error", "message": "boom", "code": "server_error"},
    ]
    assert decode(named({"type": "response.failed", "response": {"error": None}})) == [{"type": "error", "message": "the response failed"}]
    flat = {"type": "error", "code": "rate_limit_exceeded", "message": "Slow down", "param": None, "sequence_number": 3}
    assert decode(named(flat)) == [{"type": "error", "message": "Slow down", "code": "rate_limit_exceeded"}]
    assert decode(named(flat, names=False)) == [{"type": "error", "message": "Slow down", "code": "rate_limit_exceeded"}]


def test_nothing_is_read_after_the_end():
    body = named({"type": "response.completed", "response": {}}, delta("response.output_text.delta", "late"))
    assert decode(body) == [{"type": "done", "finish_reason": "stop"}]


def test_unknown_response_events_and_names_are_ignored():
    body = (
        named(
            {"type": "response.queued", "response": {}},
            {"type": "response.refusal.delta", "delta": "no"},
            {"type": "response.web_search_call.searching", "item_id": "ws"},
            {"type": "response.output_item.added", "output_index": 0, "item": {"type": "message", "id": "m"}},
            delta("response.output_text.delta", "yes"),
        )
        + b'event: keepalive\ndata: {"type": "response.output_text.delta", "delta": "not this"}\n\n'
    )
    assert decode(body + named({"type": "response.completed", "response": {}})) == [
        {"type": "content", "text": "yes"},
        {"type": "done", "finish_reason": "stop"},
    ]


def test_a_stream_that_stops_before_completed_is_truncated():
    decoder = ReplyDecoder("text/event-stream", "responses")
    events, ended = decoder.feed(named(delta("response.output_text.delta", "Hel")))
    assert [e.as_dict() for e in events] == [{"type": "content", "text": "Hel"}] and not ended
    with pytest.raises(ProtocolError, match="truncated"):
        decoder.close()


def test_non_streamed_response_objects():
    def answer(status: str, **extra) -> dict:
        output = [
            {"type": "reasoning", "id": "rs", "summary": [{"type": "summary_text", "text": "Sum"}]},
            {
                "type": "message",
                "content": [{"type": "output_text", "text": "Hi", "annotations": []}, {"type": "refusal", "refusal": "no"}],
            },
            {"type": "function_call", "id": "fc", "call_id": "c1", "name": "f", "arguments": '{"a":1}'},
        ]
        return {"object": "response", "status": status, "output": output, "usage": {"input_tokens": 1, "output_tokens": 2}, **extra}

    head = [
        {"type": "reasoning", "text": "Sum"},
        {"type": "content", "text": "Hi"},
        {"type": "tool_call", "id": "c1", "name": "f", "arguments": '{"a":1}'},
    ]
    usage = {"type": "usage", "input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
    assert [e.as_dict() for e in complete_answer(answer("completed"))] == [*head, usage, {"type": "done", "finish_reason": "stop"}]
    incomplete = answer("incomplete", incomplete_details={"reason": "content_filter"})
    assert [e.as_dict() for e in complete_answer(incomplete)][-1] == {"type": "done", "finish_reason": "content_filter"}
    failed = answer("failed", error={"code": "server_error", "message": "boom"})
    assert [e.as_dict() for e in complete_answer(failed)][-1] == {"type": "error", "message": "boom", "code": "server_error"}


# -- Ollama --------------------------------------------------------------------------------------------


def line(**fields) -> bytes:
    return json.dumps({"model": "m", "created_at": "2025-01-01T00:00:00Z", **fields}).encode() + b"\n"


def last(**fields) -> bytes:
    return line(message={"role": "assistant", "content": ""}, done=True, **fields)


def test_chat_and_generate_lines():
    body = (
        line(message={"role": "assistant", "content": "", "thinking": "Hmm"}, done=False)
        + line(message={"role": "assistant", "content": "Hi", "images": None}, done=False)
        + line(response=" there", thinking="", done=False)
        + last(done_reason="length", prompt_eval_count=4, eval_count=2, eval_duration=500_000_000)
    )
    assert decode(body, NDJSON, "ollama") == [
        {"type": "reasoning", "text": "Hmm"},
        {"type": "content", "text": "Hi"},
        {"type": "content", "text": " there"},
        {"type": "usage", "input_tokens": 4, "output_tokens": 2, "total_tokens": 6},
        {"type": "tps", "tps": 4.0},
        {"type": "done", "finish_reason": "length"},
    ]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"eval_count": 10, "eval_duration": 0}, [{"type": "usage", "input_tokens": 0, "output_tokens": 10, "total_tokens": 10}]),
        ({"eval_count": 10}, [{"type": "usage", "input_tokens": 0, "output_tokens": 10, "total_tokens": 10}]),
        ({"eval_duration": 5}, []),
        ({"prompt_eval_count": 7}, [{"type": "usage", "input_tokens": 7, "output_tokens": 0, "total_tokens": 7}]),
        ({"eval_count": "10", "eval_duration": 1e9}, []),
        ({}, []),
    ],
)
def test_usage_and_rate_only_from_what_the_last_line_holds(counts, expected):
    assert decode(last(**counts), NDJSON, "ollama") == [*expected, {"type": "done"}]


def test_an_error_line_ends_the_reply_keeping_what_came_before():
    body = (
        line(message={"role": "assistant", "content": "Par"}, done=False) + b'{"error":"model runner has unexpectedly stopped"}\n' + last()
    )
    assert decode(body, NDJSON, "ollama") == [
        {"type": "content", "text": "Par"},
        {"type": "error", "message": "model runner has unexpectedly stopped"},
    ]


def test_a_line_that_is_not_json_is_a_protocol_error_after_the_lines_before_it():
    decoder = ReplyDecoder(NDJSON, "ollama")
    with pytest.raises(ProtocolError, match="not JSON") as caught:
        decoder.feed(line(message={"role": "assistant", "content": "ok"}, done=False) + b"<html>oops\n")
    assert [e.as_dict() for e in caught.value.partial] == [{"type": "content", "text": "ok"}]


def test_lines_too_deep_are_a_protocol_error_and_other_json_values_are_ignored():
    decoder = ReplyDecoder(NDJSON, "ollama")
    assert decoder.feed(b"42\n[1]\n\r\n\n") == ([], False)
    with pytest.raises(ProtocolError, match="deeper"):
        decoder.feed(b"[" * 300 + b"]" * 300 + b"\n")


def test_each_read_gives_its_complete_lines_at_once():
    decoder = ReplyDecoder(NDJSON, "ollama")
    first = line(message={"role": "assistant", "content": "A"}, done=False)
    events, ended = decoder.feed(first + first[:10])
    assert [e.as_dict() for e in events] == [{"type": "content", "text": "A"}] and not ended
    events, ended = decoder.feed(first[10:] + last())
    assert [e.type for e in events] == ["content", "done"] and ended


def test_crlf_lines_and_unicode_line_breaks_inside_strings():
    body = line(message={"role": "assistant", "content": "a\u2028b"}, done=False).replace(b"\n", b"\r\n") + last()
    assert decode(body, NDJSON, "ollama")[0] == {"type": "content", "text": "a\u2028b"}


def test_ollama_objects_are_understood_in_sse_data_too():
    norm = Normalizer("streamchat")
    assert [e.as_dict() for e in norm.data(line(response="x", done=False).decode())] == [{"type": "content", "text": "x"}]
    assert [e.as_dict() for e in norm.data(last(done_reason="stop").decode())] == [{"type": "done", "finish_reason": "stop"}]


def test_non_streamed_generate_answer():
    body = json.loads(line(response="The sky", done=True, done_reason="stop", eval_count=2, eval_duration=1_000_000_000))
    assert [e.as_dict() for e in complete_answer(body, "ollama")] == [
        {"type": "content", "text": "The sky"},
        {"type": "usage", "input_tokens": 0, "output_tokens": 2, "total_tokens": 2},
        {"type": "tps", "tps": 2.0},
        {"type": "done", "finish_reason": "stop"},
    ]


def test_wrong_content_type_names_the_three_it_reads():
    with pytest.raises(ProtocolError, match="text/event-stream, application/x-ndjson or application/json"):
        ReplyDecoder("text/plain", "ollama")


def test_the_size_cap_holds_for_ndjson_bodies():
    body = b"".join(line(message={"role": "assistant", "content": f"w{i} "}, done=False) for i in range(200)) + last()
    with raw_server(body, content_type=NDJSON, path="/api/chat", pieces=20, pause=0.001) as url:
        r = run_cli("chat", "--url", url, "-m", "m", "-o", "ndjson", "--max-response-size", "4KB", "Hi")
    assert r.code == 7 and "max-response-size" in r.stderr
    texts = [e["text"] for e in r.lines() if e.get("type") == "content"]
    assert texts and texts == [f"w{i} " for i in range(len(texts))] and len(texts) < 200


def test_ollama_through_chat_end_to_end(server):
    r = run_cli("chat", "--url", server.url + "/api/chat", "-m", "m", "-o", "json", "Hello there")
    assert r.code == 0, r.stderr
    summary = json.loads(r.out)
    assert summary["done"] and summary["finish_reason"] == "stop" and summary["content"]
    assert summary["usage"]["output_tokens"] == 12 and summary["tps"] > 0 and summary["tool_calls"] == []
