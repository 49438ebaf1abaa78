"""llama.cpp's server (llama-cpp-python) replayed byte for byte from captures: tests/data/llamacpp/README.md.

Its quirk worth a test: a request interrupted because another one waits gets its role chunk and
``data: [DONE]``, then the connection closes with the chunked body unfinished. The reply is complete
(``[DONE]`` arrived), for ``chat`` and for ``bench`` alike.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from pathlib import Path

import pytest
from conftest import run_cli
from scripted_http import reset, scripted_server

from streamchat.bench.runner import LoadSpec, run_load
from streamchat.protocol.requests import ChatRequest

DATA = Path(__file__).resolve().parent / "data" / "llamacpp"
STREAM = (DATA / "stream.http").read_bytes()
INTERRUPTED = (DATA / "interrupted.http").read_bytes()
CONTEXT_OVERFLOW = (DATA / "context-overflow.http").read_bytes()
QUEUED = (DATA / "queued-with-pings.http").read_bytes()
DONE_CHUNK = b"e\r\ndata: [DONE]\n\n\r\n"


def replaying(response: bytes, ending: str = "close"):
    """A server that answers every request with ``response`` exactly, then closes (FIN), resets (RST), or
    goes silent until the client leaves (``stall``)."""

    def answer(conn: socket.socket, request: object) -> None:
        conn.sendall(response)
        if ending == "reset":
            reset(conn)
        elif ending == "stall":
            conn.recv(1)  # returns when the client closes its end

    return scripted_server(answer)


def bench_records(url: str, requests: int = 4, concurrency: int = 2, read_timeout: float = 60.0) -> list[dict]:
    spec = LoadSpec(
        url + "/v1/chat/completions",
        dialect="openai",
        requests=requests,
        concurrency=concurrency,
        read_timeout=read_timeout,
        prompts=[ChatRequest(message="Hello there", model_id="tiny.gguf")],
    )
    return asyncio.run(run_load(spec))[0]


def streamed_text(response: bytes) -> str:
    """The content deltas of a capture, decoded by the standard library's JSON parser."""
    text = []
    for line in response.split(b"\n"):
        if line.startswith(b"data: {"):
            delta = json.loads(line[6:])["choices"][0]["delta"]
            text.append(delta.get("content") or "")
    return "".join(text)


def test_the_captures_are_what_the_readme_says():
    assert INTERRUPTED.endswith(DONE_CHUNK) and b"0\r\n\r\n" not in INTERRUPTED  # the body was never finished
    assert STREAM.endswith(DONE_CHUNK + b"0\r\n\r\n") and b'"usage"' not in STREAM
    assert re.search(rb"\\u0000", STREAM) and CONTEXT_OVERFLOW.endswith(b"\r\n\r\n0\r\n\r\n")


@pytest.mark.parametrize("ending", ["close", "reset", "stall"])
def test_bench_counts_a_reply_cut_after_its_done_as_ok(ending):
    """Every request counted, none failed: chat calls the same bytes a completed reply. (A body left
    unfinished and silent after [DONE] ends at --read-timeout, still a completed reply.)"""
    with replaying(INTERRUPTED, ending) as server:
        records = bench_records(server.url, read_timeout=0.3)
    assert [r["status"] for r in records] == ["ok"] * 4, records
    for r in records:
        assert r["ttft_ms"] is None and r["output_tokens"] == 0 and r["e2e_ms"] > 0  # no token came: no first-token time


def test_chat_calls_the_same_interrupted_reply_complete():
    with replaying(INTERRUPTED) as server:
        r = run_cli("chat", "--url", server.url + "/v1/chat/completions", "-m", "tiny.gguf", "-o", "ndjson", "Hello there")
    assert r.code == 0, r.stderr
    assert r.lines() == [{"type": "done"}]


def test_bench_still_fails_a_reply_cut_before_its_done():
    cut = INTERRUPTED[: -len(DONE_CHUNK)]
    with replaying(cut) as server:
        records = bench_records(server.url, requests=2, concurrency=1)
    assert [r["status"] for r in records] == ["connection_lost"] * 2, records


def test_a_whole_stream_is_measured_token_by_token():
    with replaying(STREAM) as server:
        records = bench_records(server.url, requests=3, concurrency=1)
    tokens = sum(1 for piece in re.findall(rb'"content": "((?:[^"\\]|\\.)*)"', STREAM) if piece)
    for r in records:
        assert r["status"] == "ok" and r["tokens_source"] == "events" and r["output_tokens"] == tokens
        assert r["ttft_ms"] > 0 and len(r["itl_ms"]) == tokens - 1


def test_chat_writes_the_controls_of_random_weights_exactly_into_a_pipe():
    with replaying(STREAM) as server:
        r = run_cli("chat", "--url", server.url + "/v1/chat/completions", "-m", "tiny.gguf", "Hello there")
    assert r.code == 0, r.stderr
    expected = streamed_text(STREAM)
    assert "\x00" in expected and r.out == expected + "\n"


def test_a_stream_that_ends_before_any_event_is_truncated():
    """The server's context-window error happens after its 200 head: only its log says why."""
    with replaying(CONTEXT_OVERFLOW) as server:
        r = run_cli("chat", "--url", server.url + "/v1/chat/completions", "-m", "tiny.gguf", "-o", "ndjson", "Hello there")
    assert r.code == 7
    assert r.lines() == [{"type": "error", "message": "stream truncated: the connection closed before done", "code": "truncated"}]


def paced(response: bytes, pause: float):
    """``response`` in its pieces (the head, each ping comment's chunk, the rest), ``pause`` seconds apart."""
    head, body = response.split(b"\r\n\r\n", 1)
    ping = b"2b\r\n: ping"
    pieces = [head + b"\r\n\r\n"] + [ping + piece for piece in body.split(ping)[1:]]

    def answer(conn: socket.socket, request: object) -> None:
        for piece in pieces:
            conn.sendall(piece)
            time.sleep(pause)

    return scripted_server(answer)


def test_the_servers_ping_comments_keep_a_waiting_reply_alive():
    """A request queued behind another gets its head at once, then only ': ping' comments (every 15 s on the
    real server, every 0.4 s here) until its turn: silence longer than --read-timeout, but never without a byte."""
    assert QUEUED.count(b": ping - ") == 3
    with paced(QUEUED, 0.4) as server:
        url = server.url + "/v1/chat/completions"
        r = run_cli("chat", "--url", url, "-m", "tiny.gguf", "--read-timeout", "1", "-o", "json", "Hello there")
        spec = LoadSpec(url, dialect="openai", requests=1, concurrency=1, read_timeout=1, prompts=[ChatRequest(message="hi", model_id="m")])
        records = asyncio.run(run_load(spec))[0]
    assert r.code == 0, r.stderr
    assert json.loads(r.out)["content"] == streamed_text(QUEUED) != ""
    assert records[0]["status"] == "ok" and records[0]["ttft_ms"] > 1000
