"""Real servers' byte streams, replayed byte for byte over loopback through the real executable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from raw_servers import raw_server

DATA = Path(__file__).resolve().parent / "data"

OPENAI = (
    b'data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}\n\n'
    b'data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n'
    b'data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" world"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n'
    b'data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n\n'
    b'data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}\n\n'
    b"data: [DONE]\n\n"
)


@pytest.mark.parametrize("framing", ["chunked", "length", "close"])
@pytest.mark.parametrize("pieces", [1, 7, 400])
def test_openai_stream_any_framing_any_pieces(framing, pieces):
    with raw_server(OPENAI, framing=framing, pieces=pieces, pause=0.001 if pieces > 1 else 0) as url:
        r = run_cli("chat", "--url", url, "-o", "ndjson", "Hi")
    assert r.code == 0, r.stderr
    assert r.lines() == [
        {"type": "content", "text": "Hello"},
        {"type": "content", "text": " world"},
        {"type": "usage", "input_tokens": 9, "output_tokens": 2, "total_tokens": 11, "reasoning_tokens": 0, "cached_tokens": 0},
        {"type": "done", "finish_reason": "stop"},
    ]


def test_crlf_stream_with_bom_and_comments():
    body = b"\xef\xbb\xbf: ping\r\n\r\n" + OPENAI.replace(b"\n", b"\r\n")
    with raw_server(body, pieces=50, pause=0.001) as url:
        r = run_cli("chat", "--url", url, "-o", "json", "Hi")
    assert r.code == 0, r.stderr
    assert json.loads(r.out)["content"] == "Hello world"


def test_clean_close_after_finish_reason_without_done_succeeds():
    body = OPENAI.replace(b"data: [DONE]\n\n", b"")
    with raw_server(body) as url:
        r = run_cli("chat", "--url", url, "-o", "ndjson", "Hi")
    assert r.code == 0, r.stderr
    assert r.lines()[-1] == {"type": "done", "finish_reason": "stop"}


def test_clean_close_before_finish_is_truncation_7():
    body = OPENAI.split(
        b'data: {"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},'
    )[0]
    with raw_server(body) as url:
        r = run_cli("chat", "--url", url, "Hi")
    assert r.code == 7 and r.out == "Hello world\n"


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_body_cut_short_is_connection_lost_3(framing):
    offset = len(b"%x\r\n" % len(OPENAI)) if framing == "chunked" else 0
    cut = offset + OPENAI.index(b'"delta":{},')  # inside the finish chunk: both words arrived
    with raw_server(OPENAI, framing=framing, truncate=cut) as url:
        r = run_cli("chat", "--url", url, "Hi")
    assert r.code == 3, r.stderr
    assert r.out == "Hello world\n" and "connection lost mid-reply" in r.stderr


def test_unterminated_last_event_is_discarded():
    body = OPENAI.replace(b"data: [DONE]\n\n", b"data: [DONE]")
    with raw_server(body) as url:
        r = run_cli("chat", "--url", url, "-o", "ndjson", "Hi")
    # [DONE] never dispatched; the clean close after a finish reason still completes
    assert r.code == 0 and r.lines()[-1]["type"] == "done"


def test_anthropic_capture_end_to_end():
    body = (DATA / "60_anthropic_messages_sse.txt").read_bytes()
    with raw_server(body, pieces=30) as url:
        r = run_cli("chat", "--url", url, "--dialect", "anthropic", "-o", "json", "Hi")
    assert r.code == 0, r.stderr
    obj = json.loads(r.out)
    assert obj["content"] == "Hello from the stub backend." and obj["finish_reason"] == "end_turn"
    assert obj["usage"] == {"input_tokens": 7, "output_tokens": 6, "total_tokens": 13}


def test_http_error_body_message_is_shown():
    body = b'{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}}'
    with raw_server(body, framing="length", content_type="application/json", status="401 Unauthorized") as url:
        r = run_cli("chat", "--url", url, "Hi")
    assert r.code == 5 and "Incorrect API key provided" in r.stderr


def test_error_status_html_body():
    with raw_server(
        b"<html><body><h1>502 Bad Gateway</h1></body></html>", framing="length", content_type="text/html", status="502 Bad Gateway"
    ) as url:
        r = run_cli("chat", "--url", url, "--retries", "0", "Hi")
    assert r.code == 6 and "HTTP 502" in r.stderr


def test_vllm_midstream_error_exits_1():
    body = (
        b'data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"Par"},"finish_reason":null}]}\n\n'
        b'data: {"error": {"object": "error", "message": "The engine crashed", "type": "InternalServerError", "param": null, "code": 500}}\n\n'
    )
    with raw_server(body) as url:
        r = run_cli("chat", "--url", url, "-o", "ndjson", "Hi")
    assert r.code == 1
    assert r.lines() == [{"type": "content", "text": "Par"}, {"type": "error", "message": "The engine crashed", "code": 500}]


LLAMA_CPP_ERROR = (
    b'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hel"}}],"object":"chat.completion.chunk"}\n\n'
    b'error: {"code":500,"message":"context shift is disabled","type":"server_error"}\n\n'
    b"data: [DONE]\n\n"
)


@pytest.mark.parametrize("pieces", [1, len(LLAMA_CPP_ERROR)])
def test_llama_cpp_error_field_is_a_failure_in_chat_and_bench(pieces):
    """llama.cpp's server reports a failure mid-stream as an `error:` field line, then [DONE]."""
    with raw_server(LLAMA_CPP_ERROR, pieces=pieces) as url:
        r = run_cli("chat", "--url", url, "-m", "m", "-o", "ndjson", "Hi")
        as_json = run_cli("chat", "--url", url, "-m", "m", "-o", "json", "Hi")
        bench = run_cli("bench", "--url", url, "-m", "m", "--requests", "2", "--concurrency", "1", "-o", "json", "-q")
    assert r.code == 1, r.stderr
    assert r.lines() == [{"type": "content", "text": "Hel"}, {"type": "error", "message": "context shift is disabled", "code": 500}]
    assert as_json.code == 1 and json.loads(as_json.out)["done"] is False
    assert bench.code == 8 and json.loads(bench.out)["failed"] == 2, bench.out


def test_a_gateways_bare_data_keep_alive_is_no_failure_in_chat_and_bench():
    """Proxies and gateways keep an idle stream open with a bare `data:` line (an empty message)."""
    body = OPENAI.replace(b"\n\ndata: {", b"\n\ndata:\n\ndata: {", 1).replace(b"data: [DONE]", b"data:\n\ndata: [DONE]")
    with raw_server(body) as url:
        r = run_cli("chat", "--url", url, "-o", "ndjson", "Hi")
        bench = run_cli("bench", "--url", url, "-m", "m", "--requests", "2", "--concurrency", "1", "-o", "json", "-q")
    assert r.code == 0, r.stderr
    assert [line["type"] for line in r.lines()] == ["content", "content", "usage", "done"]
    assert bench.code == 0 and json.loads(bench.out)["ok"] == 2, bench.out


# llama.cpp's own /completion endpoint ({"prompt": ..., "stream": true}: the prompt dialect with -p stream=true):
# string `content` pieces, and a last object with "stop": true, its counts and timings; no [DONE].
LLAMA_CPP_COMPLETION = (
    b'data: {"index":0,"content":"Hel","tokens":[15496],"stop":false,"id_slot":-1,"tokens_predicted":1,"tokens_evaluated":5}\n\n'
    b'data: {"index":0,"content":"lo","tokens":[385],"stop":false,"id_slot":-1,"tokens_predicted":2,"tokens_evaluated":5}\n\n'
    b'data: {"index":0,"content":"","tokens":[],"id_slot":0,"stop":true,"model":"tiny.gguf","tokens_predicted":2,'
    b'"tokens_evaluated":5,"generation_settings":{"n_predict":-1},"prompt":"Hi","has_new_line":false,"truncated":false,'
    b'"stop_type":"limit","stopping_word":"","tokens_cached":6,'
    b'"timings":{"prompt_n":5,"prompt_ms":3.1,"predicted_n":2,"predicted_ms":40.0,"predicted_per_second":50.0}}\n\n'
)


@pytest.mark.parametrize("pieces", [1, len(LLAMA_CPP_COMPLETION)])
def test_llama_cpp_completion_endpoint_ends_with_its_stop_object(pieces):
    """Its last object is the finish: a clean close after it is a complete reply, in chat and bench alike."""
    args = ("--dialect", "prompt", "-p", "stream=true")
    with raw_server(LLAMA_CPP_COMPLETION, pieces=pieces) as url:
        r = run_cli("chat", "--url", url + "/completion", *args, "-o", "ndjson", "Hi")
        bench = run_cli("bench", "--url", url + "/completion", *args, "--requests", "2", "--concurrency", "1", "-o", "json", "-q")
    assert r.code == 0, r.stderr
    assert r.lines() == [
        {"type": "content", "text": "Hel"},
        {"type": "content", "text": "lo"},
        {"type": "tps", "tps": 50.0},
        {"type": "usage", "input_tokens": 5, "output_tokens": 2, "total_tokens": 7},
        {"type": "done", "finish_reason": "length"},
    ]
    assert bench.code == 0 and json.loads(bench.out)["ok"] == 2, bench.out


def test_retry_on_a_kept_alive_connection_keeps_the_first_events():
    """A 429 answered with keep-alive, then the retry's head and first events in one packet.

    The error body is read through h11; the retry, on the same connection, must be read by us from
    its first body byte (a first token was lost, depending on timing, before this was fixed).
    """
    import socket
    import threading

    body = OPENAI
    framed = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    requests = []

    def serve() -> None:
        conn, _ = sock.accept()
        with conn:
            for answer in (
                b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: 15\r\n"
                b'retry-after: 0\r\n\r\n{"error":"slow"}'[:-1],
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n" + framed,
            ):
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                requests.append(data)
                conn.sendall(answer)  # head and body in one write: one read on the other side
            conn.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1/chat/completions"
    r = run_cli("chat", "--url", url, "--retries", "1", "-o", "ndjson", "Hi")
    sock.close()
    assert r.code == 0, r.stderr
    assert len(requests) == 2  # the retry went over the same connection
    assert [e["text"] for e in r.lines() if e["type"] == "content"] == ["Hello", " world"]


def test_fastapi_validation_error_body_says_what_was_wrong():
    body = json.dumps(
        {"detail": [{"type": "missing", "loc": ["body", "messages"], "msg": "Field required", "input": {"model": "m"}}]}
    ).encode()
    with raw_server(body, status="422 Unprocessable Entity", content_type="application/json") as url:
        r = run_cli("chat", "--url", url, "-m", "m", "-o", "ndjson", "Hi")
    assert r.code == 6 and "body.messages: Field required" in r.stderr, r.stderr
    assert r.lines()[-1]["code"] == "http_422"


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


EVENT = b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'


@pytest.mark.parametrize("late", [False, True])
def test_events_before_bad_framing_in_the_same_read_are_output(late):
    """Everything decoded before the bad data is written: a good chunk, then a bad chunk size, in one read
    (with the head, or in a later read of its own)."""
    from scripted_http import scripted_server

    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    body = _chunk(EVENT) + b"ZZ\r\nxx\r\n"

    def answer(conn, request):
        if late:
            conn.sendall(head)
            import time

            time.sleep(0.2)
            conn.sendall(body)
        else:
            conn.sendall(head + body)

    with scripted_server(answer) as srv:
        url = srv.url + "/v1/chat/completions"
        r = run_cli("chat", "--url", url, "-m", "m", "-o", "ndjson", "--retries", "0", "Hi")
        bench = run_cli("bench", "--url", url, "-m", "m", "--requests", "1", "-o", "json", "-q")
    assert r.code == 7 and r.lines()[0] == {"type": "content", "text": "Hel"} and r.lines()[-1]["code"] == "protocol_error", r.out
    assert bench.code == 8 and json.loads(bench.out)["errors"] == {"protocol_error": 1}, bench.out


def test_events_before_the_size_cap_in_the_same_read_are_output():
    from scripted_http import scripted_server

    events = b"".join(b'data: {"choices":[{"index":0,"delta":{"content":"t%d "}}]}\n\n' % i for i in range(20))

    def answer(conn, request):
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n" % len(events) + events)

    with scripted_server(answer) as srv:
        url = srv.url + "/v1/chat/completions"
        r = run_cli("chat", "--url", url, "-m", "m", "-o", "ndjson", "--retries", "0", "--max-response-size", "1KB", "Hi")
    lines = r.lines()
    assert r.code == 7 and lines[-1]["code"] == "too_large"
    texts = [line["text"] for line in lines if line["type"] == "content"]
    assert len(texts) >= 15 and texts == [f"t{i} " for i in range(len(texts))], texts  # the events within 1 KB, in order
