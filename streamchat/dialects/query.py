"""The query dialect (``docs/protocols.md#req-query``): ``GET URL?message=...``; plain text data is content."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..protocol.requests import ChatRequest
from .base import Dialect, HTTPRequest


def with_message(url: str, message: str) -> str:
    """The message joins the URL's own query parameters."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.append(("message", message))
    return urlunsplit(parts._replace(query=urlencode(query)))


def build(req: ChatRequest, url: str, stream: bool = True) -> HTTPRequest:
    return HTTPRequest("GET", with_message(url, req.message), None)


DIALECT = Dialect("query", "GET ?message=..., JSON or plain-text data", build, "/api/v1/chat/stream")
