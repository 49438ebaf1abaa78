"""Admission of one request, the same for every endpoint: its fault knobs, its body, and the faults
that answer in its place (``status=C``, ``count=K``). The token and the body cap are the gate's
(``gate.py``): they hold before anything here runs.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket

from ..errors import UsageError
from .config import ServerConfig
from .faults import Fault, FaultCounter, parse_fault
from .gate import BodyTooLarge


@dataclass(frozen=True)
class SeenRequest:
    """What a test may ask the server about a request it answered (kept in memory only)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client: tuple[str, int] | None = None  # the peer address: which connection carried it


@dataclass
class Admitted:
    fault: Fault
    body: bytes

    def json(self) -> Any:
        """The body as JSON (None when it is not JSON at all)."""
        try:
            return json.loads(self.body) if self.body.strip() else None
        except (ValueError, UnicodeDecodeError):
            return None


def error(status: int, message: str, code: Any = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "code": code if code is not None else status}}, status, headers=headers)


def _closing(status: int, message: str, code: str) -> JSONResponse:
    """An error after which the connection closes: the rest of the request body is never read."""
    return error(status, message, code, {"Connection": "close"})


SEEN_REQUESTS = 256
SEEN_BYTES = 32 * 1024 * 1024  # the record of requests keeps the latest bodies up to this much in all


class Admission:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.faults = FaultCounter()
        self.seen: deque[SeenRequest] = deque(maxlen=SEEN_REQUESTS)
        self.seen_bytes = 0

    def _record(self, seen: SeenRequest) -> None:
        if len(self.seen) == SEEN_REQUESTS:
            self.seen_bytes -= len(self.seen[0].body)
        self.seen.append(seen)
        self.seen_bytes += len(seen.body)
        while self.seen_bytes > SEEN_BYTES and len(self.seen) > 1:
            self.seen_bytes -= len(self.seen.popleft().body)

    @staticmethod
    def fault_of(headers: Any, query: Any) -> Fault:
        return parse_fault(headers.get("x-streamchat-fault") or query.get("fault"))

    def _instead(self, fault: Fault) -> tuple[Fault, tuple[int, str, dict[str, str] | None] | None]:
        """The fault that applies to this request (``count`` spent: none), and the status it answers instead."""
        if fault.count is not None and not self.faults.take(fault):
            return Fault(), None
        if fault.status is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
            return fault, (fault.status or 500, f"injected status {fault.status}", headers)
        return fault, None

    async def read_body(self, request: Request) -> bytes | Response:
        """The whole body, within the gate's cap and with at most ``body_timeout`` of silence."""
        chunks: list[bytes] = []
        stream = aiter(request.stream())
        try:
            while True:
                try:
                    async with asyncio.timeout(self.config.body_timeout):
                        chunks.append(await anext(stream))
                except StopAsyncIteration:
                    return b"".join(chunks)
        except BodyTooLarge:
            return _closing(413, f"request body over the server's limit ({self.config.max_body} bytes)", "body_too_large")
        except TimeoutError:
            return _closing(408, "the request body stopped arriving", "body_timeout")

    async def http(self, request: Request) -> Admitted | Response:
        try:
            fault = self.fault_of(request.headers, request.query_params)
        except UsageError as exc:
            return error(400, str(exc), "bad_fault")
        body = await self.read_body(request)
        if isinstance(body, Response):
            return body
        client = (request.client.host, request.client.port) if request.client else None
        self._record(SeenRequest(request.method, request.url.path, dict(request.headers), body, client))
        fault, instead = self._instead(fault)
        if instead is not None:
            status, message, headers = instead
            return error(status, message, status, headers)
        return Admitted(fault, body)

    async def websocket(self, websocket: WebSocket) -> Fault | None:
        """The handshake's faults; None when the connection was refused (the answer is sent)."""
        try:
            fault = self.fault_of(websocket.headers, websocket.query_params)
        except UsageError as exc:
            await websocket.send_denial_response(JSONResponse({"error": {"message": str(exc)}}, 400))
            return None
        fault, instead = self._instead(fault)
        if instead is not None:
            status, message, headers = instead
            await websocket.send_denial_response(JSONResponse({"error": {"message": message}}, status, headers=headers))
            return None
        return fault

    async def refuse_websocket(self, websocket: WebSocket, status: int, message: str) -> None:
        await websocket.send_denial_response(JSONResponse({"error": {"message": message, "code": status}}, status))
