"""``$XDG_CONFIG_HOME/streamchat/config.toml``: defaults and named profiles (read with tomllib).

    [defaults]                      # applies to every run
    model = "deepseek/deepseek-chat"

    [profiles.local]                # --profile local, or STREAMCHAT_PROFILE=local
    url = "http://127.0.0.1:8000/v1/chat/completions"
    dialect = "openai"
    headers = { "X-Team" = "search" }
    read_timeout = 120
    token_command = "pass show llm/local"   # prints the token: no secret sits in this file

Precedence, highest first: flags, environment variables, the profile, ``[defaults]``, built-in defaults.
Only the standard library here: the file is read while Typer parses options.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..dialects import NAMES as DIALECTS
from ..errors import UsageError

# Setting → (type check, what the error calls it). Option names are the same with ``_`` → ``-``.
SETTINGS: dict[str, tuple[tuple[type, ...], str]] = {
    "url": ((str,), "a string"),
    "dialect": ((str,), "a string"),
    "model": ((str,), "a string"),
    "provider": ((str,), "a string"),
    "headers": ((dict,), "a table of strings"),
    "connect_timeout": ((int, float), "a number of seconds"),
    "read_timeout": ((int, float), "a number of seconds"),
    "token_command": ((str,), "a string (a command that prints the token)"),
    "ignore_stdin": ((bool,), "true or false"),
    "params": ((dict,), "a table of request body fields"),
}
TOP_LEVEL = ("defaults", "profiles", "default_profile")


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".config")
    return Path(base) / "streamchat" / "config.toml"


@dataclass
class Settings:
    """The config file's settings for one run, and where each came from."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    path: Path | None = None


def _line_of(text: str, key: str, after: int = 0) -> int:
    """The line a key is written on (tomllib reports lines only for syntax errors)."""
    lines = text.split("\n")
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*[=.]")
    for number in range(after, len(lines)):
        if pattern.match(lines[number]):
            return number + 1
    return 0


def _table_line(text: str, name: str) -> int:
    dotted = r"\s*\.\s*".join(re.escape(part) for part in name.split("."))
    pattern = re.compile(r"^\s*\[\s*" + dotted + r"\s*\]")
    for number, line in enumerate(text.split("\n")):
        if pattern.match(line):
            return number
    return 0


def _check_table(table: Any, where: str, text: str, path: Path) -> dict[str, Any]:
    start = _table_line(text, where)
    if not isinstance(table, dict):
        raise UsageError(f"{path}:{start + 1}: [{where}] must be a table")
    for key, value in table.items():
        line = _line_of(text, key, start) or start + 1
        if key not in SETTINGS:
            known = ", ".join(SETTINGS)
            raise UsageError(f"{path}:{line}: unknown setting {key!r} in [{where}] (known: {known})")
        types, meaning = SETTINGS[key]
        # bool is an int subclass: `read_timeout = true` must not pass as a number, but a boolean setting takes one.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise UsageError(f"{path}:{line}: {key} must be {meaning}")
        if key == "headers" and not all(isinstance(v, str) for v in value.values()):
            raise UsageError(f"{path}:{line}: headers must be a table of strings")
        if key == "dialect" and value not in DIALECTS:
            raise UsageError(f"{path}:{line}: dialect must be one of {', '.join(DIALECTS)}")
        if key.endswith("_timeout") and not (0 < value < math.inf):  # (TOML has nan and inf; nan fails both)
            raise UsageError(f"{path}:{line}: {key} must be a finite number more than 0")
    return table


_parsed: dict[tuple[Path, int, int], dict[str, Any]] = {}


def load(path: Path) -> dict[str, Any]:
    """The parsed, checked file; {} when there is none. Parsed once a run, though both the --profile
    callback and the command's own settings ask for it (keyed by mtime and size, so a changed file is read again)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    except OSError:
        stat = None
    key = (path, stat.st_mtime_ns, stat.st_size) if stat is not None else None
    if key is not None and key in _parsed:
        return _parsed[key]
    data = _parse(path)
    if key is not None:
        _parsed[key] = data
    return data


def _parse(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the config file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"{path}:{match.group(1)}" if match else str(path)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise UsageError(f"{where}: {message}") from None
    for key in data:
        if key not in TOP_LEVEL:
            raise UsageError(
                f"{path}:{_line_of(text, key) or _table_line(text, key) + 1}: unknown key {key!r} (expected [defaults], [profiles.NAME] or default_profile)"
            )
    _check_table(data.get("defaults", {}), "defaults", text, path)
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise UsageError(f"{path}:{_line_of(text, 'profiles')}: profiles must be tables: [profiles.NAME]")
    for name, table in profiles.items():
        _check_table(table, f"profiles.{name}", text, path)
    default_profile = data.get("default_profile")
    if default_profile is not None and (not isinstance(default_profile, str) or default_profile not in profiles):
        raise UsageError(f"{path}:{_line_of(text, 'default_profile')}: default_profile names no [profiles.NAME] table")
    return data


def settings(profile: str | None, environ: Mapping[str, str] | None = None) -> Settings:
    """What the config file says for this run: [defaults], then the chosen profile over it."""
    path = config_path(environ)
    data = load(path)
    out = Settings(path=path if data else None)
    for key, value in data.get("defaults", {}).items():
        out.values[key] = value
        out.sources[key] = f"{path} [defaults]"
    name = profile or data.get("default_profile")
    if name:
        profiles = data.get("profiles", {})
        if name not in profiles:
            known = ", ".join(sorted(profiles)) or "none"
            raise UsageError(f"no profile {name!r} in {path} (profiles: {known})")
        out.profile = name
        for key, value in profiles[name].items():
            if key == "headers":
                value = {**out.values.get("headers", {}), **value}
            out.values[key] = value
            out.sources[key] = f"{path} [profiles.{name}]"
    return out


def run_token_command(command: str, source: str) -> str:
    """The token a ``token_command`` prints (its first line); its stderr goes to the user's."""
    try:
        done = subprocess.run(command, shell=True, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"token_command from {source} failed: {exc}") from None
    if done.returncode != 0:
        raise UsageError(f"token_command from {source} exited with status {done.returncode}")
    token = done.stdout.decode("utf-8", "replace").strip().splitlines()
    if not token or not token[0].strip():
        raise UsageError(f"token_command from {source} printed no token")
    return token[0].strip()
