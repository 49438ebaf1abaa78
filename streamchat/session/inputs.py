"""Loading what the user gives: message and stdin, history and conversation files, images, tokens.

Every failure here is a ``UsageError`` (exit 2) with a message that names the file (and line).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import os
import re
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from ..errors import UsageError, WriteFailedError
from ..protocol import strict_json

if TYPE_CHECKING:
    from ..protocol.requests import HistoryMessage


def stdin_has_data(stdin: BinaryIO | None) -> bool:
    """Stdin counts when it is a pipe, a socket or a regular file; never a terminal or a device."""
    if stdin is None:
        return False
    try:
        mode = os.fstat(stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)


def strip_newlines(text: str) -> str:
    return text.rstrip("\r\n")


def decode_text(data: bytes, what: str, offset: int = 0) -> str:
    """``data`` as text; ``offset``: where ``data`` starts in ``what`` (one line of a longer input), so
    the error names the byte by its place in the whole."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} is not UTF-8 text (byte {offset + exc.start})") from exc


# Every input file is read up to a bound: a history, a prompt or a token from /dev/zero (or another
# endless source) must end in a usage error, not fill the memory. Images have their own option.
INPUT_LIMIT = 256 * 1024 * 1024
TOKEN_LIMIT = 64 * 1024


def read_file_bytes(path: str, what: str, stdin: BinaryIO | None = None, limit: int = INPUT_LIMIT, option: str = "") -> bytes:
    """A file's bytes, or stdin's for ``-``; more than ``limit`` is a UsageError (naming ``option``, or
    the limit itself) and no more than ``limit + 1`` bytes are ever read (``/dev/zero`` ends)."""
    if path == "-":
        if stdin is None:
            raise UsageError(f"{what}: standard input is not available")
        data = stdin.read(limit + 1)
    else:
        try:
            with open(path, "rb") as fh:
                data = fh.read(limit + 1)
        except FileNotFoundError as exc:
            raise UsageError(f"{what} {path!r} not found") from exc
        except IsADirectoryError as exc:
            raise UsageError(f"{what} {path!r} is a directory") from exc
        except OSError as exc:
            raise UsageError(f"cannot read {what} {path!r}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        name = "standard input" if path == "-" else repr(path)
        if option:
            raise UsageError(f"{what} {name} is larger than {option} ({limit} bytes)", hint=f"raise {option} if it should be sent")
        raise UsageError(f"{what} {name} is larger than {limit // (1024 * 1024) or limit} {'MB' if limit >= 1024 * 1024 else 'bytes'}")
    return data


def build_message(message: str | None, stdin_text: str | None) -> str | None:
    """The message: stdin alone, MESSAGE alone, or ``STDIN + "\\n\\n" + MESSAGE``."""
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
    """``10MB`` → 10485760 (powers of 1024, as the protocols' own size limits are computed); at least 1 byte."""
    match = _SIZE.match(text)
    if not match:
        raise UsageError(f"{option}: {text!r} is not a size (bytes, or a number with KB, MB or GB)")
    unit = (match.group(2) or "").upper()[:1]
    value = int(float(match.group(1)) * _UNITS[unit])
    if value < 1:
        raise UsageError(f"{option}: the size must be at least 1 byte")
    return value


def check_finite(values: Any, options: dict[str, str] | None = None) -> None:
    """Every float field of the dataclass ``values`` is a finite number, else a usage error naming its
    option (``--`` and the field's name, unless ``options`` maps the field to another). Typer's ranges
    let ``nan`` through (it compares false with every bound) and ``inf`` wherever there is no upper
    bound: neither is a timeout, a rate or a sampling value, and ``NaN`` is not JSON."""
    for item in dataclasses.fields(values):
        value = getattr(values, item.name)
        if isinstance(value, float) and not math.isfinite(value):
            option = (options or {}).get(item.name) or "--" + item.name.replace("_", "-")
            raise UsageError(f"{option}: {value} is not a finite number")


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


DEFAULT_MAX_IMAGE_SIZE = 20 * 1024 * 1024
# Decoding is checked at full size for every format but JPEG, which decodes at 1/8 scale (its
# DCT allows it): memory stays bounded whatever the header claims.
MAX_PIXELS = {"JPEG": 200_000_000}
MAX_PIXELS_OTHER = 50_000_000


def check_image(data: bytes, name: str) -> None:
    """The whole image decodes (Pillow's ``verify``, then a real decode): a header alone is refused."""
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own cap is below
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS.get(image.format or "", MAX_PIXELS_OTHER):
                    raise UsageError(f"{name} is {width}x{height} pixels: too large to send")
                if image.format == "JPEG":
                    image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow fails in many ways on damaged data (OSError, SyntaxError, struct.error, ...)
        # (Pillow names the buffer it was given, "<_io.BytesIO object at 0x...>": the user gave a file)
        reason = re.sub(r"<_io\.BytesIO object at 0x[0-9a-f]+>", "the data", str(exc)) or type(exc).__name__
        raise UsageError(f"{name} does not decode as an image: {reason}") from None


def load_image(src: str, stdin: BinaryIO | None = None, max_size: int = DEFAULT_MAX_IMAGE_SIZE) -> str:
    """A file, ``-``, an http(s) URL (passed through) or a data: URI → what the request carries.

    A file is read up to ``max_size`` bytes (``--max-image-size``), its type sniffed from its first
    bytes, and it must decode as a whole."""
    lowered = src[:8].lower()
    if lowered.startswith(("http://", "https://")):
        return src
    if lowered.startswith("data:"):
        if "," not in src:
            raise UsageError(f"image {src[:40]!r}… is not a valid data: URI")
        return src
    name = "image on standard input" if src == "-" else f"image {src!r}"
    data = read_file_bytes(src, "image", stdin, limit=max_size, option="--max-image-size")
    mime = sniff_image_mime(data)
    if mime is None:
        raise UsageError(f"{name} is not a PNG, JPEG, GIF or WebP image")
    check_image(data, name)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# -- history and conversation files ---------------------------------------------------------------


def _history_item(value: Any, where: str) -> HistoryMessage:
    from ..protocol.validation import history_message

    return history_message(value, where)


def json_object(line: str, where: str, what: str = "JSON") -> dict[str, Any]:
    """One line that must be a JSON object; errors name ``where`` (``file:line``)."""
    try:
        value = strict_json.loads(line)
    except ValueError as exc:
        raise UsageError(f"{where}: invalid {what}: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{where}: {what} must be an object")
    return value


def _json(text: str, where: str, whole_file: bool = False) -> Any:
    """One JSON value of a history file; an error names ``where`` (``file:line``) and what is wrong."""
    try:
        return strict_json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}:{exc.lineno}: invalid JSON: {exc.msg}" if whole_file else f"{where}: invalid JSON: {exc.msg}") from None
    except ValueError as exc:
        raise UsageError(f"{where}: invalid JSON: {exc}") from None


def parse_history(text: str, name: str) -> list[HistoryMessage]:
    """A JSON array, or NDJSON (one object a line); errors name ``file:line``."""
    stripped = text.lstrip()
    if not stripped:
        return []
    if stripped.startswith("["):
        values = _json(text, name, whole_file=True)
        if not isinstance(values, list):
            raise UsageError(f"{name}: expected a JSON array of messages")
        return [_history_item(v, f"{name}: item {i + 1}") for i, v in enumerate(values)]
    # Only LF ends a line: str.splitlines() would also split at U+0085, U+2028 and others, which
    # json.dumps(ensure_ascii=False) leaves raw inside strings (a conversation file was unreadable).
    lines = [(lineno, line) for lineno, line in enumerate(text.split("\n"), 1) if line.strip()]
    return [_history_item(_json(line, f"{name}:{lineno}"), f"{name}:{lineno}") for lineno, line in lines]


def load_history(path: str, stdin: BinaryIO | None = None) -> list[HistoryMessage]:
    name = "<stdin>" if path == "-" else path
    data = read_file_bytes(path, "history file", stdin)
    return parse_history(decode_text(data, f"history file {name}"), name)


def check_conversation_path(path: str) -> None:
    """A ``-C`` path must be a regular file, or not exist yet: a FIFO would block, a device or a
    directory cannot hold a conversation. Checked before any request is sent."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"cannot use conversation file {path!r}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
        raise UsageError(f"conversation file {path!r} is {kind}, not a regular file")


def load_conversation(path: str) -> list[HistoryMessage]:
    """Prior turns of a ``-C`` file; a missing file is an empty conversation."""
    check_conversation_path(path)
    if not os.path.exists(path):
        return []
    text = decode_text(read_file_bytes(path, "conversation file"), f"conversation file {path}")
    if text.lstrip().startswith("["):
        # --history takes a JSON array, but the turns appended to it would make this file unreadable
        raise UsageError(
            f"conversation file {path!r} is a JSON array: -C keeps one message a line (NDJSON) and appends to it",
            hint=f"give it as --history {path}, or make it NDJSON once: jq -c '.[]'",
        )
    return parse_history(text, path)


def append_conversation(path: str, turns: list[dict[str, Any]], *, write: Callable[[int, bytes], int] = os.write) -> None:
    """Append turns as NDJSON, all or nothing: one write under an exclusive lock, flushed and fsynced,
    never rewritten. If writing fails (a full disk, an I/O error) the file is cut back to the length it
    had, or removed if this call created it, and ``WriteFailedError`` says so. ``write`` is the seam
    the tests fail on purpose."""
    from .. import secrets

    scrub = secrets.active().text
    payload = "".join(scrub(strict_json.dumps(t, ensure_ascii=False)) + "\n" for t in turns).encode("utf-8")
    created = False
    flags = os.O_RDWR | os.O_APPEND | os.O_NONBLOCK  # (read: the last byte; a FIFO put there meanwhile: never blocks)
    try:
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
            created = True
        except FileExistsError:
            fd = os.open(path, flags)
    except OSError as exc:
        raise WriteFailedError(f"could not save the conversation to {path!r}: {exc.strerror or exc}") from None
    try:
        _lock(fd)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise WriteFailedError(f"could not save the conversation: {path!r} is not a regular file")
        size = info.st_size
        if size:
            # A file that does not end in a newline (edited by hand) must not glue our line to its last one.
            if os.pread(fd, 1, size - 1) != b"\n":
                payload = b"\n" + payload
        try:
            view = memoryview(payload)
            while view:
                view = view[write(fd, view) :]
            os.fsync(fd)
        except OSError as exc:
            _restore(fd, path, size, created)
            reason = exc.strerror or str(exc)
            raise WriteFailedError(f"could not save the conversation: {reason}; the file is unchanged") from None
    finally:
        os.close(fd)  # closing releases the lock


def _restore(fd: int, path: str, size: int, created: bool) -> None:
    """Undo a failed append: the file back to ``size`` bytes (truncating frees what was written)."""
    try:
        if created:
            os.unlink(path)
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError:
        pass


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


# -- secrets --------------------------------------------------------------------------------------


def load_token_file(path: str, stdin: BinaryIO | None = None) -> str:
    name = "standard input" if path == "-" else repr(path)
    data = read_file_bytes(path, "token file", stdin, limit=TOKEN_LIMIT)
    token = strip_newlines(decode_text(data, f"token file {name}"))
    if not token:
        raise UsageError(f"token file {name} is empty")
    if "\n" in token or "\r" in token:
        raise UsageError(f"token file {name} holds more than one line")
    return token
