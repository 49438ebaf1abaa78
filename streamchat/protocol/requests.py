"""ChatRequest and HistoryMessage: what a chat turn sends, whatever the dialect (``dialects/`` builds the bodies).

``ChatRequest`` and ``HistoryMessage`` are plain dataclasses: the CLI fills them from values Typer has
already checked, and building them costs nothing at start-up. What comes from files, stdin and JSON
lines (history, conversation files, ws-chat's JSON turns, bench prompts) is validated with pydantic
at that boundary, in ``protocol/validation.py``, against these same definitions: a field's bounds are
in its ``metadata``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Optional


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
