"""TLS contexts for every client connection (HTTP streams, WebSocket, proxies), made the same way.

Verification uses, in order: ``--cacert``, the ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` environment
variables (as OpenSSL, curl and httpx honour them), else certifi's bundle (the same CAs as httpx and
requests). ``--insecure`` turns verification off. Building a context loads a CA bundle (~20 ms), so it is
only made when a connection needs TLS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    import ssl


def client_context(insecure: bool = False, cacert: str | None = None, environ: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """A client context offering HTTP/1.1 (ALPN), verifying as described above."""
    import ssl

    environ = os.environ if environ is None else environ
    if insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif cacert:
        try:
            context = ssl.create_default_context(cafile=cacert)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise UsageError(f"cannot load --cacert {cacert!r}: {exc}") from exc
    else:
        cafile, capath = environ.get("SSL_CERT_FILE") or None, environ.get("SSL_CERT_DIR") or None
        if cafile is None and capath is None:
            import certifi

            cafile = certifi.where()
        try:
            context = ssl.create_default_context(cafile=cafile, capath=capath)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise UsageError(f"cannot load the CA bundle from SSL_CERT_FILE/SSL_CERT_DIR: {exc}") from exc
    context.set_alpn_protocols(["http/1.1"])
    return context


def describe_tls_error(exc: BaseException) -> str:
    """One line for a failed handshake: the verification reason when there is one."""
    reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return str(reason)


__all__ = ["client_context", "describe_tls_error"]
