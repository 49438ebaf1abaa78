"""The client side's TLS settings: the system's CAs, a ``--cacert`` bundle, or no verification (``--insecure``)."""

from __future__ import annotations

import ssl

from .errors import UsageError


def client_context(insecure: bool = False, cacert: str | None = None) -> ssl.SSLContext:
    """A context for connecting; a ``--cacert`` that is not a loadable CA bundle is the user's to fix (exit 2)."""
    try:
        context = ssl.create_default_context(cafile=cacert) if cacert else ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot load --cacert {cacert!r}: {exc}") from exc
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
