"""Extra top-level fields of the request body (``-p KEY=VALUE``): ``seed``, ``stop``, tools, anything.

A param replaces a field streamchat built itself (``-p max_tokens=5`` wins over ``--max-tokens``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..env import Environment
from ..errors import UsageError
from .inputs import read_file_bytes


def _no_constants(word: str) -> Any:
    raise ValueError(f"{word} is not JSON")  # NaN and Infinity: Python's extension, which no server reads


class _OutOfRange(ValueError):
    pass


def _finite(text: str) -> float:
    """A JSON number, which must stay one when sent again: 1e999 would go out as Infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise _OutOfRange(f"the number {text} is out of range")
    return value


def _loads(data: str | bytes) -> Any:
    return json.loads(data, parse_constant=_no_constants, parse_float=_finite)


def parse_params(raw: list[str], env: Environment | None = None) -> dict[str, Any]:
    """``-p KEY=VALUE`` / ``-p KEY=@FILE`` items as top-level body fields.

    VALUE is JSON when it parses as JSON (``seed=1``, ``stop=["\\n"]``, ``stream=false``), else the
    text as given; ``@FILE`` is a JSON file (``-`` = stdin). A later item for the same key wins.
    """
    out: dict[str, Any] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"bad --param {item!r}: expected KEY=VALUE or KEY=@FILE")
        if value.startswith("@"):
            path = value[1:]
            data = read_file_bytes(path, f"--param {key} file", env.stdin if env is not None else None)
            try:
                out[key] = _loads(data)
            except _OutOfRange as exc:
                raise UsageError(f"--param {key}: {path!r}: {exc}") from None
            except ValueError as exc:
                raise UsageError(f"--param {key}: {path!r} is not JSON: {exc}") from None
            continue
        try:
            out[key] = _loads(value)
        except _OutOfRange as exc:
            raise UsageError(f"--param {key}: {exc}") from None
        except ValueError:
            out[key] = value
    return out
