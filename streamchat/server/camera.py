"""Synthetic camera frames (seed sse-chat-and-camera): a moving scene drawn with Pillow, whose
detection boxes are exactly where the shapes are drawn, and the frame sink for ``camera --forward``.

``WS /ws/stream/{camera_id}`` takes ``?fps=&width=&height=`` (default: the server's settings) and
these faults: ``bad-base64=N``, ``not-jpeg=N``, ``missing=N`` (frame N broken that way),
``drop-after=N`` (TCP abort after N frames), ``close-after=N;code=C``, ``stall-after=N``,
``count=K`` (only the first K connections).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket

from .faults import Fault
from .wspeer import Peer, serve_peer

if TYPE_CHECKING:
    from .app import ReferenceServer

CYCLE = 24  # frames in one loop of the scene; rendered once per size, then reused


def scene(index: int, width: int, height: int) -> tuple[bytes, list[dict[str, Any]]]:
    """Frame ``index`` of the loop: JPEG bytes and the detections of what is drawn on it."""
    return _scene(index % CYCLE, width, height)


@lru_cache(maxsize=4 * CYCLE)
def _scene(index: int, width: int, height: int) -> tuple[bytes, list[dict[str, Any]]]:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (40, 44, 52))
    draw = ImageDraw.Draw(image)
    phase = 2 * math.pi * index / CYCLE
    bw, bh = max(4, width // 5), max(4, height // 4)
    bx = int((width - bw) * (0.5 + 0.4 * math.sin(phase)))
    by = int((height - bh) * 0.3)
    draw.rectangle([bx, by, bx + bw - 1, by + bh - 1], fill=(220, 60, 60))
    r = max(2, min(width, height) // 10)
    cx = int(width * 0.25 + (width * 0.5) * (index / CYCLE))
    cy = int(height * 0.7)
    draw.ellipse([cx - r, cy - r, cx + r - 1, cy + r - 1], fill=(60, 180, 90))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    detections = [
        {"class": "box", "confidence": round(0.9 - 0.05 * math.cos(phase), 3), "bbox": [bx, by, bw, bh]},
        {"class": "ball", "confidence": round(0.6 + 0.2 * math.sin(phase), 3), "bbox": [cx - r, cy - r, 2 * r, 2 * r]},
    ]
    return out.getvalue(), detections


class CameraEndpoints:
    def __init__(self, server: ReferenceServer, fps: float = 10.0, width: int = 640, height: int = 360) -> None:
        self.server = server
        self.fps, self.width, self.height = fps, width, height
        self.sent: dict[str, list[bytes]] = {}  # camera id -> JPEG bytes sent, in order (tests compare)
        self.connections: dict[str, int] = {}
        self.forwarded: list[dict[str, Any]] = []  # what the frame sink received
        self.forward_auth: list[str | None] = []

    async def stream(self, websocket: WebSocket) -> None:
        endpoints = self.server.app_state.ws
        fault = await endpoints._handshake(websocket)
        if fault is None:
            return
        camera_id = websocket.path_params["camera_id"]
        q = websocket.query_params
        fps = float(q.get("fps", self.fps))
        width = int(q.get("width", self.width))
        height = int(q.get("height", self.height))
        self.connections[camera_id] = self.connections.get(camera_id, 0) + 1
        # Listen while sending: a client's close frame must end the stream at once, not when a
        # send finally fails (clients wait for our answer to their close).
        await serve_peer(websocket, lambda peer: peer.until_gone(self._frames(peer, camera_id, fault, fps, width, height)))

    async def _frames(self, peer: Peer, camera_id: str, fault: Fault, fps: float, width: int, height: int) -> None:
        sent = self.sent.setdefault(camera_id, [])
        interval = 1.0 / fps if fps > 0 else 0.0
        start = time.monotonic()
        for n in range(1 << 62):
            if fault.drop_after is not None and n >= fault.drop_after:
                peer.drop()
            if fault.close_after is not None and n >= fault.close_after:
                await peer.close(fault.close_code or 1000)
                return
            if fault.stall_after is not None and n >= fault.stall_after:
                await asyncio.sleep(3600)
            if interval:
                delay = start + n * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif n % 8 == 7:
                await asyncio.sleep(0)
            jpeg, detections = scene(len(sent), width, height)
            message = self._message(n + 1, camera_id, jpeg, detections, fault)
            if message is None:
                sent.append(jpeg)
                message = json.dumps(
                    {
                        "frame": base64.b64encode(jpeg).decode(),
                        "timestamp": int(time.time() * 1000),
                        "camera_id": camera_id,
                        "detections": detections,
                    }
                )
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
        token = self.server.config.token
        auth = request.headers.get("authorization")
        if token and auth != f"Bearer {token}":
            return JSONResponse({"error": {"message": "invalid or missing token"}}, 401)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": {"message": "not JSON"}}, 400)
        self.forwarded.append(body)
        self.forward_auth.append(auth)
        return JSONResponse({"status": "ok", "received": len(self.forwarded)})
