"""A failed request's kind: the word a record's ``status`` and the summary's ``errors`` use."""

from __future__ import annotations

import asyncio
import socket
import sys

from ..errors import ServerReportedError, StreamchatError


def error_kind(exc: BaseException) -> str:
    """A failed request's kind, the same words whichever transport failed and the same a failed ``chat``
    gives as its ``error.code``: connect_failed, connection_lost, timeout, http_NNN, protocol_error, ..."""
    if isinstance(exc, ServerReportedError) and not str(exc.code).startswith("closed_"):  # (a WebSocket 1011 keeps closed_1011)
        return "server_error"
    if isinstance(exc, StreamchatError):
        return exc.code
    status = getattr(getattr(exc, "response", None), "status_code", None)  # a refused WebSocket handshake
    if isinstance(status, int):
        return f"http_{status}"
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "timeout"
    ssl = sys.modules.get("ssl")
    if isinstance(exc, ConnectionRefusedError | socket.gaierror) or (ssl is not None and isinstance(exc, ssl.SSLError)):
        return "connect_failed"
    if isinstance(exc, OSError):
        return "connection_lost"
    return "protocol_error"


__all__ = ["error_kind"]
