"""Connection settings every transport shares (``docs/protocols.md#retries``, ``#timeouts``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class ConnectionOptions:
    connect_timeout: float = 30.0
    read_timeout: float = 60.0  # longest silence, in seconds
    retries: int = 3  # retries before the first response byte: at most retries + 1 attempts
    insecure: bool = False
    cacert: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    notice: Callable[[str], None] = lambda line: None  # a line for people on stderr (retry notices)
    sleep: Callable[[float], None] = time.sleep
