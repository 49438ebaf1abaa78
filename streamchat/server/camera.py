"""The camera endpoints: ``WS /ws/stream/{camera_id}`` streams the synthetic scene (``scene.py``), and
``POST /api/v1/actions/actions/send`` is the frame sink for ``camera --forward``.

The stream takes ``?fps=&width=&height=`` (default: the server's settings), within the same bounds as
``serve --fps/--width/--height``: a request outside them is refused at the handshake (400), never
rendered. Faults: ``bad-base64=N``, ``not-jpeg=N``, ``missing=N`` (frame N broken that way),
``drop-after=N`` (cut without a close frame after N frames), ``close-after=N;code=C``,
``stall-after=N``, ``count=K`` (only the first K connections).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket

from .admission import Admission
from .config import ServerConfig
from .faults import Fault
from .limits import CAMERA_FPS, CAMERA_HEIGHT, CAMERA_WIDTH
from .pacing import Pacer
from .scene import Renderer, scene
from .steps import STALL_SECONDS
from .wspeer import Peer, serve_peer

__all__ = ["CameraEndpoints", "scene"]


def _bounded(query: Mapping[str, str], name: str, default: float, bounds: tuple[float, float], kind: type) -> float:
    """A query parameter within its bounds; ValueError (with the reason) otherwise."""
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number") from None
    low, high = bounds
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}")
    return value


class CameraEndpoints:
    def __init__(self, config: ServerConfig, admission: Admission) -> None:
        self.config = config
        self.admission = admission
        self.renderer = Renderer()
        self.sent: dict[str, list[bytes]] = {}  # camera id -> JPEG bytes sent, in order (tests compare)
        self.connections: dict[str, int] = {}
        self.forwarded: list[dict[str, Any]] = []  # what the frame sink received
        self.forward_auth: list[str | None] = []

    async def stream(self, websocket: WebSocket) -> None:
        fault = await self.admission.websocket(websocket)
        if fault is None:
            return
        cfg, q = self.config, websocket.query_params
        try:
            fps = _bounded(q, "fps", cfg.fps, CAMERA_FPS, float)
            width = int(_bounded(q, "width", cfg.width, CAMERA_WIDTH, int))
            height = int(_bounded(q, "height", cfg.height, CAMERA_HEIGHT, int))
        except ValueError as exc:
            await self.admission.refuse_websocket(websocket, 400, str(exc))
            return
        camera_id = websocket.path_params["camera_id"]
        self.connections[camera_id] = self.connections.get(camera_id, 0) + 1
        # Listen while sending: a client's close frame must end the stream at once, not when a
        # send finally fails (clients wait for our answer to their close).
        await serve_peer(websocket, lambda peer: peer.until_gone(self._frames(peer, camera_id, fault, fps, width, height)))

    async def _frames(self, peer: Peer, camera_id: str, fault: Fault, fps: float, width: int, height: int) -> None:
        sent = self.sent.setdefault(camera_id, [])
        pacer = Pacer(0, 1000.0 / fps if fps > 0 else 0)
        for n in range(1 << 62):
            action = fault.stop_at(n, False, ("drop", "close", "stall"))
            if action == "drop":
                peer.drop()
            if action == "close":
                await peer.close(fault.close_code or 1000)
                return
            if action == "stall":
                await asyncio.sleep(STALL_SECONDS)
            await pacer.before(n)
            jpeg, detections = await self.renderer.frame(len(sent), width, height)
            message = self._message(n + 1, camera_id, jpeg, detections, fault)
            if message is None:
                sent.append(jpeg)
                frame = {"frame": base64.b64encode(jpeg).decode(), "timestamp": int(time.time() * 1000), "camera_id": camera_id}
                message = json.dumps({**frame, "detections": detections})
            if not await peer.send_text(message):
                return

    @staticmethod
    def _message(number: int, camera_id: str, jpeg: bytes, detections: Any, fault: Fault) -> str | None:
        """A broken frame when a fault asks for one at this frame number (1-based), else None."""
        now = int(time.time() * 1000)
        if fault.bad_base64 == number:
            return json.dumps({"frame": "%%%not base64%%%", "timestamp": now, "camera_id": camera_id})
        if fault.not_jpeg == number:
            return json.dumps({"frame": base64.b64encode(b"GIF89a not a jpeg").decode(), "timestamp": now, "camera_id": camera_id})
        if fault.missing == number:
            return json.dumps({"frame": base64.b64encode(jpeg).decode(), "camera_id": camera_id})
        return None

    async def sink(self, request: Request) -> Response:
        """``POST /api/v1/actions/actions/send``: counts frames forwarded by ``camera --forward``."""
        admitted = await self.admission.http(request)
        if isinstance(admitted, Response):
            return admitted
        body = admitted.json()
        if body is None:
            return JSONResponse({"error": {"message": "not JSON"}}, 400)
        self.forwarded.append(body)
        self.forward_auth.append(request.headers.get("authorization"))
        return JSONResponse({"status": "ok", "received": len(self.forwarded)})
