"""Which redirects are followed, and with what: decided here and nowhere else (chat, bench, models).

- At most ``MAX_REDIRECTS`` hops; one more is a loop as far as we are concerned (protocol error, 7).
- 307 and 308 keep the method and the body. A POST answered 301, 302 or 303 is not followed: turning it
  into a GET (what browsers do) would silently drop the request; the user is told where it points
  (HTTP status error, 6). A GET follows all five.
- Credentials (``Authorization``, ``x-api-key``, ``Cookie``, ``Proxy-Authorization`` and every ``-H``
  header) go to a target only when its scheme, host and port equal the original URL's.
- A redirect from https to http, or to any scheme but http(s), is refused (protocol error, 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from ..errors import HTTPStatusError, ProtocolError

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Hop:
    """One request of a redirect chain."""

    method: str
    url: str
    body: bytes | None
    number: int = 0  # 0 for the original request, then 1, 2, ...
    with_credentials: bool = True


def origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def next_hop(original: str, hop: Hop, status: int, location: str | None) -> Hop:
    """The request a redirect asks for, or an error saying why it is not followed."""
    if not location:
        raise HTTPStatusError(f"HTTP {status}: a redirect without a Location header", status=status)
    target = urljoin(hop.url, location.strip())
    scheme = urlsplit(target).scheme.lower()
    if scheme not in ("http", "https"):
        raise ProtocolError(f"refused a redirect to a {scheme or 'relative'} URL: {target}")
    if urlsplit(hop.url).scheme.lower() == "https" and scheme == "http":
        raise ProtocolError(f"refused a redirect from https to plain http: {target}")
    if hop.number >= MAX_REDIRECTS:
        raise ProtocolError(f"too many redirects (more than {MAX_REDIRECTS}); the last one pointed at {target}")
    method, body = hop.method, hop.body
    if status in (301, 302, 303) and method not in ("GET", "HEAD"):
        raise HTTPStatusError(
            f"HTTP {status}: the server redirects this {method} to {target}; not followed (a {method} would become a GET)",
            status=status,
            hint=f"use --url {target}",
        )
    return Hop(method, target, body, hop.number + 1, origin(target) == origin(original))


__all__ = ["MAX_REDIRECTS", "REDIRECT_STATUSES", "Hop", "next_hop", "origin"]
