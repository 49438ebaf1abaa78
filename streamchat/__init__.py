"""streamchat: stream AI chat replies and camera frames from a shell, and measure how fast servers stream.

The public Python API (the CLI is a thin layer over it)::

    from streamchat import ChatRequest, ChatTarget, HTTPOptions, run_http_chat
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"

__all__ = [
    "ChatRequest",
    "ChatTarget",
    "HTTPOptions",
    "Normalizer",
    "SSEDecoder",
    "__version__",
    "run_http_chat",
]

_LAZY = {
    "ChatRequest": ("streamchat.protocol.requests", "ChatRequest"),
    "ChatTarget": ("streamchat.session.http", "ChatTarget"),
    "run_http_chat": ("streamchat.session.http", "run_http_chat"),
    "HTTPOptions": ("streamchat.client.http", "HTTPOptions"),
    "Normalizer": ("streamchat.protocol.normalize", "Normalizer"),
    "SSEDecoder": ("streamchat.protocol.sse", "SSEDecoder"),
}


def __getattr__(name: str) -> Any:
    # Lazy: `import streamchat` (and so `streamchat --help`) must not import httpx or pydantic.
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'streamchat' has no attribute {name!r}")
