"""The one exception tree of streamchat; every failure a user can see is one of these.

Foreign exceptions (httpx, websockets, OSError, pydantic) are translated into this tree at the
boundary where they happen (``raise ... from exc``); the CLI prints ``streamchat: error: ...``
and exits with the class's ``exit_code`` (``docs/exit-codes.md``)::

    StreamchatError                 1
    ├── ServerReportedError         1   an error event, an in-band error object, WebSocket 1011
    ├── UsageError                  2   bad option, unreadable/malformed input file, bad URL
    │   ├── NoModelError            2   no model given, and the server lists none          no_model
    │   └── WriteFailedError        2   stdout, a -C or --record file could not be written write_failed
    ├── ConnectionLostError         3   reset or closed mid-response, WebSocket 1006      connection_lost
    │   └── ConnectFailedError      3   refused, DNS, TLS, reset before any response byte connect_failed
    ├── StreamTimeoutError          4   connect timeout, read timeout (silence)           timeout
    ├── AuthError                   5   HTTP 401/403, WebSocket 1008                      http_401, ...
    ├── HTTPStatusError             6   any other HTTP error status                       http_NNN
    ├── ProtocolError               7   malformed stream, wrong content type              protocol_error
    │   ├── TruncatedError          7   a clean end before done                           truncated
    │   └── BodyTooLargeError       7   a size cap                                        too_large
    ├── CheckFailedError            8   --expect / --max-ttft / --min-tps / bench compare
    └── InterruptedError_         130   Ctrl-C / SIGTERM                                  interrupted

The last column is ``code``: the machine-readable reason a failed run gives in its ``error`` object.
Whether a failure may be retried is the retry policy's call (``client/retry.py``), from these classes:
only a ``ConnectFailedError`` and some HTTP statuses, never anything after the first response byte.
"""

from __future__ import annotations

from typing import Any


class StreamchatError(Exception):
    """Base class: ``str(exc)`` is the one-line message, ``hint`` an optional second line."""

    exit_code = 1
    code = "error"

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code  # a more precise reason than the class's (a WebSocket close: closed_1011)
        self.reply: Any = None  # the reply as far as it got, when a chat turn failed (session/turn.py)


class ServerReportedError(StreamchatError):
    exit_code = 1

    def __init__(self, message: str, *, code: object = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class UsageError(StreamchatError):
    exit_code = 2


class NoModelError(UsageError):
    """No model was given and the server lists none to use."""

    code = "no_model"


class WriteFailedError(UsageError):
    """Output the user asked for could not be written (a full disk, a closed stdout): ``write_failed``."""

    code = "write_failed"


class ConnectionLostError(StreamchatError):
    exit_code = 3
    code = "connection_lost"


class ConnectFailedError(ConnectionLostError):
    """No response byte arrived: the request may never have reached the server.

    ``retryable`` is False where trying again cannot help (a certificate that does not verify).
    """

    code = "connect_failed"

    def __init__(self, message: str, *, hint: str | None = None, retryable: bool = True) -> None:
        super().__init__(message, hint=hint)
        self.retryable = retryable


class StreamTimeoutError(StreamchatError):
    exit_code = 4
    code = "timeout"


class HTTPStatusError(StreamchatError):
    exit_code = 6

    def __init__(
        self, message: str, *, status: int, hint: str | None = None, retry_after: float | None = None, location: str | None = None
    ) -> None:
        super().__init__(message, hint=hint, code=f"http_{status}")
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait (Retry-After), if it did
        self.location = location  # where a redirect points (Location), if it is one


class AuthError(StreamchatError):
    exit_code = 5

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None, code: str | None = None) -> None:
        if status is None and code is None:
            # A refusal with no HTTP status of its own (Open WebUI's Socket.IO connect or user-join) is
            # named as HTTP names refused credentials: scripts match one set of codes, http_401 among them.
            status = 401
        super().__init__(message, hint=hint, code=code or f"http_{status}")
        self.status = status  # the HTTP status (401, 403, 407), None for a WebSocket close 1008


class ProtocolError(StreamchatError):
    exit_code = 7
    code = "protocol_error"

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message, hint=hint, code=code)
        self.partial: list[Any] = []  # the events decoded from the same read before the bad data
        self.body_before = b""  # the body bytes of the same read before the bad framing (or the size cap)


class TruncatedError(ProtocolError):
    code = "truncated"


class BodyTooLargeError(ProtocolError):
    code = "too_large"


class StdoutClosed(Exception):
    """stdout's reader went away (``| head -1``): the run ends quietly, as if by SIGPIPE (status 141)."""


class CheckFailedError(StreamchatError):
    exit_code = 8


class InterruptedError_(StreamchatError):  # noqa: N801 - the builtin InterruptedError means EINTR
    exit_code = 130
    code = "interrupted"


__all__ = [
    "AuthError",
    "BodyTooLargeError",
    "CheckFailedError",
    "ConnectFailedError",
    "ConnectionLostError",
    "HTTPStatusError",
    "InterruptedError_",
    "NoModelError",
    "ProtocolError",
    "ServerReportedError",
    "StdoutClosed",
    "StreamTimeoutError",
    "StreamchatError",
    "TruncatedError",
    "UsageError",
    "WriteFailedError",
]
