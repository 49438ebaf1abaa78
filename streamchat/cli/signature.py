"""Commands that share options take them from one list instead of repeating them in each signature.

Typer reads a command's options from its function's signature and annotations. ``chat`` and ``ws-chat``
share some thirty options (``bench`` some twenty of them, ``models`` ten), so a command here is
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
    """Give ``def command(**options)`` these parameters, in this order, as its signature. A command with
    options of its own names them before ``**options`` (``def bench(ctx, requests=..., **options)``):
    they follow the shared ones (a parameter without a default, such as ``ctx``, comes first, as Python wants)."""

    def give(func: F) -> F:
        own = [p for p in inspect.signature(func, eval_str=True).parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        own_annotations = {param.name: param.annotation for param in own if param.annotation is not inspect.Parameter.empty}
        required = [param for param in own if param.default is inspect.Parameter.empty]
        optional = [param for param in own if param.default is not inspect.Parameter.empty]
        func.__signature__ = inspect.Signature([*required, *parameters, *optional])  # type: ignore[attr-defined]
        func.__annotations__ = {**{param.name: param.annotation for param in parameters}, **own_annotations, "return": int}
        return func

    return give


__all__ = ["p", "takes"]
