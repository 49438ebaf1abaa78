"""A raw asyncio OpenAI chat completions peer that stamps its own timings, for measuring load testers.

    python3 benchmarks/raw_peer.py --port 0 --ttft-ms 50 --itl-ms 10 --tokens 64 --stamps stamps.ndjson

No framework and none of streamchat's code: it is the independent truth a load tester's TTFT is
checked against. Every streamed request gets a fixed TTFT and ITL, paced on deadlines from the
moment its request was fully read (a late token does not delay the next one's deadline). It stamps
``time.monotonic_ns()`` (CLOCK_MONOTONIC) when the last byte of a request arrives and right after
each token's write hands the bytes to the kernel, and appends one NDJSON line per finished stream to
``--stamps``: ``{"prompt", "arrive_ns", "first_ns", "last_ns", "tokens", "pid"}``. The server's own
TTFT is ``first_ns - arrive_ns``; a client's TTFT minus that is the client's error.

Answers ``GET /health`` and ``GET /v1/models`` (GuideLLM asks both first) and ``POST /v1/chat/completions`` with
``"stream": true`` (one HTTP chunk a token, usage in the last chunk, then ``[DONE]``), keep-alive.
``--workers N`` forks N processes accepting on one port (SO_REUSEPORT). Prints ``listening on URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sys
import time

MODELS = b'{"object":"list","data":[{"id":"m","object":"model","created":0,"owned_by":"raw-peer"}]}'
STREAM_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"


def token_chunk(delta: dict) -> bytes:
    """One token's SSE event in one HTTP chunk, made once: the peer spends its time on pacing, not formatting."""
    body = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
    }
    event = b"data: %s\n\n" % json.dumps(body).encode()
    return b"%x\r\n%s\r\n" % (len(event), event)


FIRST_TOKEN = token_chunk({"role": "assistant", "content": "tok "})
NEXT_TOKEN = token_chunk({"content": "tok "})


def last_message_text(body: bytes) -> str:
    """The last message's text: a string, or OpenAI's list of parts (what GuideLLM sends)."""
    try:
        content = (json.loads(body).get("messages") or [{}])[-1].get("content", "")
    except (ValueError, AttributeError, TypeError, IndexError):
        return ""
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content)


class Peer(asyncio.Protocol):
    """One connection: read a request, stream its reply, then the next (HTTP/1.1 keep-alive)."""

    def __init__(self, args: argparse.Namespace, stamps) -> None:
        self.args = args
        self.stamps = stamps
        self.buffer = b""
        self.busy = False
        self.closed = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc) -> None:
        self.closed = True

    def data_received(self, data: bytes) -> None:
        arrive = time.monotonic_ns()  # before any parsing: when the bytes reached this process
        self.buffer += data
        if not self.busy:
            self.next_request(arrive)

    def next_request(self, arrive: int) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if len(self.buffer) < end + 4 + length:
            return
        body = self.buffer[end + 4 : end + 4 + length]
        self.buffer = self.buffer[end + 4 + length :]
        method, path = (head[0].split(" ") + ["", ""])[:2]
        if method == "GET" and path.rstrip("/").endswith("/models"):
            self.respond(b"200 OK", b"application/json", MODELS)
        elif method == "GET" and path.rstrip("/").endswith("/health"):
            self.respond(b"200 OK", b"application/json", b"{}")
        elif method == "POST" and path.rstrip("/").endswith("/chat/completions"):
            self.busy = True
            asyncio.ensure_future(self.stream(body, arrive))
        else:
            self.respond(b"404 Not Found", b"application/json", b'{"error":{"message":"not found"}}')

    def respond(self, status: bytes, kind: bytes, body: bytes) -> None:
        assert self.transport is not None
        self.transport.write(b"HTTP/1.1 %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s" % (status, kind, len(body), body))

    async def stream(self, body: bytes, arrive: int) -> None:
        args = self.args
        transport = self.transport
        assert transport is not None
        prompt = last_message_text(body)[:80]
        transport.write(STREAM_HEAD)
        loop = asyncio.get_running_loop()
        start = arrive / 1e9  # loop.time() is time.monotonic(): the same clock as the stamps
        first = last = 0
        for index in range(args.tokens):
            delay = start + (args.ttft_ms + index * args.itl_ms) / 1000.0 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.closed:
                return
            transport.write(FIRST_TOKEN if index == 0 else NEXT_TOKEN)
            last = time.monotonic_ns()  # the bytes are with the kernel: from here on, the wait is the client's
            first = first or last
        usage = {"prompt_tokens": 8, "completion_tokens": args.tokens, "total_tokens": 8 + args.tokens}
        tail = (
            b'data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":%s}\n\n'
            % json.dumps(usage).encode()
            + b"data: [DONE]\n\n"
        )
        transport.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(tail), tail))
        line = {"prompt": prompt, "arrive_ns": arrive, "first_ns": first, "last_ns": last, "tokens": args.tokens, "pid": os.getpid()}
        self.stamps.write(json.dumps(line) + "\n")
        self.stamps.flush()
        self.busy = False
        if self.buffer:
            self.next_request(time.monotonic_ns())


async def serve(sock: socket.socket, args: argparse.Namespace) -> None:
    stamps = open(args.stamps, "a", encoding="utf-8")  # noqa: SIM115 - open for the process's life
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    server = await loop.create_server(lambda: Peer(args, stamps), sock=sock, backlog=1024)
    async with server:
        await stop.wait()
    stamps.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    parser.add_argument("--itl-ms", type=float, default=10.0)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--stamps", required=True, help="append one NDJSON line per finished stream here")
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(1024)
    sock.setblocking(False)
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    children = []
    for _ in range(args.workers - 1):  # the children share the listening socket
        pid = os.fork()
        if pid == 0:
            asyncio.run(serve(sock, args))
            os._exit(0)
        children.append(pid)
    try:
        asyncio.run(serve(sock, args))
    finally:
        for pid in children:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)


if __name__ == "__main__":
    sys.exit(main())
