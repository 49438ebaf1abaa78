"""The dialects streamchat speaks, one module each; adding one is a module and a line below.

A dialect says how a chat turn becomes a request (``build``), which URLs imply it, where the built-in
server speaks it, its default model (or none: ask the server) and how the token is sent. Modules are
imported when first needed, so listing the names costs ``--help`` nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Dialect, HTTPRequest

# The model the streamchat, prompt and query protocols' servers expect when none is given. OpenAI-style
# servers are asked for theirs instead (model discovery): a model name one server knows another rejects.
DEFAULT_MODEL = "deepseek/deepseek-chat"

# name -> module; the order is the order URL paths are matched in (streamchat, the fallback, last).
_MODULES = {
    "openai": "openai",
    "anthropic": "anthropic",
    "responses": "responses",
    "ollama": "ollama",
    "prompt": "prompt",
    "query": "query",
    "streamchat": "streamchat",
}
NAMES = ("streamchat", "openai", "prompt", "query", "anthropic", "responses", "ollama")
FALLBACK = "streamchat"


def get(name: str) -> Dialect:
    """The dialect called ``name`` (a KeyError for names not in NAMES)."""
    return importlib.import_module(f"{__name__}.{_MODULES[name]}").DIALECT  # type: ignore[no-any-return]


def infer(url: str) -> Dialect:
    """The dialect a URL's path implies; the streamchat dialect when none does."""
    from urllib.parse import urlsplit

    path = urlsplit(url).path
    for name in _MODULES:
        dialect = get(name)
        if dialect.matches(path):
            return dialect
    return get(FALLBACK)


def complete_base_url(url: str, dialect_name: str | None) -> str | None:
    """A base URL made a full endpoint, or None when ``url`` is not a base URL.

    An empty path (or ``/``) is an OpenAI-compatible server's root: ``/v1`` plus the dialect's path. A
    path ending in ``/v1`` gets the dialect's path (``/chat/completions``, ``/messages``,
    ``/responses``)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    dialect = get(dialect_name or "openai")
    if dialect.base_path is None:
        return None
    if path == "":
        path = "/v1"
    elif not path.endswith("/v1"):
        return None
    return urlunsplit(parts._replace(path=path + dialect.base_path))


assert set(NAMES) == set(_MODULES), "every dialect is listed in both"


def __getattr__(name: str) -> Any:
    # The Dialect and HTTPRequest types, on first use: listing the names (as --help does) imports nothing.
    if name in ("Dialect", "HTTPRequest"):
        from . import base

        return getattr(base, name)
    raise AttributeError(name)


__all__ = ["DEFAULT_MODEL", "FALLBACK", "NAMES", "Dialect", "HTTPRequest", "complete_base_url", "get", "infer"]
