"""``camera --forward``: every good frame POSTed to a backend, without ever stalling the receive loop.

A bounded queue between the loop and one thread; a full queue drops the frame and counts it. One
kept-alive connection carries every frame while the backend allows (``client/http.py``'s
``KeptConnection``), under the same proxy and TLS rules as every request: ``docs/protocols.md#camera-forward``.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..protocol.frames import Frame


class Forwarder:
    """POSTs frames to the backend from a thread; a full queue drops the frame (and counts it)."""

    def __init__(self, url: str, token: str | None, stats: Any, size: int = 32) -> None:
        self.url, self.token, self.stats = url, token, stats
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=size)
        self.thread = threading.Thread(target=self._run, name="streamchat-forward", daemon=True)
        self.thread.start()

    def submit(self, frame: Frame) -> None:
        body = {
            "streamName": "webcam",
            "streamType": "frame",
            "frame": frame.encoded,
            "timestamp": frame.timestamp,
            "camera_id": frame.camera_id,
        }
        try:
            self.queue.put_nowait(body)
        except queue.Full:
            self.stats.forward_dropped += 1

    def _run(self) -> None:
        from ..client.http import HTTPOptions, KeptConnection, request
        from ..errors import StreamchatError

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        opts = HTTPOptions(connect_timeout=10.0, read_timeout=10.0, retries=0, headers=headers)
        kept = KeptConnection()  # one connection for every frame, while the backend keeps it open
        try:
            while True:
                body = self.queue.get()
                if body is None:
                    return
                try:
                    request("POST", self.url, opts, body, kept=kept)
                    self.stats.forwarded += 1
                except StreamchatError:  # an error status, a refused connection: counted, never fatal
                    self.stats.forward_failed += 1
        finally:
            kept.close()

    def close(self, wait: float = 5.0) -> None:
        """Let the thread send what is queued for up to ``wait`` seconds; frames still queued then are
        dropped (and counted). The thread is a daemon: one stuck on a backend that never answers does
        not hold the run."""
        deadline = time.monotonic() + wait
        while not self.queue.empty() and time.monotonic() < deadline:
            time.sleep(0.01)
        while True:
            try:
                if self.queue.get_nowait() is not None:
                    self.stats.forward_dropped += 1
            except queue.Empty:
                break
        self.queue.put_nowait(None)  # (the queue was just emptied: room for the stop)
        self.thread.join(timeout=max(0.1, deadline - time.monotonic()))


__all__ = ["Forwarder"]
