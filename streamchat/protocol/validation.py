"""pydantic at the boundary: requests and history messages that come from files, stdin and JSON lines.

The definitions are the dataclasses of ``requests.py`` (the bounds in each field's ``metadata``);
this module is imported only when something from outside has to be checked, so a chat made of
command-line values (which Typer has checked) does not import pydantic at all.
"""

from __future__ import annotations

import dataclasses
import typing
from functools import cache
from typing import Any

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, create_model

from ..errors import UsageError
from .requests import ChatRequest, HistoryMessage


@cache
def _request_model() -> Any:
    """A pydantic model of ChatRequest's fields, their bounds included, extra keys refused."""
    hints = typing.get_type_hints(ChatRequest)
    fields: dict[str, Any] = {}
    for spec in dataclasses.fields(ChatRequest):
        if spec.default_factory is not dataclasses.MISSING:
            info = Field(default_factory=spec.default_factory, **spec.metadata)
        elif spec.default is not dataclasses.MISSING:
            info = Field(default=spec.default, **spec.metadata)
        else:
            info = Field(**spec.metadata)
        fields[spec.name] = (hints[spec.name], info)
    return create_model("ChatRequest", __config__=ConfigDict(extra="forbid"), **fields)


@cache
def _history_adapter() -> TypeAdapter[HistoryMessage]:
    return TypeAdapter(HistoryMessage)


_UNKNOWN_FIELD = ("extra_forbidden", "unexpected_keyword_argument")  # (a dataclass's word for it is Python's)


def _first_error(exc: ValidationError, default_loc: str) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(part) for part in first.get("loc", ())) or default_loc
    message = "unknown field" if first.get("type") in _UNKNOWN_FIELD else first.get("msg", "invalid")
    return f"{loc}: {message}"


def history_message(value: Any, where: str) -> HistoryMessage:
    """One history item read from ``where`` (``file:line``); a UsageError names what is wrong."""
    try:
        return _history_adapter().validate_python(value)
    except ValidationError as exc:
        raise UsageError(f"{where}: {_first_error(exc, 'message')}") from None


def chat_request(fields: dict[str, Any], where: str) -> ChatRequest:
    """A request from a JSON object (a ws-chat turn, a bench prompt); a UsageError names what is wrong."""
    try:
        model = _request_model().model_validate(fields)
    except ValidationError as exc:
        raise UsageError(f"{where}: {_first_error(exc, 'request')}") from None
    return ChatRequest(**{spec.name: getattr(model, spec.name) for spec in dataclasses.fields(ChatRequest)})
