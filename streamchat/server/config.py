"""The reference server's settings (``streamchat serve`` options) and the limits it holds clients to."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024

# Camera frames a client may ask for per connection (``?width=&height=&fps=``): the same bounds as
# ``serve --width/--height/--fps``, so no request can make the server render more than its operator could.
CAMERA_WIDTH = (16, 7680)
CAMERA_HEIGHT = (16, 4320)
CAMERA_FPS = (0.0, 120.0)  # 0 = as fast as the client reads


@dataclass
class ServerConfig:
    ttft_ms: float = 50.0
    itl_ms: float = 15.0
    reply_tokens: int = 24
    seed: int = 0
    reasoning: bool = False
    token: str | None = None
    fps: float = 10.0
    width: int = 640
    height: int = 360
    max_body: int = 64 * MB  # request bodies over this are refused (413) without being read
    limit_concurrency: int = 2048  # open connections at most; more are closed at once
    head_timeout: float = 10.0  # seconds for a connection to send a complete request head
    idle_timeout: float = 5.0  # seconds a connection may sit idle between requests
    body_timeout: float = 10.0  # seconds of silence allowed while a request body arrives

    @classmethod
    def with_rate(cls, tokens_per_second: float | None, **kwargs: object) -> ServerConfig:
        config = cls(**kwargs)  # type: ignore[arg-type]
        if tokens_per_second:
            config.itl_ms = 1000.0 / tokens_per_second
        return config
