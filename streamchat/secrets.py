"""Keeping credentials out of everything streamchat writes, even when a server echoes them back.

One ``Scrubber`` serves every output path: stdout (renderers), stderr (notices, error lines),
``--record``, ``-C`` and ``-o json``::

    scrubber = Scrubber("s3cret")
    scrubber.text("token s3cret")            # 'token <redacted>'
    stream = scrubber.bytes_stream()          # for bytes that arrive in pieces (a recording)
    stream.feed(b"... s3c") + stream.feed(b"ret ...") + stream.close()   # b'... <redacted> ...'

A stream holds back the end of a piece while it could be the start of a secret (at most
``len(secret) - 1`` characters) and lets it go with the next piece or ``close()``: a secret split
across network reads is found all the same. When no secret is known every method is a no-op.

The CLI registers the credentials it resolves with ``protect()``; ``active()`` is the scrubber that
holds them, the one the output paths use when they are not given another.
"""

from __future__ import annotations

from typing import AnyStr, Generic

REDACTED = "<redacted>"
MIN_LENGTH = 4  # a "secret" of 1-3 characters would scrub ordinary text to pieces: not one worth hiding


class StreamScrubber(Generic[AnyStr]):
    """Scrubs a text or byte stream fed in pieces; ``feed`` returns what is safe to write now."""

    __slots__ = ("_secrets", "_redacted", "_carry", "_empty")

    def __init__(self, secrets: list[AnyStr], redacted: AnyStr) -> None:
        self._secrets = secrets
        self._redacted = redacted
        self._empty: AnyStr = redacted[:0]
        self._carry: AnyStr = self._empty

    @property
    def pending(self) -> bool:
        """Something is held back (a possible start of a secret)."""
        return bool(self._carry)

    def feed(self, data: AnyStr) -> AnyStr:
        """``data`` with every secret replaced, minus a held-back end; unchanged (the same object)
        when there was nothing to replace or hold."""
        if not self._secrets:
            return data
        if self._carry:
            data = self._carry + data
            self._carry = self._empty
        for secret in self._secrets:
            if secret in data:
                data = data.replace(secret, self._redacted)
        hold = self._held(data)
        if hold:
            self._carry = data[-hold:]
            return data[:-hold]
        return data

    def close(self) -> AnyStr:
        """The end of the stream: what was held back (not a secret: the stream ended first)."""
        out, self._carry = self._carry, self._empty
        return out

    def _held(self, data: AnyStr) -> int:
        """Length of the longest end of ``data`` that begins some secret (0 for none)."""
        best = 0
        size = len(data)
        for secret in self._secrets:
            first = secret[:1]
            pos = data.find(first, max(0, size - len(secret) + 1))
            while pos >= 0:
                if secret.startswith(data[pos:]):
                    best = max(best, size - pos)
                    break  # the earliest match is the longest
                pos = data.find(first, pos + 1)
        return best


class Scrubber:
    """The secrets to keep out of output, and the ways to scrub them (see the module docstring)."""

    __slots__ = ("secrets", "_bytes")

    def __init__(self, *secrets: str | None) -> None:
        self.secrets: list[str] = []
        self._bytes: list[bytes] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Protect ``secret`` and the forms it takes in a URL; ignored when shorter than MIN_LENGTH."""
        if not secret or len(secret) < MIN_LENGTH:
            return
        from urllib.parse import quote, quote_plus

        for form in (secret, quote(secret, safe=""), quote_plus(secret)):
            if form not in self.secrets:
                self.secrets.append(form)
                self._bytes.append(form.encode("utf-8", "surrogateescape"))
        # the longest first: a form that contains another is replaced whole
        self.secrets.sort(key=len, reverse=True)
        self._bytes.sort(key=len, reverse=True)

    def clear(self) -> None:
        self.secrets.clear()
        self._bytes.clear()

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def text(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def bytes(self, data: bytes) -> bytes:
        for secret in self._bytes:
            if secret in data:
                data = data.replace(secret, REDACTED.encode())
        return data

    def text_stream(self) -> StreamScrubber[str]:
        return StreamScrubber(list(self.secrets), REDACTED)

    def bytes_stream(self) -> StreamScrubber[bytes]:
        return StreamScrubber(list(self._bytes), REDACTED.encode())


_ACTIVE = Scrubber()


def active() -> Scrubber:
    """The process's scrubber: every credential given to ``protect``."""
    return _ACTIVE


def protect(secret: str | None) -> None:
    """From now on, ``secret`` is scrubbed from everything written through ``active()``."""
    _ACTIVE.add(secret)


def forget_all() -> None:
    """A new run starts (the CLI called in-process, tests): no secret from an earlier one."""
    _ACTIVE.clear()


CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"})


def protect_header(name: str, value: str) -> None:
    """A ``-H`` header that carries a credential: its value, and the part after an auth scheme."""
    if name.lower() not in CREDENTIAL_HEADERS:
        return
    protect(value)
    scheme, _, credential = value.partition(" ")
    if credential.strip():
        protect(credential.strip())


__all__ = ["REDACTED", "Scrubber", "StreamScrubber", "active", "forget_all", "protect", "protect_header"]
