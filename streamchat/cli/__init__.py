"""The Typer app and the one boundary where errors become a stderr line and an exit status."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import Annotated, Any, Optional

import typer

from .. import __version__
from ..errors import StdoutClosed, StreamchatError, WriteFailedError

# Shown by `streamchat --help` and as streamchat(1)'s EXAMPLES ("\b": click keeps the lines as written).
EXAMPLES = """
Examples:

\b
  streamchat chat "Hello"                                  # the built-in demo server: nothing to set up
  streamchat chat --url http://127.0.0.1:8000/v1 -m m "Hi"  # a server's base URL: /v1/chat/completions
  while read -r q; do streamchat chat --ignore-stdin -q "$q"; done < questions.txt
  streamchat chat -o json --url "$URL" "Hi" > out.json || jq -r .error.code out.json
  streamchat bench --url "$URL" --slo 'ttft_p95<=500' --max-error-rate 1    # a CI gate: exit 8 when it fails
  source <(streamchat completion bash)                     # TAB completion (zsh, fish: see its --help)

See 'streamchat COMMAND --help' and the man pages streamchat-COMMAND(1).
"""

app = typer.Typer(
    name="streamchat",
    help="Stream AI chat replies from a shell, and measure how fast servers stream.\n\n"
    'Run with no --url to use the built-in demo server: streamchat chat "Hello"',
    epilog=EXAMPLES,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from ..env import print_stdout

        print_stdout(f"streamchat {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = None,
) -> None:
    """Stream AI chat replies from a shell, and measure how fast servers stream."""


from . import bench as _bench  # noqa: E402,F401
from . import camera as _camera  # noqa: E402,F401
from . import chat as _chat  # noqa: E402,F401  (registers the command)
from . import completion as _completion  # noqa: E402,F401
from . import config as _config  # noqa: E402,F401
from . import models as _models  # noqa: E402,F401
from . import serve as _serve  # noqa: E402,F401
from . import ws_chat as _ws_chat  # noqa: E402,F401


def _die_of_sigpipe() -> int:
    """stdout was closed (``| head -1``): end as Unix tools do, killed by SIGPIPE, nothing on stderr."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
    return 141


def _fd_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _standard_streams() -> bool:
    """Descriptors 0-2 started closed (``>&-``, ``2>&-``, ``<&-``): put /dev/null there, so no file or
    socket opened later takes their place (a socket on fd 1 would get our output), and give Python
    stream objects for them. True when stdout was closed: a run with nowhere to write its output."""
    closed = [fd for fd in (0, 1, 2) if not _fd_open(fd)]
    for fd in closed:
        null = os.open(os.devnull, os.O_RDWR)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
    if 1 in closed:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    if 2 in closed:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - a closed stderr changes nothing else
    return 1 in closed


def _settle_stdout() -> bool:
    """Write what stdout still buffers. If that fails (a full disk), nothing more goes there: Python's
    own flush at exit must not try again and print its complaint. False when it failed."""
    try:
        sys.stdout.flush()
        return True
    except (OSError, ValueError):
        pass
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    return False


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _usage_hint(exc: typer.TyperException) -> str:
    ctx = getattr(exc, "ctx", None)  # a usage error knows the command it was raised for
    return f"see '{ctx.command_path if ctx is not None else 'streamchat'} --help'"


def _root_help_as_usage_error(command: Any) -> int:
    """`streamchat` alone: the help, on stderr, as a usage error (status 2), as git and cargo do."""
    import contextlib

    with contextlib.redirect_stdout(sys.stderr):
        command.main(args=["--help"], prog_name="streamchat", standalone_mode=False)
    return 2


def print_error(message: str, hint: str | None = None) -> None:
    """The error line (imported when an error happens: a run that goes well never loads the renderers)."""
    from ..session.output import print_error as write_error

    write_error(message, hint)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status instead of exiting (for tests and embedding)."""
    # pydantic looks for plugins through every installed distribution's entry points the first time
    # a model is built (16 ms of a chat's start); we use none. Its documented switch:
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from typer.main import get_command

    from .. import secrets
    from .light import invoked, light_app

    secrets.forget_all()  # a run called in-process inherits no credential from an earlier one
    args = list(argv) if argv is not None else sys.argv[1:]
    keep = invoked(args)
    if keep in ("chat", "ws-chat"):  # from the first import on; never for serve or bench (timed streams)
        from ..session.collector import collect_garbage_less_often

        collect_garbage_less_often()
    command = get_command(light_app(app, keep=keep))
    try:
        if not args:
            return _root_help_as_usage_error(command)
        result = command.main(args=args, prog_name="streamchat", standalone_mode=False)
    except typer.Abort:
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:  # click's errors, as Typer exports them: usage errors are status 2
        code = getattr(exc, "exit_code", 1)
        print_error(exc.format_message(), _usage_hint(exc) if code == 2 else None)
        return code
    except StreamchatError as exc:
        if exc.exit_code == 130:
            print_error("interrupted")
        else:
            print_error(exc.message, exc.hint)
        if isinstance(exc, WriteFailedError):
            _settle_stdout()  # (when stdout was what failed, its buffer holds what could not be written)
        return exc.exit_code
    except (StdoutClosed, BrokenPipeError):
        return _die_of_sigpipe()
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: one line, not a traceback, unless asked for
        if os.environ.get("STREAMCHAT_DEBUG"):
            raise
        print_error(f"internal error: {type(exc).__name__}: {exc}", "please report this; STREAMCHAT_DEBUG=1 shows the traceback")
        return 1
    return result if isinstance(result, int) else 0


def main(argv: Sequence[str] | None = None) -> None:
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _sigterm)
    stdout_closed = _standard_streams()
    args = list(argv) if argv is not None else sys.argv[1:]
    if stdout_closed and "serve" not in args:  # (the server only says where it listens there)
        print_error("standard output is closed (>&-): nowhere to write the output", "give it a file or /dev/null: >/dev/null")
        sys.exit(2)
    code = run(args)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _die_of_sigpipe()
    except (OSError, ValueError) as exc:  # what was buffered could not be written
        print_error(f"could not write to standard output: {getattr(exc, 'strerror', None) or exc}")
        _settle_stdout()
        code = code or 2
    sys.exit(code)
