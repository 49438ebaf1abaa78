"""The reference server's settings (``streamchat serve`` options)."""

from __future__ import annotations

from dataclasses import dataclass

from .limits import BODY_TIMEOUT, HEAD_TIMEOUT, IDLE_TIMEOUT, LIMIT_CONCURRENCY, MAX_BODY


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
    max_body: int = MAX_BODY
    limit_concurrency: int = LIMIT_CONCURRENCY
    head_timeout: float = HEAD_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT
    body_timeout: float = BODY_TIMEOUT

    @classmethod
    def with_rate(cls, tokens_per_second: float | None, **kwargs: object) -> ServerConfig:
        config = cls(**kwargs)  # type: ignore[arg-type]
        if tokens_per_second:
            config.itl_ms = 1000.0 / tokens_per_second
        return config
