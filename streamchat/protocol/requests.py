"""ChatRequest and the request body of each dialect (SPEC §4, §12).

``ChatRequest`` and ``HistoryMessage`` are plain dataclasses: the CLI fills them from values Typer has
already checked, and building them costs nothing at start-up. What comes from files, stdin and JSON
lines (history, conversation files, ws-chat's JSON turns, bench prompts) is validated with pydantic
at that boundary, in ``protocol/validation.py``, against these same definitions: a field's bounds are
in its ``metadata``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DIALECTS = ("streamchat", "openai", "prompt", "query", "anthropic")


@dataclass(slots=True)
class HistoryMessage:
    """One prior turn, as ``--history`` and ``-C`` files hold them."""

    __pydantic_config__ = {"extra": "forbid"}  # noqa: RUF012  (pydantic reads it when validating files)

    role: Literal["system", "user", "assistant"]
    content: str
    images: Optional[list[str]] = None

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.images:
            out["images"] = list(self.images)
        return out


def _bounded(ge: float, le: float | None = None) -> Any:
    """An optional number field; ``ge``/``le`` are checked by pydantic (validation.py) and by Typer."""
    bounds = {"ge": ge} if le is None else {"ge": ge, "le": le}
    return field(default=None, metadata=bounds)


@dataclass(slots=True)
class ChatRequest:
    """Everything one chat turn sends, whatever the dialect; ``None`` means unset (left out).

    Built as given: ``validation.chat_request(dict)`` checks a request that comes from outside.
    """

    message: str
    model_id: str = "deepseek/deepseek-chat"
    provider_slug: Optional[str] = None
    history: list[HistoryMessage] = field(default_factory=list)
    system_prompt: Optional[str] = None
    images: list[str] = field(default_factory=list)
    max_tokens: Optional[int] = _bounded(1)
    temperature: Optional[float] = _bounded(0.0, 2.0)
    top_p: Optional[float] = _bounded(0.0, 1.0)
    frequency_penalty: Optional[float] = _bounded(-2.0, 2.0)
    presence_penalty: Optional[float] = _bounded(-2.0, 2.0)
    # Extra top-level body fields (-p KEY=VALUE): they replace any field of the same name built here.
    params: Optional[dict[str, Any]] = None

    def sampling(self, *names: str) -> dict[str, Any]:
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def fields(self) -> dict[str, Any]:
        """The set fields as JSON-ready values (history as wire dicts): what ``chat_request`` takes back."""
        out: dict[str, Any] = {}
        for name in self.__slots__:  # type: ignore[attr-defined]
            value = getattr(self, name)
            if name == "history":
                value = [m.wire() for m in value]
            if value is not None:
                out[name] = value
        return out


_SAMPLING = ("max_tokens", "temperature", "top_p", "frequency_penalty", "presence_penalty")


def infer_dialect(url: str) -> str:
    """SPEC §2: the dialect a URL's path implies."""
    path = urlsplit(url).path.rstrip("/")
    if path.endswith("/chat/completions"):
        return "openai"
    if path.endswith("/v1/messages"):
        return "anthropic"
    if re.search(r"/chats/[^/]+/messages$", path):
        return "prompt"
    return "streamchat"


def streamchat_body(req: ChatRequest) -> dict[str, Any]:
    """The seed http-streaming body (also the WebSocket chat frame, less its ``type``)."""
    body: dict[str, Any] = {"message": req.message, "model_id": req.model_id}
    if req.provider_slug is not None:
        body["provider_slug"] = req.provider_slug
    if req.history:
        body["history"] = [m.wire() for m in req.history]
    if req.system_prompt is not None:
        body["system_prompt"] = req.system_prompt
    if req.images:
        body["images"] = list(req.images)
    body.update(req.sampling(*_SAMPLING))
    return body


def _openai_content(text: str, images: list[str] | None) -> Any:
    if not images:
        return text
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts.extend({"type": "image_url", "image_url": {"url": url}} for url in images)
    return parts


def openai_messages(req: ChatRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if req.system_prompt is not None:
        messages.append({"role": "system", "content": req.system_prompt})
    for m in req.history:
        messages.append({"role": m.role, "content": _openai_content(m.content, m.images)})
    messages.append({"role": "user", "content": _openai_content(req.message, req.images)})
    return messages


def openai_body(req: ChatRequest, stream: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"model": req.model_id, "messages": openai_messages(req), "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    body.update(req.sampling(*_SAMPLING))
    return body


_DATA_URI = re.compile(r"^data:([^;,]+);base64,(.*)$", re.S)


def _anthropic_content(text: str, images: list[str] | None) -> Any:
    if not images:
        return text
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    for url in images:
        match = _DATA_URI.match(url)
        if match:
            source = {"type": "base64", "media_type": match.group(1), "data": match.group(2)}
        else:
            source = {"type": "url", "url": url}
        parts.append({"type": "image", "source": source})
    return parts


def anthropic_body(req: ChatRequest) -> dict[str, Any]:
    system = [req.system_prompt] if req.system_prompt is not None else []
    messages: list[dict[str, Any]] = []
    for m in req.history:
        if m.role == "system":  # Anthropic has no system role in messages: it joins `system`
            system.append(m.content)
        else:
            messages.append({"role": m.role, "content": _anthropic_content(m.content, m.images)})
    messages.append({"role": "user", "content": _anthropic_content(req.message, req.images)})
    body: dict[str, Any] = {
        "model": req.model_id,
        "max_tokens": req.max_tokens if req.max_tokens is not None else 1024,
        "messages": messages,
    }
    if system:
        body["system"] = "\n\n".join(system)
    body["stream"] = True
    body.update(req.sampling("temperature", "top_p"))
    return body


def query_url(url: str, message: str) -> str:
    """``GET URL?message=...``: the message joins the URL's own query parameters."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.append(("message", message))
    return urlunsplit(parts._replace(query=urlencode(query)))


def http_request(dialect: str, url: str, req: ChatRequest, stream: bool = True) -> tuple[str, str, dict[str, Any] | None]:
    """(method, url, JSON body or None) for one HTTP request in ``dialect`` (streaming unless told)."""
    if dialect == "query":
        return "GET", query_url(url, req.message), None
    if dialect == "openai":
        body = openai_body(req, stream)
    elif dialect == "prompt":
        body = {"prompt": req.message}
    elif dialect == "anthropic":
        body = anthropic_body(req)
    else:
        body = streamchat_body(req)
    return "POST", url, _with_params(body, req)


def _with_params(body: dict[str, Any], req: ChatRequest) -> dict[str, Any]:
    if req.params:
        body.update(req.params)
    return body


def ws_frame(req: ChatRequest) -> dict[str, Any]:
    """The seed websocket-streaming request frame."""
    return _with_params({"type": "chat", **streamchat_body(req)}, req)
