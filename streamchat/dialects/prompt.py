"""The prompt dialect (``docs/protocols.md#req-prompt``): ``{"prompt": MESSAGE}``, typed JSON events back."""

from __future__ import annotations

from ..protocol.requests import ChatRequest
from .base import Dialect, HTTPRequest


def build(req: ChatRequest, url: str, stream: bool = True) -> HTTPRequest:
    return HTTPRequest("POST", url, {"prompt": req.message})


DIALECT = Dialect(
    name="prompt",
    summary='{"prompt": ...}, typed chunk/done events',
    build=build,
    demo_path="/api/v1/actions/chats/demo/messages",
    path_pattern=r"/chats/[^/]+/messages",
)
