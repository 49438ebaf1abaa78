"""Renderers: events → stdout (data) and stderr (people).

Renderers only append to an in-memory buffer; ``flush()`` writes it with one syscall. The client
calls ``flush()`` just before it blocks on the next network read, so everything decoded from one
read is written together: never held back because stdout is a pipe, never a syscall per token.

Every event reaches the reply and the output through ``emit``, which scrubs credentials first
(``secrets``); every line on stderr is one line, scrubbed, with server text made harmless
(``terminal``); stdout JSON is strict (``strict_json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import secrets
from ..env import Environment
from ..errors import CheckFailedError, StdoutClosed, StreamchatError, WriteFailedError
from ..events import Content, Done, Error, Event, Reasoning
from ..protocol.strict_json import clean
from ..protocol.strict_json import dumps as strict_dumps
from ..terminal import neutralize, one_line
from .reply import Reply

_DIM, _RESET, _RED = "\x1b[2m", "\x1b[0m", "\x1b[31m"
_encode_str = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]
_CONTENT_LINE = '{"type": "content", "text": '  # + the JSON string + "}\n": the content line, as json.dumps writes it
_CONTENT_SEP = "}\n" + _CONTENT_LINE


@dataclass
class OutputOptions:
    mode: str = "text"
    # The Python API writes nothing to stderr unless asked (quiet=False); the CLI asks unless -q.
    quiet: bool = True
    no_reasoning: bool = False
    timestamps: bool = False
    color: str = "auto"


class Renderer:
    """Base: buffering, scrubbing, stderr lines, the report. Subclasses decide how events look."""

    def __init__(self, env: Environment, opts: OutputOptions, scrubber: secrets.Scrubber | None = None) -> None:
        self.env = env
        self.opts = opts
        self._out: list[bytes] = []
        self._err: list[str] = []
        self.t0 = 0.0
        self.turn: int | None = None
        self.stderr_color = env.use_color(opts.color, bool(env.stderr_isatty))
        self.stdout_closed = False
        self.scrubber = scrubber if scrubber is not None else secrets.active()
        self._content_scrub = self._reasoning_scrub = self.scrubber.text_stream()

    def begin(self, t0: float, turn: int | None = None) -> None:
        self.t0 = t0
        self.turn = turn
        # made here, not in __init__: the credentials are known by the time a reply begins
        self._content_scrub = self.scrubber.text_stream()
        self._reasoning_scrub = self.scrubber.text_stream()

    def sent(self, at: float) -> None:
        """The request that the reply answers went out at ``at`` (after any retries): ``-t`` counts from it."""
        self.t0 = at

    def emit(self, reply: Reply, events: list[Event], now: float) -> None:
        """Events decoded from one read: scrubbed, into the reply, then rendered."""
        if self.scrubber:
            events = self.scrub(events)
        reply.add(events, now)
        self.write(events, now)

    def scrub(self, events: list[Event]) -> list[Event]:
        """The events with every credential replaced, in content and reasoning even when a
        credential is split across events (its start is held back until the next read)."""
        content = self._content_scrub
        if not content.pending:  # the common read, tokens only: one join and one search
            texts = [event.text for event in events if event.type == "content"]  # type: ignore[union-attr]
            if texts and len(texts) == len(events):
                joined = "".join(texts)
                safe = content.feed(joined)
                if safe is joined:
                    return events
                return [Content(safe)] if safe else []
        out: list[Event] = []
        for event in events:
            kind = event.type
            if kind == "content" or kind == "reasoning":
                stream = content if kind == "content" else self._reasoning_scrub
                text = stream.feed(event.text)  # type: ignore[union-attr]
                if text:
                    out.append(Content(text) if kind == "content" else Reasoning(text))
            elif kind == "error":
                out.extend(self._held_back())
                code = event.code  # type: ignore[union-attr]
                out.append(Error(self.scrubber.text(event.message), self.scrubber.text(code) if isinstance(code, str) else code))  # type: ignore[union-attr]
            elif kind == "done":
                out.extend(self._held_back())
                reason = event.finish_reason  # type: ignore[union-attr]
                out.append(Done(self.scrubber.text(reason) if reason else reason))
            else:  # tps, usage, and any other kind: its text fields, scrubbed in place
                _scrub_fields(event, self.scrubber)
                out.append(event)
        return out

    def _held_back(self) -> list[Event]:
        """What the scrubbing streams held back, released: the reply is ending."""
        out: list[Event] = []
        text = self._reasoning_scrub.close()
        if text:
            out.append(Reasoning(text))
        text = self._content_scrub.close()
        if text:
            out.append(Content(text))
        return out

    def write(self, events: list[Event], now: float) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def flush(self) -> None:
        if self.stdout_closed:
            return
        if self._err:
            text = "".join(self._err)
            self._err.clear()
            write_stderr(self.env, text)
        if self._out:
            data = b"".join(self._out)
            self._out.clear()
            write_stdout(self.env, data, self)

    def release(self, reply: Reply) -> None:
        """A reply cut short: what scrubbing held back (not a secret after all) joins it."""
        held = self._held_back()
        if held:
            now = reply.t_last or self.t0
            reply.add(held, now)
            self.write(held, now)

    def end(self, reply: Reply, failure: StreamchatError | None = None) -> None:
        """The reply is over, completed or not (``failure``): final output, then the stderr report."""
        self.release(reply)
        self.flush()
        if failure is None and not self.opts.quiet and not self.stdout_closed and reply.done and reply.error is None:
            self.note(reply.report_line())

    def failure_object(self, reply: Reply, failure: StreamchatError | None) -> dict[str, Any] | None:
        """What a failed run says on stdout (``docs/events.md#failures``): its message, ``code`` and HTTP
        ``status``. None when nothing is due: no failure, a failed check (the reply itself completed), or a
        server error event that was already written."""
        if failure is None or isinstance(failure, CheckFailedError) or reply.error is not None:
            return None
        code = failure.code if failure.code is not None else "server_error"
        out: dict[str, Any] = {"message": self.scrubber.text(failure.message), "code": code if isinstance(code, str) else str(code)}
        status = getattr(failure, "status", None)
        if isinstance(status, int):
            out["status"] = status
        return out

    def note(self, line: str) -> None:
        """A line for people on stderr (notices; suppressed by -q): one line, scrubbed, harmless."""
        if not self.opts.quiet:
            stderr_line(self.env, line, self.scrubber)


def _scrub_fields(event: Event, scrubber: secrets.Scrubber) -> None:
    """Every text field of an event (a tool call's name and arguments, say) with credentials replaced."""
    for cls in type(event).__mro__:
        for name in getattr(cls, "__slots__", ()):
            value = getattr(event, name, None)
            if isinstance(value, str):
                safe = scrubber.text(value)
                if safe != value:
                    setattr(event, name, safe)


def write_stdout(env: Environment, data: bytes, renderer: Renderer | None = None) -> None:
    """Bytes to stdout, flushed. A reader that went away is ``StdoutClosed`` (quiet, as by SIGPIPE);
    any other failure (a full disk, an I/O error) is ``WriteFailedError`` (status 2)."""
    try:
        env.stdout.write(data)
        env.stdout.flush()
    except BrokenPipeError as exc:
        if renderer is not None:
            renderer.stdout_closed = True
        raise StdoutClosed from exc
    except (OSError, ValueError) as exc:
        if renderer is not None:
            renderer.stdout_closed = True
        reason = getattr(exc, "strerror", None) or str(exc)
        raise WriteFailedError(f"could not write to standard output: {reason}") from None


def stderr_line(env: Environment, line: str, scrubber: secrets.Scrubber | None = None) -> None:
    """A notice for people: one line, credentials scrubbed, server text made harmless."""
    write_stderr(env, one_line((scrubber if scrubber is not None else secrets.active()).text(line)) + "\n")


def write_stderr(env: Environment, text: str) -> None:
    """Text for people on stderr. A stderr that cannot be written loses the text, nothing else:
    it never changes how the run ends."""
    stream = env.stderr
    if stream is None:
        return
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError, AttributeError):
        pass


class TextRenderer(Renderer):
    """Content to stdout as it arrives; reasoning to stderr (dimmed on a terminal)."""

    def __init__(self, env: Environment, opts: OutputOptions, scrubber: secrets.Scrubber | None = None) -> None:
        super().__init__(env, opts, scrubber)
        self._escape = bool(env.stdout_isatty)
        self._escape_err = bool(env.stderr_isatty)
        self._in_reasoning = False
        self._owes_newline = False

    def write(self, events: list[Event], now: float) -> None:
        texts: list[str] = []  # the content of one read, encoded once
        for event in events:
            kind = event.type
            if kind == "content":
                if self._in_reasoning:
                    self._end_reasoning()
                texts.append(event.text)  # type: ignore[union-attr]
            elif kind == "reasoning" and not self.opts.no_reasoning:
                text = event.text  # type: ignore[union-attr]
                if self._escape_err:
                    text = neutralize(text)
                if self.stderr_color:
                    text = _DIM + text + _RESET
                self._err.append(text)
                self._in_reasoning = True
            elif kind == "tool_call":  # one line a call, on stderr: part of the reply, so shown with -q too
                if self._in_reasoning:
                    self._end_reasoning()
                self._err.append(one_line(f"streamchat: tool call {event.name}({event.arguments})") + "\n")  # type: ignore[union-attr]
        if texts:
            text = "".join(texts)
            if self._escape:
                text = neutralize(text)
            try:
                self._out.append(text.encode("utf-8"))
            except UnicodeEncodeError:  # a lone surrogate (from a source that did not clean it): U+FFFD
                self._out.append(clean(text).encode("utf-8"))
            self._owes_newline = not text.endswith("\n")

    def _end_reasoning(self) -> None:
        self._in_reasoning = False
        self._err.append("\n")

    def end(self, reply: Reply, failure: StreamchatError | None = None) -> None:
        self.release(reply)
        if self._in_reasoning:
            self._end_reasoning()
        if self._owes_newline:
            self._out.append(b"\n")
            self._owes_newline = False
        super().end(reply, failure)


class NDJSONRenderer(Renderer):
    """One JSON object a line, the closed schema of ``docs/events.md#ndjson``."""

    def write(self, events: list[Event], now: float) -> None:
        out = self._out
        extra = self._extra(now)
        if not extra:
            texts = [event.text for event in events if event.type == "content"]  # type: ignore[union-attr]
            if texts and len(texts) == len(events):  # a read of tokens only: the hot path, one join
                out.append((_CONTENT_LINE + _CONTENT_SEP.join(map(_encode_str, texts)) + "}\n").encode())
                return
        for event in events:
            if event.type == "content" and not extra:
                # the hot path: one string format instead of a dict and a generic dumps
                out.append((_CONTENT_LINE + _encode_str(event.text) + "}\n").encode())  # type: ignore[union-attr]
                continue
            record = event.as_dict()
            if extra:
                record.update(extra)
            out.append(strict_dumps(record).encode() + b"\n")

    def end(self, reply: Reply, failure: StreamchatError | None = None) -> None:
        self.release(reply)
        error = self.failure_object(reply, failure)
        if error is not None:  # the last line of a failed run says why
            record = {"type": "error", **error, **self._extra(reply.t_end or reply.t_last or self.t0)}
            self._out.append(strict_dumps(record).encode() + b"\n")
        super().end(reply, failure)

    def _extra(self, now: float) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.opts.timestamps:
            extra["t"] = round(now - self.t0, 6)
        if self.turn is not None:
            extra["turn"] = self.turn
        return extra


class JSONRenderer(Renderer):
    """One object when the reply ends."""

    def write(self, events: list[Event], now: float) -> None:
        pass

    def end(self, reply: Reply, failure: StreamchatError | None = None) -> None:
        self.release(reply)
        summary = reply.summary()
        error = self.failure_object(reply, failure)
        if error is not None:
            summary["error"], summary["done"] = error, False
        if self.turn is not None:
            summary["turn"] = self.turn
        self._out.append(strict_dumps(summary).encode() + b"\n")
        super().end(reply, failure)


def print_error(message: str, hint: str | None = None, env: Environment | None = None) -> None:
    """``streamchat: error: ...`` on stderr: always shown, one line (plus a hint line), scrubbed."""
    env = env or Environment()
    scrub = secrets.active().text
    prefix = "streamchat: error: "
    if env.use_color("auto", bool(env.stderr_isatty)):
        prefix = f"streamchat: {_RED}error{_RESET}: "
    text = prefix + one_line(scrub(message)) + "\n"
    if hint:
        text += "streamchat: hint: " + one_line(scrub(hint)) + "\n"
    write_stderr(env, text)


def make_renderer(env: Environment, opts: OutputOptions, scrubber: secrets.Scrubber | None = None) -> Renderer:
    """The renderer for ``opts.mode``; ``scrubber`` defaults to the process's (``secrets.active()``)."""
    if opts.mode == "ndjson":
        return NDJSONRenderer(env, opts, scrubber)
    if opts.mode == "json":
        return JSONRenderer(env, opts, scrubber)
    return TextRenderer(env, opts, scrubber)
