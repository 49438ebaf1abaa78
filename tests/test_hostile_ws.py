"""Hostile WebSocket servers: a handshake never answered, frames no server may send, close codes no
endpoint may send, refused handshakes; and the retry count that bounds how often we ask."""

from __future__ import annotations

import pytest
from conftest import clean_env, run_cli
from hostile_servers import close_frame, text_frames, ws_frame, ws_server

from streamchat.client.ws import WSConnection, WSOptions
from streamchat.errors import StreamTimeoutError

CHUNK = b'{"type": "chunk", "text": "Hi"}'


def test_a_handshake_never_answered_is_a_timeout_in_process():
    with ws_server([], silent=5.0) as (url, _):
        conn = WSConnection(url, WSOptions(connect_timeout=0.3))
        with pytest.raises(StreamTimeoutError, match="--connect-timeout"):
            conn.open()
        conn.close()


def test_a_handshake_never_answered_exits_4():
    # before: "internal error: TimeoutError" (exit 1)
    with ws_server([], silent=5.0) as (url, seen):
        r = run_cli("ws-chat", "--url", url, "--connect-timeout", "0.3", "--retries", "0", "Hi")
    assert r.code == 4 and "timed out" in r.stderr and seen.connections == 1, r.stderr


@pytest.mark.parametrize(
    "frame",
    [
        ws_frame(CHUNK, rsv1=True),  # compressed, but no extension was negotiated
        ws_frame(CHUNK, mask=True),  # a server must not mask
        *(close_frame(code) for code in (999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535)),
        ws_frame(b"\x03", opcode=8),  # a close frame one byte long
    ],
    ids=["rsv1", "masked", *(f"close-{c}" for c in (999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535)), "close-1-byte"],
)
def test_frames_no_server_may_send_are_protocol_errors(frame):
    # before: reported as 1006, connection lost (exit 3)
    with ws_server([text_frames(CHUNK), frame]) as (url, _):
        r = run_cli("ws-chat", "--url", url, "--retries", "0", "-o", "ndjson", "Hi")
    assert r.code == 7, r.stderr
    assert "broke the WebSocket protocol" in r.stderr
    lines = r.lines()
    assert lines[:-1] == [{"type": "content", "text": "Hi"}]  # what came before is kept
    assert lines[-1]["type"] == "error" and lines[-1]["code"] == "protocol_error"  # and why the run failed, last


@pytest.mark.parametrize(
    "frame, code", [(close_frame(None), "1005"), (close_frame(3000), "3000"), (close_frame(4000), "4000")], ids=["empty", "3000", "4000"]
)
def test_close_codes_a_server_may_send_are_not_protocol_errors(frame, code):
    with ws_server([text_frames(CHUNK), frame]) as (url, _):
        r = run_cli("ws-chat", "--url", url, "--retries", "0", "Hi")
    assert r.code == 3 and code in r.stderr, r.stderr


def test_retries_1_is_at_most_2_handshakes():
    # before: the session's and the connection's retry loops nested: 4 handshakes
    with ws_server([], status="503 Service Unavailable", headers="retry-after: 0\r\n") as (url, seen):
        r = run_cli("ws-chat", "--url", url, "--retries", "1", "Hi")
    assert r.code == 6 and seen.connections == 2, r.stderr


def test_retries_count_drops_before_output_too():
    script = lambda n: [] if n < 2 else [text_frames(CHUNK, b'{"type": "done"}')]  # noqa: E731 - drops twice, then answers
    with ws_server(script, linger=0) as (url, seen):
        r = run_cli("ws-chat", "--url", url, "--retries", "1", "Hi")
    assert r.code == 3 and seen.connections == 2, r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["ws-chat", "--url", "ws://127.0.0.1:99999/api/chat/ws", "Hi"],
        ["camera", "c1", "--url", "ws://127.0.0.1:99999"],
        ["chat", "--url", "http://127.0.0.1:99999/v1/chat/completions", "Hi"],
    ],
    ids=["ws-chat", "camera", "chat"],
)
def test_a_port_out_of_range_is_a_usage_error(args):
    # before (ws-chat, camera): "internal error: ValueError: Port out of range 0-65535"
    r = run_cli(*args)
    assert r.code == 2 and "port" in r.stderr and "internal error" not in r.stderr, r.stderr


def test_a_refused_handshake_with_a_hostile_body_is_its_status():
    # before: "internal error: RecursionError" from the error body's JSON
    with ws_server([], status="503 Service Unavailable", body=b"[" * 100_000 + b"]" * 100_000) as (url, _):
        r = run_cli("ws-chat", "--url", url, "--retries", "0", "Hi")
    assert r.code == 6 and "HTTP 503" in r.stderr and len(r.stderr) < 400, r.stderr


def test_a_403_with_no_token_hints_at_the_path_not_the_token():
    with ws_server([], status="403 Forbidden") as (url, _):
        r = run_cli("ws-chat", "--url", url, "--retries", "0", "Hi")
        assert r.code == 5 and "may take no WebSocket" in r.stderr and "check the token" not in r.stderr, r.stderr
        r = run_cli("ws-chat", "--url", url, "--retries", "0", "Hi", env=clean_env(STREAMCHAT_TOKEN="a-real-token"))
        assert r.code == 5 and "check the token" in r.stderr, r.stderr
