"""A server's model list: OpenAI-style ``GET /v1/models`` or Ollama's ``GET /api/tags``.

Used by ``streamchat models`` and by model discovery (a chat against an OpenAI-style server with no
model given asks the server which it has). Network failures keep their own errors (3 no connection,
4 timeout, 5 refused token); a server that answers without a usable list is a ``NoModelError``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import HTTPStatusError, NoModelError
from .http import HTTPOptions, request_json

_OLLAMA_ENDS = ("/api/chat", "/api/generate", "/api/tags", "/api")


def models_url(url: str, dialect: str | None) -> str:
    """Where a server lists its models, from any URL of it (its root, a ``/v1`` base, an endpoint)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    ollama_end = next((end for end in _OLLAMA_ENDS if path.endswith(end)), None)
    if dialect == "ollama" or ollama_end is not None:
        root = path[: -len(ollama_end)] if ollama_end else path
        return urlunsplit(parts._replace(path=root + "/api/tags", query=""))
    at = path.find("/v1")
    root = path[: at + 3] if at >= 0 and (len(path) == at + 3 or path[at + 3] == "/") else "/v1"
    return urlunsplit(parts._replace(path=root + "/models", query=""))


def model_ids(answer: Any) -> list[str]:
    """The ids in an OpenAI list (``{"data": [{"id"}]}``) or an Ollama one (``{"models": [{"name"}]}``)."""
    if not isinstance(answer, dict):
        return []
    ids: list[str] = []
    for item in answer.get("data") if isinstance(answer.get("data"), list) else answer.get("models") or []:
        if isinstance(item, dict):
            name = item.get("id") or item.get("model") or item.get("name")
            if isinstance(name, str) and name:
                ids.append(name)
    return ids


def list_models(url: str, dialect: str | None, opts: HTTPOptions) -> tuple[str, list[str]]:
    """(the list's URL, the model ids); a server that answers but lists none raises NoModelError."""
    where = models_url(url, dialect)
    try:
        answer = request_json("GET", where, opts)
    except HTTPStatusError as exc:
        raise NoModelError(f"{where} lists no models ({exc.message})") from exc
    ids = model_ids(answer)
    if not ids:
        raise NoModelError(f"{where} lists no models")
    return where, ids


__all__ = ["list_models", "model_ids", "models_url"]
