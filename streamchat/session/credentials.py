"""Where a request goes and who it says it is: the URL check, the token, the extra headers, the auth scheme.

Shared by every command that sends chat requests (``chat``, ``ws-chat``, ``bench``) and callable
without the CLI: the values come in as plain strings, exactly as a user would give them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..env import Environment
from ..errors import UsageError
from .inputs import load_token_file


def parse_headers(raw: list[str]) -> list[tuple[str, str]]:
    """``-H 'Name: value'`` items as (name, value) pairs; a malformed one is a usage error."""
    out = []
    for item in raw:
        name, sep, value = item.partition(":")
        name = name.strip()
        if not sep or not name or any(c.isspace() for c in name):
            raise UsageError(f"bad header {item!r}: expected 'Name: value'")
        out.append((name, value.strip()))
    return out


@dataclass
class ProfileConnection:
    """What the config file adds to a connection: headers (under the command line's) and a token command."""

    headers: list[str] = field(default_factory=list)
    token_command: str | None = None
    token_command_source: str = ""
    params: dict[str, Any] = field(default_factory=dict)  # body fields a profile adds (under -p's)


def profile_connection(profile: str | None) -> ProfileConnection:
    from .profiles import settings

    found = settings(profile)
    headers = [f"{name}: {value}" for name, value in found.values.get("headers", {}).items()]
    params = dict(found.values.get("params", {}))
    return ProfileConnection(headers, found.values.get("token_command"), found.sources.get("token_command", ""), params)


def resolve_token(
    env: Environment,
    notice: Callable[[str], None],
    *,
    token: str | None = None,
    token_file: str | None = None,
    token_command: str | None = None,
    token_command_source: str = "",
) -> str | None:
    """The token: ``--token-file``, else ``--token``, else ``STREAMCHAT_TOKEN``, else the profile's command."""
    if token is not None and token_file is not None:
        raise UsageError("give --token or --token-file, not both")
    if token_file is not None:
        return load_token_file(token_file, env.stdin)
    if token is not None:
        notice("streamchat: warning: --token is visible to other users in ps; prefer STREAMCHAT_TOKEN or --token-file")
        return token or None
    found = env.environ.get("STREAMCHAT_TOKEN") or None
    if found is None and token_command:
        from .profiles import run_token_command

        found = run_token_command(token_command, token_command_source)
    return found


def check_url(url: str, schemes: tuple[str, ...] = ("http", "https"), option: str = "--url") -> str:
    """The URL as given, or a usage error: empty, another scheme, or no host."""
    from urllib.parse import urlsplit

    if url == "":
        hint = "leave --url out to use the built-in demo server" if option == "--url" else None
        raise UsageError(f"{option} is empty", hint=hint)
    expected = f"expected {' or '.join(s + '://' for s in schemes)}HOST[:PORT]/PATH"
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # urllib refuses a host in brackets that is no IPv6 address, or an unclosed one
        raise UsageError(f"bad URL {url!r}: {exc}", hint=expected) from None
    if parts.scheme.lower() not in schemes or not parts.netloc:
        raise UsageError(f"bad URL {url!r}: {expected}")
    check_port(parts, url)
    return url


def check_port(parts: Any, url: str) -> None:
    """A port in a URL is 0-65535 (urllib raises ValueError on reading it otherwise)."""
    try:
        parts.port  # noqa: B018 - reading it is the check
    except ValueError:
        raise UsageError(f"bad URL {url!r}: the port must be a number from 0 to 65535") from None
