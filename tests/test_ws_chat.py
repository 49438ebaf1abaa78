"""`streamchat ws-chat` end to end over real loopback WebSockets."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from conftest import clean_env, expected_reply, run_cli, wait_until


@pytest.fixture
def ws(server):
    """The server's WebSocket bookkeeping, and a function that waits for it to settle."""
    return server.app.state.ws


def ws_url(server, scheme="ws"):
    return server.url.replace("http", scheme, 1) + "/api/chat/ws"


def test_single_turn_over_ws_and_http_urls(server):
    for url in (ws_url(server), server.url + "/ws/chat"):
        r = run_cli("ws-chat", "--url", url, "Hello")
        assert r.code == 0, r.stderr
        assert r.out == expected_reply("Hello") + "\n"


def test_single_turn_ndjson_has_no_turn_key(server):
    r = run_cli("ws-chat", "--url", ws_url(server), "-o", "ndjson", "Hello")
    assert r.code == 0
    lines = r.lines()
    assert all("turn" not in line for line in lines)
    assert lines[-1] == {"type": "done", "finish_reason": "stop"}


def test_three_turns_on_one_connection_with_growing_history(server, ws):
    before = ws.accepted
    first = len(ws.requests)
    r = run_cli("ws-chat", "--url", ws_url(server), "-o", "ndjson", input=b'one\n\ntwo\n{"message": "three", "max_tokens": 2}\n')
    assert r.code == 0, r.stderr
    assert ws.accepted - before == 1  # one connection served every turn
    lines = r.lines()
    assert sorted({line["turn"] for line in lines}) == [1, 2, 3]
    assert [line for line in lines if line["type"] == "done"] == [
        {"type": "done", "finish_reason": "stop", "turn": 1},
        {"type": "done", "finish_reason": "stop", "turn": 2},
        {"type": "done", "finish_reason": "length", "turn": 3},
    ]
    requests = [req for _, req in ws.requests[first:]]
    assert [req["message"] for req in requests] == ["one", "two", "three"]
    assert "history" not in requests[0]
    assert requests[2]["history"] == [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": expected_reply("one")},
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": expected_reply("two")},
    ]
    assert requests[2]["type"] == "chat" and requests[2]["max_tokens"] == 2


def test_clean_close_1000_at_the_end(server, ws):
    count = len(ws.close_codes)
    r = run_cli("ws-chat", "--url", ws_url(server), "Hi")
    assert r.code == 0
    wait_until(lambda: len(ws.close_codes) > count, what="the server seeing the close")  # (it may come after the run ends)
    assert ws.close_codes[-1] == 1000


def test_image_inline(server, ws, tmp_path):
    img = tmp_path / "a.gif"
    from PIL import Image

    Image.new("P", (2, 2)).save(img, "GIF")  # a real image: -i checks that the whole file decodes
    r = run_cli("ws-chat", "--url", ws_url(server), "-i", str(img), "what is it")
    assert r.code == 0
    assert ws.requests[-1][1]["images"][0].startswith("data:image/gif;base64,")


# -- close codes and faults (SPEC §5, issue #3) ----------------------------------------------------


def fault(server, spec, *args, stdin=None):
    return run_cli(
        "ws-chat", "--url", ws_url(server), "-o", "ndjson", "-H", f"X-Streamchat-Fault: {spec}", "--retries", "0", *args, "Hi", stdin=stdin
    )


@pytest.mark.parametrize(
    "spec, code, needle, failure",
    [
        ("close-after=3;code=1000", 7, "1000", "closed_1000"),
        ("close-after=3;code=1011", 1, "1011", "closed_1011"),
        ("close-after=3;code=1008", 5, "1008", "closed_1008"),
        ("close-after=3;code=1009", 7, "1009", "closed_1009"),
        ("drop-after=3", 3, "1006", "connection_lost"),
        ("error-after=3", 1, "injected error after 3 tokens", None),  # the server's own error event: no second line
    ],
)
def test_close_codes_map_to_exit_status(server, spec, code, needle, failure):
    r = fault(server, spec)
    assert r.code == code, r.stderr
    assert needle in r.stderr and r.stderr.startswith("streamchat: error:")
    lines = r.lines()
    assert [line["type"] for line in lines[:3]] == ["content"] * 3 and "done" not in [line["type"] for line in lines]
    if failure is not None:
        assert lines[-1]["type"] == "error" and lines[-1]["code"] == failure  # the close, as data
    else:
        assert sum(line["type"] == "error" for line in lines) == 1


def test_message_over_the_cap_is_7(server):
    r = fault(server, "oversize=5000", "--max-message-size", "1KB")
    assert r.code == 7 and "max-message-size" in r.stderr
    assert json.loads(r.out.splitlines()[-1])["code"] == "too_large"  # as chat's --max-response-size


def test_read_timeout_is_4(server):
    r = fault(server, "stall-after=2", "--read-timeout", "0.5")
    assert r.code == 4 and [line["type"] for line in r.lines()] == ["content", "content", "error"]
    assert r.lines()[-1]["code"] == "timeout"


def test_handshake_refused_401_is_5(auth_server):
    r = run_cli("ws-chat", "--url", ws_url(auth_server), "Hi")
    assert r.code == 5 and "401" in r.stderr
    r = run_cli("ws-chat", "--url", ws_url(auth_server), "Hi", env=clean_env(STREAMCHAT_TOKEN="s3cret-token-value"))
    assert r.code == 0 and "s3cret" not in r.out + r.stderr


def test_handshake_5xx_retried(server, ws):
    before = ws.accepted
    r = run_cli("ws-chat", "--url", ws_url(server), "-H", "X-Streamchat-Fault: status=503;retry-after=0;count=2;id=ws-hs", "Hi")
    assert r.code == 0, r.stderr
    assert ws.accepted - before == 1 and r.stderr.count("retrying") == 2
    r = run_cli("ws-chat", "--url", ws_url(server), "-H", "X-Streamchat-Fault: status=500", "--retries", "0", "Hi")
    assert r.code == 6


def test_refused_is_3(cli):
    r = cli("ws-chat", "--url", "ws://127.0.0.1:9/x", "--retries", "0", "Hi")
    assert r.code == 3


def test_failure_before_output_reconnects_and_resends(server, ws):
    before = ws.accepted
    r = run_cli("ws-chat", "--url", ws_url(server), "-o", "ndjson", "-H", "X-Streamchat-Fault: drop-after=0;count=1;id=ws-resend", "Hi")
    assert r.code == 0, r.stderr
    assert ws.accepted - before == 2
    assert "".join(line.get("text", "") for line in r.lines()) == expected_reply("Hi")  # nothing twice


def test_failure_after_output_is_never_resent(server, ws):
    before = ws.accepted
    r = run_cli("ws-chat", "--url", ws_url(server), "-H", "X-Streamchat-Fault: drop-after=2;count=1;id=ws-noresend", "Hi")
    assert r.code == 3
    assert ws.accepted - before == 1


def test_error_in_a_later_turn_stops_the_run(server):
    r = run_cli("ws-chat", "--url", ws_url(server), "-o", "ndjson", "-H", "X-Streamchat-Fault: error-after=1;on-turn=2", input=b"a\nb\nc\n")
    assert r.code == 1
    turns = {line["turn"] for line in r.lines()}
    assert turns == {1, 2}


def test_bad_json_request_line_is_2(server):
    r = run_cli("ws-chat", "--url", ws_url(server), input=b"{not json\n")
    assert r.code == 2 and "stdin:1" in r.stderr


# -- keepalive ---------------------------------------------------------------------------------


def silent_ws_server() -> tuple[socket.socket, int]:
    """Completes the handshake, then never answers anything (not even pings)."""
    from raw_servers import accept_forever
    from websockets.server import ServerProtocol

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def handle(conn):
        proto = ServerProtocol()
        while True:
            data = conn.recv(65536)
            if not data:
                return
            proto.receive_data(data)
            for event in proto.events_received():
                if hasattr(event, "headers") and hasattr(event, "path"):
                    proto.send_response(proto.accept(event))
                    for out in proto.data_to_send():
                        conn.sendall(out)
                    while conn.recv(65536):
                        pass  # swallow pings and requests: no pong, no reply
                    return

    accept_forever(listener, handle)
    return listener, listener.getsockname()[1]


def test_missed_pong_is_4():
    listener, port = silent_ws_server()
    try:
        r = run_cli("ws-chat", "--url", f"ws://127.0.0.1:{port}/ws", "--ping-interval", "0.3", "--read-timeout", "30", "Hi")
        assert r.code == 4 and "pong" in r.stderr
    finally:
        listener.close()


# -- signals and terminals ------------------------------------------------------------------------


def test_sigint_mid_reply_is_130_with_close_1000(slow_server):
    ws = slow_server.app.state.ws
    count = len(ws.close_codes)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamchat", "ws-chat", "--url", ws_url(slow_server), "-o", "ndjson", "Hi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    assert json.loads(proc.stdout.readline())["type"] == "content"
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    lines = [json.loads(line) for line in rest.splitlines()]
    assert all(line["type"] == "content" for line in lines[:-1]) and lines[-1]["code"] == "interrupted"
    wait_until(lambda: len(ws.close_codes) > count, what="the server seeing the close")
    assert ws.close_codes[-1] == 1000


class Terminal:
    """The program on a pseudo-terminal (stdin, stdout, stderr); everything it wrote is searchable.

    Started with Popen, not pty.fork: forking the multi-threaded test process could deadlock.
    """

    def __init__(self, *args: str) -> None:
        import pty

        self.fd, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamchat", *args], stdin=slave, stdout=slave, stderr=slave, env=clean_env(), start_new_session=True
        )
        os.close(slave)
        self.screen = b""
        self.pos = 0

    def expect(self, needle: bytes, timeout: float = 20) -> bool:
        import select

        deadline = time.time() + timeout
        while True:
            found = self.screen.find(needle, self.pos)
            if found >= 0:
                self.pos = found + len(needle)
                return True
            if time.time() > deadline:
                return False
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    self.screen += os.read(self.fd, 65536)
                except OSError:
                    return False

    def type(self, data: bytes) -> None:
        # The prompt is printed just before readline takes the terminal: a key typed in between can
        # be lost, as a human typing that fast would find. readline reading means the terminal is out
        # of canonical mode (the master side sees the terminal's modes): type once it is.
        import termios

        wait_until(lambda: not termios.tcgetattr(self.fd)[3] & termios.ICANON, timeout=20, what="readline reading the terminal")
        os.write(self.fd, data)

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            os.close(self.fd)


def test_interactive_session_on_a_terminal(server):
    term = Terminal("ws-chat", "--url", ws_url(server), "-q")
    try:
        assert term.expect("› ".encode())
        term.type(b"first question\r")
        assert term.expect(expected_reply("first question").encode())
        assert term.expect("› ".encode())
        term.type(b"\x04")  # Ctrl-D ends the session
    finally:
        assert term.close() == 0


def test_ctrl_c_cancels_the_answer_and_keeps_the_session(slow_server):
    term = Terminal("ws-chat", "--url", ws_url(slow_server), "-q")
    try:
        assert term.expect("› ".encode())
        term.type(b"long answer please\r")
        assert term.expect(expected_reply("long answer please", tokens=40).split(" ")[0].encode())
        term.proc.send_signal(signal.SIGINT)  # what the terminal does on Ctrl-C
        assert term.expect(b"answer cancelled")
        assert term.expect("› ".encode())
        term.type(b"second\r")
        assert term.expect(expected_reply("second", tokens=40).encode()[-15:])
        assert term.expect("› ".encode())
        term.type(b"\x04")
    finally:
        assert term.close() == 0


def test_a_refused_connection_is_connect_failed_in_ws_chat_and_camera():
    """No byte came back: connect_failed, as chat says it (connection_lost is for a reply cut mid-way)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the runs: nothing listens there
    r = run_cli("ws-chat", "--url", f"ws://127.0.0.1:{port}/api/chat/ws", "--retries", "0", "-o", "ndjson", "Hi")
    assert r.code == 3 and json.loads(r.out.splitlines()[-1])["code"] == "connect_failed", r.out
    cam = run_cli("camera", "cam1", "--url", f"ws://127.0.0.1:{port}", "--retries", "0")
    assert cam.code == 3 and json.loads(cam.out.splitlines()[-1])["code"] == "connect_failed", cam.out


def test_garbage_and_escape_faults_reach_the_websocket_too(server):
    """The reference server's stream-shaping faults apply on every transport (README's fault table)."""
    r = fault(server, "garbage")
    assert r.code == 7 and json.loads(r.out.splitlines()[-1])["code"] == "protocol_error", r.out
    r = fault(server, "escape")
    assert r.code == 0 and "\x1b[2J" in json.loads(r.out.splitlines()[0])["text"], r.out  # ndjson into a pipe: exact


def test_a_json_turn_with_its_own_model_takes_that_models_provider():
    """--provider defaults to the model's prefix (none without one): a JSON turn that names a model
    gets that model's, unless --provider named one or the turn gives its own."""
    from streamchat.protocol.requests import ChatRequest
    from streamchat.session.commands import request_for_line

    base = ChatRequest(message="x", model_id="deepseek/deepseek-chat", provider_slug="deepseek")
    assert request_for_line('{"message": "m", "model_id": "zz"}', base, "line 1").provider_slug is None
    assert request_for_line('{"message": "m", "model_id": "acme/zz"}', base, "line 1").provider_slug == "acme"
    assert request_for_line('{"message": "m", "model_id": "acme/zz", "provider_slug": "p"}', base, "line 1").provider_slug == "p"
    chosen = ChatRequest(message="x", model_id="deepseek/deepseek-chat", provider_slug="mine")  # --provider mine
    assert request_for_line('{"message": "m", "model_id": "acme/zz"}', chosen, "line 1").provider_slug == "mine"


@pytest.mark.parametrize("turn", [b'{"message": ""}\n', b'{"model_id": "m"}\n'])
def test_a_json_turn_without_a_message_is_a_usage_error_after_the_turns_before_it(server, ws, turn):
    """As chat and `ws-chat ""` refuse an empty message, a JSON turn must carry one."""
    first = len(ws.requests)
    r = run_cli("ws-chat", "--url", ws_url(server), "-o", "ndjson", input=b"one\n" + turn + b"three\n")
    assert r.code == 2, r.stderr
    assert "stdin:2: the JSON request has no message" in r.stderr
    assert [req["message"] for _, req in ws.requests[first:]] == ["one"]
    assert [line["type"] for line in r.lines()][-1] == "done"  # the first turn's reply was written


def test_a_stdin_turn_that_is_not_utf8_is_refused_as_chat_refuses_it(server, ws):
    first = len(ws.requests)
    r = run_cli("ws-chat", "--url", ws_url(server), input=b"caf\xe9\n")
    assert r.code == 2 and "standard input is not UTF-8 text" in r.stderr, r.stderr
    assert ws.requests[first:] == []
    # the byte is named by its place in stdin, as chat names it (not by its place in the line)
    later = run_cli("ws-chat", "--url", ws_url(server), "-q", input=b"hello\n\ncaf\xe9\n")
    assert later.code == 2 and "standard input is not UTF-8 text (byte 10)" in later.stderr, later.stderr
    assert [req["message"] for _, req in ws.requests[first:]] == ["hello"]
    single = run_cli("ws-chat", "--url", ws_url(server), "")
    assert single.code == 2 and 'streamchat ws-chat "Hello"' in single.stderr, single.stderr
