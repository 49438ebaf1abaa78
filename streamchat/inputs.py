"""Loading what the user gives: message and stdin, history and conversation files, images, tokens.

Every failure here is a ``UsageError`` (exit 2) with a message that names the file (and line).
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from .errors import UsageError

if TYPE_CHECKING:
    from .protocol.requests import HistoryMessage


def stdin_has_data(stdin: BinaryIO | None) -> bool:
    """SPEC §2: stdin counts when it is a pipe, a socket or a regular file; never a terminal or a device."""
    if stdin is None:
        return False
    try:
        mode = os.fstat(stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)


def strip_newlines(text: str) -> str:
    return text.rstrip("\r\n")


def decode_text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} is not UTF-8 text (byte {exc.start})") from exc


def read_file_bytes(path: str, what: str, stdin: BinaryIO | None = None) -> bytes:
    if path == "-":
        if stdin is None:
            raise UsageError(f"{what}: standard input is not available")
        return stdin.read()
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise UsageError(f"{what} {path!r} not found") from exc
    except IsADirectoryError as exc:
        raise UsageError(f"{what} {path!r} is a directory") from exc
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path!r}: {exc.strerror or exc}") from exc


def build_message(message: str | None, stdin_text: str | None) -> str | None:
    """SPEC §2: stdin alone, MESSAGE alone, or ``STDIN + "\\n\\n" + MESSAGE``."""
    if message == "-":
        message = None
    if stdin_text is not None:
        stdin_text = strip_newlines(stdin_text)
        if message is None:
            return stdin_text
        return f"{stdin_text}\n\n{message}" if stdin_text else message
    return message


# -- sizes ----------------------------------------------------------------------------------------

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|K|KB|KIB|M|MB|MIB|G|GB|GIB)?\s*$", re.I)
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def parse_size(text: str, option: str) -> int:
    """``10MB`` → 10485760 (powers of 1024, as the seeds compute them); at least 1 byte."""
    match = _SIZE.match(text)
    if not match:
        raise UsageError(f"{option}: {text!r} is not a size (bytes, or a number with KB, MB or GB)")
    unit = (match.group(2) or "").upper()[:1]
    value = int(float(match.group(1)) * _UNITS[unit])
    if value < 1:
        raise UsageError(f"{option}: the size must be at least 1 byte")
    return value


# -- images ---------------------------------------------------------------------------------------


def sniff_image_mime(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def load_image(src: str, stdin: BinaryIO | None = None) -> str:
    """A file, ``-``, an http(s) URL (passed through) or a data: URI → what the request carries."""
    lowered = src[:8].lower()
    if lowered.startswith(("http://", "https://")):
        return src
    if lowered.startswith("data:"):
        if "," not in src:
            raise UsageError(f"image {src[:40]!r}… is not a valid data: URI")
        return src
    what = "image on stdin" if src == "-" else "image"
    data = read_file_bytes(src, "image", stdin)
    mime = sniff_image_mime(data)
    if mime is None:
        name = "standard input" if src == "-" else repr(src)
        raise UsageError(f"{what if src == '-' else 'image ' + name} is not a PNG, JPEG, GIF or WebP image")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# -- history and conversation files ---------------------------------------------------------------


def _history_item(value: Any, where: str) -> HistoryMessage:
    from .protocol.validation import history_message

    return history_message(value, where)


def json_object(line: str, where: str, what: str = "JSON") -> dict[str, Any]:
    """One line that must be a JSON object; errors name ``where`` (``file:line``)."""
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise UsageError(f"{where}: invalid {what}: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{where}: {what} must be an object")
    return value


def parse_history(text: str, name: str) -> list[HistoryMessage]:
    """A JSON array, or NDJSON (one object a line); errors name ``file:line``."""
    stripped = text.lstrip()
    if not stripped:
        return []
    if stripped.startswith("["):
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{name}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        if not isinstance(values, list):
            raise UsageError(f"{name}: expected a JSON array of messages")
        return [_history_item(v, f"{name}: item {i + 1}") for i, v in enumerate(values)]
    out = []
    # Only LF ends a line: str.splitlines() would also split at U+0085, U+2028 and others, which
    # json.dumps(ensure_ascii=False) leaves raw inside strings (a conversation file was unreadable).
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{name}:{lineno}: invalid JSON: {exc.msg}") from None
        out.append(_history_item(value, f"{name}:{lineno}"))
    return out


def load_history(path: str, stdin: BinaryIO | None = None) -> list[HistoryMessage]:
    name = "<stdin>" if path == "-" else path
    data = read_file_bytes(path, "history file", stdin)
    return parse_history(decode_text(data, f"history file {name}"), name)


def load_conversation(path: str) -> list[HistoryMessage]:
    """Prior turns of a ``-C`` file; a missing file is an empty conversation."""
    if not os.path.exists(path):
        return []
    data = read_file_bytes(path, "conversation file")
    return parse_history(decode_text(data, f"conversation file {path}"), path)


def append_conversation(path: str, turns: list[dict[str, Any]]) -> None:
    """Append turns as NDJSON: one write under an exclusive lock, flushed and fsynced; never rewritten."""
    payload = "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in turns).encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot write conversation file {path!r}: {exc.strerror or exc}") from exc
    try:
        _lock(fd)
        size = os.fstat(fd).st_size
        if size:
            # A file that does not end in a newline (edited by hand) must not glue our line to its last one.
            with open(path, "rb") as existing:
                existing.seek(size - 1)
                if existing.read(1) != b"\n":
                    payload = b"\n" + payload
        view = memoryview(payload)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


# -- secrets --------------------------------------------------------------------------------------


def load_token_file(path: str, stdin: BinaryIO | None = None) -> str:
    name = "standard input" if path == "-" else repr(path)
    data = read_file_bytes(path, "token file", stdin)
    token = strip_newlines(decode_text(data, f"token file {name}"))
    if not token:
        raise UsageError(f"token file {name} is empty")
    if "\n" in token or "\r" in token:
        raise UsageError(f"token file {name} holds more than one line")
    return token
