"""The I/O environment: standard streams, whether they are terminals, colour choice (httpie's idea).

Commands take one of these instead of touching ``sys`` directly, so tests can swap it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

from .errors import StdoutClosed, WriteFailedError


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


@dataclass
class Environment:
    stdin: BinaryIO | None = field(default_factory=lambda: getattr(sys.stdin, "buffer", None))
    stdout: BinaryIO = field(default_factory=lambda: sys.stdout.buffer)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    stdout_isatty: bool | None = None
    stderr_isatty: bool | None = None
    stdin_isatty: bool | None = None

    def __post_init__(self) -> None:
        if self.stdout_isatty is None:
            self.stdout_isatty = _isatty(self.stdout)
        if self.stderr_isatty is None:
            self.stderr_isatty = _isatty(self.stderr)
        if self.stdin_isatty is None:
            self.stdin_isatty = _isatty(self.stdin)

    def use_color(self, choice: str, isatty: bool) -> bool:
        """``--color auto`` honours NO_COLOR, then FORCE_COLOR, then whether the stream is a terminal."""
        if choice == "always":
            return True
        if choice == "never":
            return False
        if self.environ.get("NO_COLOR"):
            return False
        if self.environ.get("FORCE_COLOR"):
            return True
        return bool(isatty) and self.environ.get("TERM") != "dumb"


def print_stdout(text: str) -> None:
    """A command's printed result (``config``, ``--version``) on ``sys.stdout``, failing as ``write_stdout`` does."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError as exc:
        raise StdoutClosed from exc
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise WriteFailedError(f"could not write to standard output: {reason}") from None
