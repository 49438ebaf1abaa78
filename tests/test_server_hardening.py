"""The reference server against hostile clients: raw sockets that never finish a head, never leave,
send bodies nobody asked for, ask for frames nobody should render, and more connections than allowed."""

from __future__ import annotations

import json
import resource
import socket
import threading

import pytest
from server_clients import Flood, closed_by_peer, connect, exchange, post_json, read_body, read_head, request_bytes
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from streamchat.server.config import ServerConfig
from streamchat.server.connections import raise_open_file_limit
from streamchat.server.embedded import start_in_thread

TOKEN = "hardening-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHAT = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
MB = 1024 * 1024
BUFFERS = 24 * MB  # what the two kernels' socket buffers may take on loopback before a sender blocks


@pytest.fixture(scope="module")
def hard():
    """A server with a token, a 1 MB body cap and short timeouts (the defaults are 64 MB, 10 s and 5 s)."""
    config = ServerConfig(
        ttft_ms=0, itl_ms=0, reply_tokens=6, token=TOKEN, max_body=MB, head_timeout=1.0, idle_timeout=0.5, body_timeout=0.5
    )
    with start_in_thread(config) as running:
        yield running


def test_the_defaults_are_the_documented_ones():
    config = ServerConfig()
    assert (config.max_body, config.limit_concurrency, config.head_timeout, config.idle_timeout) == (64 * MB, 2048, 10.0, 5.0)


# -- the token comes before the body --------------------------------------------------------------


def test_unauthenticated_100mb_post_is_refused_before_its_body_is_read():
    with start_in_thread(ServerConfig(token=TOKEN)) as server:  # the default 64 MB cap: the token alone refuses it
        sock = connect(server.url)
        head = request_bytes("POST", "/v1/chat/completions", headers={"Content-Length": str(100 * MB), "Content-Type": "application/json"})
        flood = Flood(sock, head, 100 * MB)
        status, headers, _ = read_head(sock)
        assert status == 401 and headers.get("connection") == "close"
        assert flood.wait() and isinstance(flood.error, ConnectionError), flood.error  # cut off, not merely slowed
        assert flood.sent < BUFFERS  # what the kernels buffered, not the 100 MB
        sock.close()


def test_every_endpoint_but_healthz_wants_the_token(hard):
    assert exchange(hard.url, "GET", "/healthz")[0] == 200
    for method, path in [
        ("GET", "/api/config"),
        ("GET", "/v1/models"),
        ("GET", "/api/tags"),
        ("POST", "/api/v1/auths/signin"),
        ("GET", "/nowhere"),
    ]:
        status, _, body = exchange(hard.url, method, path, b"{}" if method == "POST" else None)
        assert status == 401 and json.loads(body)["error"]["code"] == "unauthorized", path
    assert exchange(hard.url, "GET", "/api/config", headers=AUTH)[0] == 200
    assert exchange(hard.url, "GET", f"/v1/models?token={TOKEN}")[0] == 200
    assert exchange(hard.url, "GET", "/api/tags", headers={"x-api-key": TOKEN})[0] == 200
    ws = hard.url.replace("http", "ws", 1)
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(ws + "/api/chat/ws")
    assert refused.value.response.status_code == 401


def test_socketio_wants_the_token_in_its_connect_packet(hard):
    import socketio

    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(hard.url, socketio_path="/ws/socket.io", transports=["websocket"], auth={"token": "wrong"}, wait_timeout=5)
    client.connect(hard.url, socketio_path="/ws/socket.io", transports=["websocket"], auth={"token": TOKEN}, wait_timeout=5)
    client.disconnect()


# -- the body cap ----------------------------------------------------------------------------------


def test_declared_body_over_the_cap_is_413_at_once(hard):
    with connect(hard.url) as sock:
        sock.sendall(request_bytes("POST", "/v1/chat/completions", headers={**AUTH, "Content-Length": str(2 * MB)}))
        status, headers, _ = read_head(sock)  # answered without a byte of the body sent
        assert status == 413 and headers.get("connection") == "close"
        assert closed_by_peer(sock)


def test_chunked_body_is_cut_off_when_it_passes_the_cap(hard):
    sock = connect(hard.url)
    head = request_bytes("POST", "/v1/chat/completions", headers={**AUTH, "Transfer-Encoding": "chunked"})
    flood = Flood(sock, head, 200 * MB, chunked=True)
    status, _, _ = read_head(sock)
    assert status == 413
    assert flood.wait() and flood.error is not None and flood.sent < MB + BUFFERS
    sock.close()


def test_a_body_that_stops_arriving_is_408(hard):
    with connect(hard.url) as sock:
        sock.sendall(request_bytes("POST", "/v1/chat/completions", headers={**AUTH, "Content-Length": "100"}) + b'{"model": ')
        status, _, _ = read_head(sock)
        assert status == 408 and closed_by_peer(sock)


def test_bodies_within_the_cap_are_answered(hard):
    status, _, body = post_json(hard.url, "/v1/chat/completions", {**CHAT, "pad": "x" * (MB // 2)}, AUTH)
    assert status == 200 and body.endswith(b"data: [DONE]\n\n")


# -- heads and idle connections ---------------------------------------------------------------


def test_a_connection_that_says_nothing_is_closed(hard):
    with connect(hard.url) as sock:
        assert closed_by_peer(sock)


def test_slowloris_head_is_closed_though_it_keeps_sending(hard):
    with connect(hard.url) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(0.1)
        for n in range(200):  # one header byte every 0.1 s: activity, but never a complete head
            try:
                if sock.recv(1) == b"":
                    break
            except TimeoutError:
                pass
            except ConnectionResetError:
                break
            try:
                sock.sendall(b"X-a: b\r\n"[n % 8 : n % 8 + 1])
            except OSError:
                break
        else:
            pytest.fail("the server kept a head that never ended open for 20 s")


def test_idle_between_requests_is_closed_and_a_busy_stream_is_not(hard):
    with connect(hard.url) as sock:
        sock.sendall(request_bytes("GET", "/healthz"))
        status, headers, rest = read_head(sock)
        assert status == 200 and read_body(sock, headers, rest) == b'{"status":"ok"}'
        assert closed_by_peer(sock)
    # a paced stream longer than every timeout is served to its end
    with start_in_thread(ServerConfig(ttft_ms=0, itl_ms=40, reply_tokens=40, idle_timeout=0.3, head_timeout=0.3)) as slow:
        status, _, body = post_json(slow.url, "/v1/chat/completions", CHAT)
        assert status == 200 and body.endswith(b"data: [DONE]\n\n")


def test_a_head_over_64_kib_is_431(hard):
    with connect(hard.url) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * (70 * 1024))
        status, _, _ = read_head(sock)
        assert status == 431 and closed_by_peer(sock)


def test_websocket_connections_outlive_the_http_timers(hard):
    with ws_connect(hard.url.replace("http", "ws", 1) + f"/api/chat/ws?token={TOKEN}") as ws:
        with connect(hard.url) as idle:  # opened after the WebSocket: closed by its head timer, the WebSocket must not be
            assert closed_by_peer(idle)
        ws.send(json.dumps({"type": "chat", "message": "Hi"}))
        frames = [json.loads(ws.recv(timeout=10)) for _ in range(9)]
        assert frames[-1]["type"] == "done"


# -- how many connections ----------------------------------------------------------------------


def test_connections_over_the_limit_are_closed_at_once():
    with start_in_thread(ServerConfig(limit_concurrency=4, idle_timeout=60, head_timeout=60)) as server:
        held = []
        for _ in range(4):
            sock = connect(server.url)
            sock.sendall(request_bytes("GET", "/healthz"))
            assert read_head(sock)[0] == 200  # accepted and counted
            held.append(sock)
        extra = connect(server.url)
        assert closed_by_peer(extra, within=5)
        held.pop().close()
        for _ in range(100):  # the server sees the close soon; until then a new connection is refused too
            try:
                assert exchange(server.url, "GET", "/healthz")[0] == 200
                break
            except ConnectionError:
                continue
        else:
            pytest.fail("no room was made by closing a connection")
        for sock in held:
            sock.close()


def test_the_open_file_limit_is_raised_within_the_hard_limit():
    soft, hard_limit = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard_limit))
        raised = raise_open_file_limit(2048)
        assert raised == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert raised == (2048 + 256 if hard_limit == resource.RLIM_INFINITY else min(2048 + 256, hard_limit))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard_limit))


# -- the camera -----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["width=16000&height=16000", "fps=1000", "width=8", "height=abc"])
def test_camera_requests_over_the_caps_are_refused(hard, query):
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(hard.url.replace("http", "ws", 1) + f"/ws/stream/cam?token={TOKEN}&{query}")
    assert refused.value.response.status_code == 400


def test_a_large_frame_is_rendered_off_the_event_loop(hard):
    """A 7680×4319 frame takes Pillow a quarter of a second or more: /healthz answers meanwhile."""
    url = hard.url.replace("http", "ws", 1) + f"/ws/stream/big?token={TOKEN}&width=7680&height=4319&fps=1"
    order: list[str] = []
    with ws_connect(url, max_size=None) as ws:
        first = threading.Thread(target=lambda: (ws.recv(timeout=30), order.append("frame")))
        first.start()
        assert exchange(hard.url, "GET", "/healthz")[0] == 200
        order.append("healthz")
        first.join(30)
    assert order == ["healthz", "frame"]


def test_no_socket_is_left_behind(hard):
    """After a client vanished mid-request, the server holds no half-read state: a new request works."""
    with socket.create_connection(("127.0.0.1", int(hard.url.rsplit(":", 1)[1]))) as sock:
        sock.sendall(request_bytes("POST", "/v1/chat/completions", headers={**AUTH, "Content-Length": "50"}) + b"{")
    assert post_json(hard.url, "/v1/chat/completions", CHAT, AUTH)[0] == 200


def test_the_record_of_requests_is_bounded_in_bytes(monkeypatch):
    import streamchat.server.admission as admission

    monkeypatch.setattr(admission, "SEEN_BYTES", 1000)
    with start_in_thread(ServerConfig(ttft_ms=0, itl_ms=0, reply_tokens=2)) as server:
        for n in range(5):
            post_json(server.url, "/v1/chat/completions", {**CHAT, "pad": str(n) * 300})
        seen = server.app.state.reference.seen
        assert sum(len(s.body) for s in seen) <= 1000 and json.loads(seen[-1].body)["pad"] == "4" * 300
