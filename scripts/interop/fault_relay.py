"""A loopback relay between Open WebUI and `streamchat serve` that turns model names into fault knobs.

Open WebUI forwards neither our headers nor our query string to its OpenAI backend, so the reference
server's per-request faults (the `X-Streamchat-Fault` header) cannot be asked through it. This relay
sits where Open WebUI expects its backend: it lists one model per scenario on `GET /v1/models`, and
on `POST /v1/chat/completions` it rewrites the scenario's model name into the backend's, adds the
scenario's fault header and pipes the answer back byte for byte (a drop stays a drop, a stall a stall).
A scenario whose backend is `None` is a backend that is down: the relay resets the connection at once.

    python3 fault_relay.py --fast PORT --slow PORT [--port P] [--port-file PATH] [--log PATH]

It binds 127.0.0.1 (on a free port unless --port), writes the port to --port-file, logs every chat
request Open WebUI sends to --log (one JSON line each), and serves until it is terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Scenario:
    backend: str | None  # "fast", "slow", or None: down
    model: str  # the name the backend is asked for
    fault: str | None = None
    usage: bool = False  # ask the backend for usage (Open WebUI does not send stream_options itself)


# The first listed is what a client that discovers models picks: the plain one.
SCENARIOS: dict[str, Scenario] = {
    "sc-text": Scenario("fast", "sc-text"),
    "sc-usage": Scenario("fast", "sc-text", usage=True),
    "sc-reasoner": Scenario("fast", "sc-reasoner", usage=True),  # the reference server reasons for ids containing "reason"
    "sc-error-mid": Scenario("fast", "sc-text", "error-after=3"),
    "sc-500": Scenario("fast", "sc-text", "status=500"),
    "sc-429": Scenario("fast", "sc-text", "status=429;retry-after=0"),
    "sc-drop": Scenario("fast", "sc-text", "drop-after=3"),
    "sc-stall": Scenario("fast", "sc-text", "stall-after=3"),
    "sc-garbage": Scenario("fast", "sc-text", "garbage"),
    "sc-slow": Scenario("slow", "sc-slow"),
    "sc-down": Scenario(None, "sc-text"),
}


async def read_head(reader: asyncio.StreamReader) -> tuple[str, list[tuple[str, str]]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            fields.append((name.strip(), value.strip()))
    return lines[0], fields


async def read_body(reader: asyncio.StreamReader, fields: list[tuple[str, str]]) -> bytes:
    lowered = {name.lower(): value for name, value in fields}
    if "content-length" in lowered:
        return await reader.readexactly(int(lowered["content-length"]))
    if lowered.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readline()).split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # (no trailers from aiohttp)
                return body
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    return b""


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST, as a backend whose process is gone looks to its client."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


def answer_json(writer: asyncio.StreamWriter, status: int, body: object) -> None:
    payload = json.dumps(body).encode()
    head = f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    writer.write(head.encode() + payload)


class Relay:
    def __init__(self, ports: dict[str, int], log: TextIO | None) -> None:
        self.ports = ports
        self.log = log  # every chat request Open WebUI sends its backend, one JSON line each

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line, fields = await read_head(reader)
            body = await read_body(reader, fields)
            method, path, _ = request_line.split(" ", 2)
            if method == "GET" and path.split("?")[0].rstrip("/").endswith("/models"):
                answer_json(
                    writer,
                    200,
                    {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "streamchat"} for name in SCENARIOS]},
                )
                await writer.drain()
                writer.close()
                return
            await self.forward(method, path, fields, body, writer)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            writer.close()

    async def forward(self, method: str, path: str, fields: list[tuple[str, str]], body: bytes, writer: asyncio.StreamWriter) -> None:
        scenario = SCENARIOS["sc-text"]
        try:
            request = json.loads(body) if body else None
        except ValueError:
            request = None
        if isinstance(request, dict) and request.get("model") in SCENARIOS:
            scenario = SCENARIOS[request["model"]]
            request["model"] = scenario.model
            if scenario.usage:
                request["stream_options"] = {"include_usage": True}
            if scenario.fault:
                # Open WebUI offers its built-in tools, and the reference server calls a tool when offered one:
                # without them, the fault hits the text reply rather than a tool-call round before it.
                request.pop("tools", None)
            body = json.dumps(request).encode()
        if self.log is not None:
            self.log.write(json.dumps({"path": path, "body": request}) + "\n")
            self.log.flush()
        if scenario.backend is None:
            reset(writer)
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(LOOPBACK, self.ports[scenario.backend])
        skip = {"content-length", "transfer-encoding", "connection", "host", "x-streamchat-fault"}
        head = [f"{method} {path} HTTP/1.1", f"Host: {LOOPBACK}:{self.ports[scenario.backend]}", "Connection: close"]
        head += [f"{name}: {value}" for name, value in fields if name.lower() not in skip]
        head += [f"Content-Length: {len(body)}"]
        if scenario.fault:
            head.append(f"X-Streamchat-Fault: {scenario.fault}")
        upstream_writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await upstream_writer.drain()
        # Byte for byte, as it comes; an abort upstream is an abort here.
        try:
            while chunk := await upstream_reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            reset(writer)
            upstream_writer.close()
            return
        upstream_writer.close()
        writer.close()


async def serve(port: int, port_file: Path | None, ports: dict[str, int], log_path: Path | None) -> None:
    relay = Relay(ports, log_path.open("a") if log_path else None)
    server = await asyncio.start_server(relay.handle, LOOPBACK, port)
    if port_file is not None:
        port_file.write_text(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fast", type=int, required=True, help="the port of the fast reference server")
    parser.add_argument("--slow", type=int, required=True, help="the port of the slow reference server")
    parser.add_argument("--port", type=int, default=0, help="the port to listen on (0: any free one)")
    parser.add_argument("--port-file", type=Path, help="where to write the port listened on")
    parser.add_argument("--log", type=Path, help="where to log each chat request (JSON lines)")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.port_file, {"fast": args.fast, "slow": args.slow}, args.log))
