"""Option values checked without pydantic when they are plainly valid.

Typer 0.29 checks every parameter's value, defaults included, through a pydantic ``TypeAdapter`` it
builds per parameter on first use: about 50 ms of every ``chat`` start (40 adapters), more than the
rest of option parsing. Our options are strings, bools, bounded numbers, choices and lists of
strings, so the values a command line nearly always holds (the defaults, a choice as spelled, a
plain decimal number within bounds) are checked here in a few instructions. Anything else, every
invalid value included, goes through Typer's own adapter: errors read exactly as Typer words them,
and what is accepted is exactly what Typer accepts (``tests/test_coercion.py`` compares the two).

This leans on Typer internals (``_TyperParameter._runtime_param``, ``typer._coercion``). If a Typer
release moves them, ``install`` changes nothing and Typer checks every value itself, only slower.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, get_args, get_origin

_SLOW = object()  # "not plainly valid: ask Typer"


def _plain_digits(text: str, most: int) -> bool:
    """ASCII digits, no sign, no leading zero, at most ``most`` of them (int() takes far more)."""
    return text.isascii() and text.isdigit() and len(text) <= most and (text == "0" or text[0] != "0")


def _plain_int(text: str) -> bool:
    return _plain_digits(text[1:] if text[:1] == "-" else text, 18)


def _plain_decimal(text: str) -> bool:
    whole, dot, fraction = (text[1:] if text[:1] == "-" else text).partition(".")
    return _plain_digits(whole, 15) and (not dot or (fraction.isascii() and fraction.isdigit() and len(fraction) <= 15))


def _bounded(number: Any, low: Any, high: Any) -> Any:
    if (low is not None and number < low) or (high is not None and number > high):
        return _SLOW  # Typer says what is wrong
    return number


def _checker(annotation: Any, info: Any) -> Callable[[Any], Any] | None:
    """A function value -> coerced value (or _SLOW) for the annotations our commands use, else None."""
    if info.parser is not None or getattr(info, "clamp", False):
        return None
    low, high = info.min, info.max
    if annotation is str:
        return lambda value: value if type(value) is str else _SLOW
    if annotation is bool:
        return lambda value: value if type(value) is bool else _SLOW
    if annotation is int:

        def check_int(value: Any) -> Any:
            if type(value) is str and _plain_int(value):
                value = int(value)
            return _bounded(value, low, high) if type(value) is int else _SLOW

        return check_int
    if annotation is float:

        def check_float(value: Any) -> Any:
            if type(value) is str and _plain_decimal(value):
                value = float(value)
            elif type(value) is int:
                value = float(value)
            return _bounded(value, low, high) if type(value) is float else _SLOW

        return check_float
    if get_origin(annotation) is Literal and info.case_sensitive:
        choices = frozenset(choice for choice in get_args(annotation) if type(choice) is str)
        return lambda value: value if type(value) is str and value in choices else _SLOW
    if get_origin(annotation) is list and get_args(annotation) == (str,):
        return lambda value: list(value) if type(value) in (tuple, list) and all(type(v) is str for v in value) else _SLOW
    return None


try:
    from typer._coercion import RuntimeParam, build_runtime_param
except ImportError:  # pragma: no cover - a Typer without this layer
    RuntimeParam = None


if RuntimeParam is not None:

    class QuickParam(RuntimeParam):  # type: ignore[misc,valid-type]
        """Typer's runtime check for one parameter, with ``check`` tried first."""

        def __init__(self, parameter_info: Any, annotation: Any, check: Callable[[Any], Any]) -> None:
            super().__init__(parameter_info, annotation)
            object.__setattr__(self, "check", check)  # a frozen dataclass, as Typer's own are

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            result = self.check(value)  # type: ignore[attr-defined]
            if result is not _SLOW:
                return result
            return build_runtime_param(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)


def install(command: Any) -> None:
    """Give each parameter of ``command`` (a built Typer command) and its subcommands the quick check."""
    if RuntimeParam is None:
        return
    for sub in getattr(command, "commands", {}).values():
        install(sub)
    for param in getattr(command, "params", ()):
        _install_param(param)
    make_help_option = getattr(command, "get_help_option", None)
    if make_help_option is not None:  # --help is made while parsing, once a command

        def get_help_option(ctx: Any) -> Any:
            option = make_help_option(ctx)
            if option is not None:
                _install_param(option)
            return option

        command.get_help_option = get_help_option


def _install_param(param: Any) -> None:
    try:
        descriptor = param.type_descriptor
        if param._runtime_param is not None or descriptor.file_annotation is not None:
            return
        check = _checker(descriptor.annotation, descriptor.parameter_info)
        if check is not None:
            param._runtime_param = QuickParam(descriptor.parameter_info, descriptor.annotation, check)
    except (AttributeError, TypeError):  # a Typer whose internals differ: it checks every value itself
        return
