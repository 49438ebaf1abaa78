"""When and how long to wait before a retry (SPEC §6); no I/O but ``time.sleep``."""

from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_WAIT = 30.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date; ``None`` if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
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
    base = min(MAX_WAIT, 2.0**attempt)
    jitter = (rng or random).uniform(0.0, 0.25 * base)
    return min(MAX_WAIT, base + jitter)
