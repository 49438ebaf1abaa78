"""Commands that share options take them from one list instead of repeating them in each signature.

Typer reads a command's options from its function's signature and annotations. ``chat`` and ``ws-chat``
share some thirty options (and ``bench``, ``models`` and ``camera`` a few of them), so a command here is
written as ``def chat(**options)`` under ``@takes(...)``, which gives the function the signature Python
itself would give a parameter list: the documented ``__signature__`` that ``inspect.signature`` (and so
Typer) reads, and the ``__annotations__`` that ``typing.get_type_hints`` reads. What a user sees is
unchanged: the same options, in the same order, with the same help.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def p(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    """One option: its parameter name, its ``Annotated`` type (from ``options.py``) and its default."""
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation)


def takes(*parameters: inspect.Parameter) -> Callable[[F], F]:
    """Give ``def command(**options)`` these parameters, in this order, as its signature."""

    def give(func: F) -> F:
        func.__signature__ = inspect.Signature(list(parameters))  # type: ignore[attr-defined]
        func.__annotations__ = {**{param.name: param.annotation for param in parameters}, "return": int}
        return func

    return give


__all__ = ["p", "takes"]
