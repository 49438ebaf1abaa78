"""The one retry policy: what may be retried, how long to wait first, and when to stop.

Modelled on urllib3's ``Retry``: HTTP streams, WebSocket handshakes, camera reconnects and bench ask
the same object. A retry happens only while no response byte has arrived (a ``ConnectFailedError``, or
an error status the policy lists); once a reply has started nothing is retried, so no line of output is
ever written twice. Waits grow exponentially from 1 s with jitter, honour ``Retry-After`` (seconds or an
HTTP date) and are capped at 30 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import ConnectFailedError, HTTPStatusError, StreamchatError

if TYPE_CHECKING:
    import random

RETRY_STATUSES = frozenset({429, 502, 503, 504})
# A WebSocket handshake answered with any 5xx never reached the application: worth another try.
WS_RETRY_STATUSES = RETRY_STATUSES | frozenset(range(500, 600))
MAX_WAIT = 30.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date; ``None`` if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is not None:
        return max(0.0, seconds) if seconds == seconds and seconds != float("inf") else None
    from email.utils import parsedate_to_datetime  # (an HTTP date is rare: its parser is imported when one comes)

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
    """Exponential from 1 s with jitter, or the server's Retry-After; capped at 30 s a wait."""
    if retry_after is not None:
        return min(MAX_WAIT, retry_after)
    import random

    base = min(MAX_WAIT, 2.0**attempt)
    jitter = (rng or random).uniform(0.0, 0.25 * base)
    return min(MAX_WAIT, base + jitter)


@dataclass
class RetryPolicy:
    """``retries`` retries at most (``retries + 1`` attempts); ``statuses`` are the retryable HTTP statuses."""

    retries: int = 3
    statuses: frozenset[int] = RETRY_STATUSES
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random | None = None
    waited: float = field(default=0.0, init=False)  # seconds spent waiting so far (kept out of TTFT)

    def retryable(self, error: StreamchatError) -> bool:
        if isinstance(error, ConnectFailedError):
            return error.retryable
        if isinstance(error, HTTPStatusError):
            return error.status in self.statuses
        return False

    def delay(self, attempt: int, error: StreamchatError | None = None) -> float:
        return backoff_delay(attempt, getattr(error, "retry_after", None), self.rng)

    def wait_before_retry(self, error: StreamchatError, attempt: int, notice: Callable[[str], None]) -> bool:
        """After failed attempt ``attempt`` (0-based): wait and return True if another attempt is due."""
        if attempt >= self.retries or not self.retryable(error):
            return False
        delay = self.delay(attempt, error)
        notice(f"streamchat: {error.message}; retrying in {delay:.1f} s ({attempt + 1}/{self.retries})")
        self.sleep(delay)
        self.waited += delay
        return True


__all__ = ["RETRY_STATUSES", "WS_RETRY_STATUSES", "RetryPolicy", "backoff_delay", "parse_retry_after"]
