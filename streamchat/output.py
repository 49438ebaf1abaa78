"""Renderers: events → stdout (data) and stderr (people), SPEC §3.

Renderers only append to an in-memory buffer; ``flush()`` writes it with one syscall. The client
calls ``flush()`` just before it blocks on the next network read, so everything decoded from one
read is written together: never held back because stdout is a pipe, never a syscall per token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .env import Environment
from .events import Event
from .reply import Reply
from .terminal import neutralize, one_line

OUTPUT_MODES = ("text", "ndjson", "json")
_DIM, _RESET, _RED = "\x1b[2m", "\x1b[0m", "\x1b[31m"
_dumps = json.dumps
_encode_str = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]
_CONTENT_LINE = '{"type": "content", "text": '  # + the JSON string + "}\n": the content line, as json.dumps writes it
_CONTENT_SEP = "}\n" + _CONTENT_LINE


@dataclass
class OutputOptions:
    mode: str = "text"
    quiet: bool = False
    no_reasoning: bool = False
    timestamps: bool = False
    color: str = "auto"


class StdoutClosed(Exception):
    """stdout was closed by the reader (``| head -1``): end quietly, as if by SIGPIPE."""


class Renderer:
    """Base: buffering, stderr lines, the report. Subclasses decide how events look."""

    def __init__(self, env: Environment, opts: OutputOptions) -> None:
        self.env = env
        self.opts = opts
        self._out: list[bytes] = []
        self._err: list[str] = []
        self.t0 = 0.0
        self.turn: int | None = None
        self.stderr_color = env.use_color(opts.color, bool(env.stderr_isatty))
        self.stdout_closed = False

    def begin(self, t0: float, turn: int | None = None) -> None:
        self.t0 = t0
        self.turn = turn

    def write(self, events: list[Event], now: float) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def flush(self) -> None:
        if self.stdout_closed:
            return
        try:
            if self._err:
                self.env.stderr.write("".join(self._err))
                self._err.clear()
                self.env.stderr.flush()
            if self._out:
                data = b"".join(self._out)
                self._out.clear()
                self.env.stdout.write(data)
                self.env.stdout.flush()
        except BrokenPipeError as exc:
            self.stdout_closed = True
            raise StdoutClosed from exc

    def end(self, reply: Reply) -> None:
        """The reply is over (completed or not): final output, then the stderr report."""
        self.flush()
        if not self.opts.quiet and not self.stdout_closed and reply.done and reply.error is None:
            self.note(reply.report_line())

    def note(self, line: str) -> None:
        """A line for people on stderr (notices; suppressed by -q)."""
        if not self.opts.quiet:
            self.env.stderr.write(line + "\n")
            self.env.stderr.flush()


class TextRenderer(Renderer):
    """Content to stdout as it arrives; reasoning to stderr (dimmed on a terminal)."""

    def __init__(self, env: Environment, opts: OutputOptions) -> None:
        super().__init__(env, opts)
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
        if texts:
            text = "".join(texts)
            if self._escape:
                text = neutralize(text)
            self._out.append(text.encode("utf-8", "replace"))
            self._owes_newline = not text.endswith("\n")

    def _end_reasoning(self) -> None:
        self._in_reasoning = False
        self._err.append("\n")

    def end(self, reply: Reply) -> None:
        if self._in_reasoning:
            self._end_reasoning()
        if self._owes_newline:
            self._out.append(b"\n")
            self._owes_newline = False
        super().end(reply)


class NDJSONRenderer(Renderer):
    """One JSON object a line, the closed schema of SPEC §3."""

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
            out.append(_dumps(record).encode() + b"\n")

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

    def end(self, reply: Reply) -> None:
        self._out.append(_dumps(reply.summary()).encode() + b"\n")
        super().end(reply)


def print_error(message: str, hint: str | None = None, env: Environment | None = None) -> None:
    """``streamchat: error: ...`` on stderr: always shown, one line (plus a hint line)."""
    env = env or Environment()
    prefix = "streamchat: error: "
    if env.use_color("auto", bool(env.stderr_isatty)):
        prefix = f"streamchat: {_RED}error{_RESET}: "
    text = prefix + one_line(message) + "\n"
    if hint:
        text += "streamchat: hint: " + one_line(hint) + "\n"
    try:
        env.stderr.write(text)
        env.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass


def make_renderer(env: Environment, opts: OutputOptions) -> Renderer:
    if opts.mode == "ndjson":
        return NDJSONRenderer(env, opts)
    if opts.mode == "json":
        return JSONRenderer(env, opts)
    return TextRenderer(env, opts)
