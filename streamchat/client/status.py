"""An HTTP error status (from a request or a WebSocket handshake) as a StreamchatError (``docs/exit-codes.md``)."""

from __future__ import annotations

from http import HTTPStatus

from ..errors import AuthError, HTTPStatusError, StreamchatError
from ..protocol import strict_json
from ..protocol.normalize import error_from


def describe_status(status: int, reason: str, body: bytes) -> str:
    """``HTTP 429 Too Many Requests: Rate limit exceeded`` — the server's own message when it sent one."""
    if not reason:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    head = f"HTTP {status} {reason}".rstrip()
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return head
    try:
        detail = error_from(strict_json.loads(text)).message  # (a hostile body: deep, NaN, ... is just text)
    except ValueError:
        detail = text.splitlines()[0][:200]
    return f"{head}: {detail}"


def http_status_error(
    status: int, reason: str, body: bytes, retry_after: float | None = None, location: str | None = None
) -> StreamchatError:
    """The error for an HTTP status, with what the server said (its message, Retry-After, Location)."""
    message = describe_status(status, reason, body)
    if status in (401, 403):
        return AuthError(message, status=status, hint="check the token (--token-file, STREAMCHAT_TOKEN)")
    return HTTPStatusError(message, status=status, retry_after=retry_after, location=location)
