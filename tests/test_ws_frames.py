"""The WebSocket client's frame splitter: plain text frames fast, everything else via the protocol."""

from __future__ import annotations

from raw_servers import ws_frames
from websockets.client import ClientProtocol
from websockets.protocol import State

from streamchat.client.ws import WSConnection, WSOptions


def connection(max_size: int = 1 << 20) -> WSConnection:
    conn = WSConnection("ws://127.0.0.1:1/x", WSOptions(max_message_size=max_size))
    conn.protocol = ClientProtocol(conn.uri, state=State.OPEN, max_size=max_size)
    return conn


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    if size < 126:
        return head + bytes([size]) + payload
    return head + bytes([126]) + size.to_bytes(2, "big") + payload


STREAM = (
    ws_frames([b'{"type":"content","text":"a"}'])
    + frame(0x9, b"ping!")  # a ping between messages
    + ws_frames([("é" * 100).encode(), b"x" * 70000])  # 2-byte and 8-byte lengths
    + frame(0x1, b"frag", fin=False)
    + frame(0x0, b"mented")
    + ws_frames([b"last"])
)
EXPECTED = ['{"type":"content","text":"a"}', "é" * 100, "x" * 70000, "fragmented", "last"]


def test_every_split_point_gives_the_same_messages_and_answers_the_ping():
    for cut in list(range(0, 200)) + [len(STREAM) - k for k in range(1, 50)]:
        conn = connection()
        got = conn._split_frames(STREAM[:cut]) + conn._split_frames(STREAM[cut:])
        assert got == EXPECTED, cut
        sent = b"".join(conn.protocol.data_to_send())
        assert sent[:1] == b"\x8a"  # a pong went out


def test_oversize_text_frame_fails_the_connection_1009():
    conn = connection(max_size=100)
    assert conn._split_frames(ws_frames([b"y" * 500, b"after"])) == []
    assert conn.protocol.state is not State.OPEN
    from streamchat.client.ws import closed_error

    assert "max-message-size" in str(closed_error(conn.protocol))


def test_close_frame_goes_to_the_protocol():
    conn = connection()
    msgs = conn._split_frames(ws_frames([b"bye"]) + frame(0x8, (1011).to_bytes(2, "big") + b"boom"))
    assert msgs == ["bye"]
    assert conn.protocol.close_rcvd.code == 1011


def test_frames_in_the_same_read_as_the_handshake_response_are_kept():
    """A fast server (a camera at fps=0) can put its first frames, even its close, in the 101's packet."""
    import socket
    import threading

    from websockets.http11 import Request
    from websockets.server import ServerProtocol

    from streamchat.errors import StreamchatError

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        proto = ServerProtocol()
        with conn:
            while True:
                proto.receive_data(conn.recv(65536))
                requests = [e for e in proto.events_received() if isinstance(e, Request)]
                if requests:
                    break
            proto.send_response(proto.accept(requests[0]))
            head = b"".join(proto.data_to_send())
            conn.sendall(head + ws_frames([b"one", b"two", b"three"]) + frame(0x8, (1000).to_bytes(2, "big")))
            conn.recv(65536)  # the client's close reply

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    conn = WSConnection(f"ws://127.0.0.1:{listener.getsockname()[1]}/x", WSOptions(read_timeout=5))
    conn.open()
    got = []
    try:
        while True:
            got += conn.receive()
    except StreamchatError as exc:
        closed = str(exc)
    assert got == ["one", "two", "three"]
    assert "1000" in closed
    conn.close()
    thread.join(5)
    listener.close()
