"""What a dialect is: how a chat turn becomes an HTTP request, and which URLs speak it.

A dialect module defines one ``Dialect`` named ``DIALECT``; ``dialects/__init__.py`` lists them.
Everything here is pure: builders take a ``ChatRequest`` and a URL and return the request to send.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..protocol.requests import ChatRequest
from . import DEFAULT_MODEL


class HTTPRequest(NamedTuple):
    method: str
    url: str
    body: dict[str, Any] | None


@dataclass(frozen=True)
class Dialect:
    name: str
    summary: str  # one line, for help texts
    build: Callable[[ChatRequest, str, bool], HTTPRequest]  # (request, url, stream) -> what to send
    demo_path: str  # where the built-in server speaks it: the API's own path
    path_endings: tuple[str, ...] = ()  # a URL path ending with one of these implies the dialect
    path_pattern: str | None = None  # or matching this (anchored at the path's end)
    default_model: str | None = DEFAULT_MODEL  # None: ask the server (model discovery)
    auth_scheme: str = "bearer"  # how the token is sent unless --auth-scheme says otherwise
    headers: Mapping[str, str] = field(default_factory=dict)  # sent with every request (not credentials)

    def request(self, req: ChatRequest, url: str, stream: bool = True) -> HTTPRequest:
        """What to send for ``req``: the dialect's body, with the user's extra fields (``-p``) over it."""
        method, url, body = self.build(req, url, stream)
        if req.params and body is not None:
            body = {**body, **req.params}
        return HTTPRequest(method, url, body)

    @property
    def base_path(self) -> str | None:
        """What a base URL whose path ends in ``/v1`` gets appended: the API's own path without its
        ``/v1`` (``/chat/completions``, ``/messages``), for an API that lives under ``/v1`` (an
        OpenAI-style server); None for the others."""
        return self.demo_path.removeprefix("/v1") if self.demo_path.startswith("/v1/") else None

    def matches(self, path: str) -> bool:
        path = path.rstrip("/")
        if any(path.endswith(ending) for ending in self.path_endings):
            return True
        return self.path_pattern is not None and re.search(self.path_pattern + "$", path) is not None


def sampling(req: ChatRequest, *names: str) -> dict[str, Any]:
    """The sampling fields that are set, under their own names."""
    return {name: getattr(req, name) for name in names if getattr(req, name) is not None}


SAMPLING = ("max_tokens", "temperature", "top_p", "frequency_penalty", "presence_penalty")


__all__ = ["DEFAULT_MODEL", "SAMPLING", "Dialect", "HTTPRequest", "sampling"]
