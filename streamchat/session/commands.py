"""What ``chat`` and ``ws-chat`` do, callable without Typer: settings in, turns run, exit status out.

``cli/`` builds a ``ChatArgs`` from the command line and calls these; each returns 0, or raises the
``StreamchatError`` the CLI turns into a status (the failure already written as data on stdout).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from ..errors import UsageError

if TYPE_CHECKING:
    from ..env import Environment
    from ..protocol.requests import ChatRequest
    from .checks import Checks
    from .output import Renderer
    from .settings import ChatArgs

WS_CHAT_PATH = "/api/chat/ws"


def _verify(checks: Checks | None, reply: Any) -> None:
    if checks is not None:
        checks.verify(reply)  # after the output is complete: a failed check writes no error line


@contextmanager
def recording_to(path: str | None, transport: str, dialect: str, url: str, token: str | None) -> Iterator[Any]:
    """``--record``: a Recorder for the run (None without the option), closed whatever happens."""
    if path is None:
        yield None
        return
    from .recording import Recorder

    recorder = Recorder(path, transport, dialect, url, token)
    try:
        yield recorder
    except BaseException:
        recorder.close(quiet=True)  # the run's own failure is the one to report
        raise
    recorder.close()  # a write that failed: status 2, after the reply's output was written


def keeping(recorder: Any, keep: Any, *, last: bool) -> Any:
    """A turn's keep step with the recording's: a ``--record`` file that could not be written fails
    the turn (``write_failed``, written as data like any failure) before the ``-C`` append. ``last``:
    the recording ends with this turn, so it is closed (what scrubbing held back written too)."""
    if recorder is None:
        return keep

    def both(reply: Any) -> None:
        if last:
            recorder.close()
        else:
            recorder.check()
        if keep is not None:
            keep(reply)

    return both


@contextmanager
def sync_channel(
    sync_ws: str | None, chat_url: str, token: str | None, args: ChatArgs, env: Environment, renderer: Renderer
) -> Iterator[Any]:
    """The hybrid control socket when ``--sync-ws`` is given (a path alone joins the chat URL's host)."""
    if sync_ws is None:
        yield None
        return
    from .hybrid import SyncChannel
    from .settings import check_url, resolve_ws

    if sync_ws.startswith("/"):
        sync_ws = urljoin(chat_url, sync_ws)
    check_url(sync_ws, ("ws", "wss", "http", "https"), "--sync-ws")
    opts, _ = resolve_ws(args, env, renderer.note)
    opts.headers.pop("Authorization", None)  # this channel takes the token in its query
    with SyncChannel(sync_ws, token, opts) as channel:
        yield channel


def chat(
    args: ChatArgs,
    env: Environment,
    *,
    sync_ws: str | None = None,
    fallback_url: str | None = None,
    transport: str = "sse",
    chat_id: str | None = None,
    checks: Checks | None = None,
) -> int:
    """``streamchat chat``: one reply over HTTP (or Open WebUI's Socket.IO channel, or a recording)."""
    if args.replay is not None:
        if args.url is not None or sync_ws is not None or fallback_url is not None or args.record is not None or transport != "sse":
            raise UsageError("--replay plays a recording without the network: no --url, --sync-ws, --fallback-url, --record or --transport")
        return replay(args, env, "sse", checks)
    if transport == "socketio":
        if sync_ws is not None or fallback_url is not None or args.record is not None:
            raise UsageError("--sync-ws, --fallback-url and --record go with --transport sse")
        return socketio_chat(args, env, chat_id, checks)
    return http_chat(args, env, sync_ws, fallback_url, checks)


def http_chat(args: ChatArgs, env: Environment, sync_ws: str | None, fallback_url: str | None, checks: Checks | None) -> int:
    from .. import secrets
    from ..dialects import get as dialect_named
    from .http import ChatTarget
    from .hybrid import chat_with_sync
    from .output import make_renderer
    from .settings import (
        check_url,
        choose_model,
        endpoint,
        output_options,
        parse_headers,
        provider_key,
        provider_slug,
        resolve_http,
        resolve_request,
        resolve_target,
    )

    renderer = make_renderer(env, output_options(args))
    http, token = resolve_http(args, env, renderer.note)
    given_url, dialect = resolve_target(args, renderer.note)
    resolved = resolve_request(args, env)
    headers = parse_headers(args.header)
    scheme = args.auth_scheme or dialect_named(dialect).auth_scheme
    fallback = check_url(fallback_url, option="--fallback-url") if fallback_url is not None else None
    _startup_done()
    with endpoint(given_url, dialect_named(dialect).demo_path, renderer.note) as url:
        if token is None:
            token = provider_key(url, env.environ)
            secrets.protect(token)
        target = ChatTarget(url, dialect, token, scheme, headers)
        with failing_as_data(renderer):
            model = choose_model(args, url, dialect, http_with(http, target), renderer.note)
        request = dataclasses.replace(resolved.request, model_id=model, provider_slug=provider_slug(model, args.provider))
        with (
            sync_channel(sync_ws, url, token, args, env, renderer) as channel,
            recording_to(args.record, "sse", dialect, url, token) as recorder,
        ):
            target.recorder = recorder
            reply = chat_with_sync(
                target, request, http, renderer, channel, fallback, keep=keeping(recorder, resolved.keeper(request), last=True)
            )
    _verify(checks, reply)
    return 0


@contextmanager
def failing_as_data(renderer: Renderer) -> Iterator[None]:
    """A request made before the turn (the model list) that fails: the run's failure, written as data
    as a turn writes it (``docs/events.md#failures``)."""
    from ..errors import StreamchatError
    from .reply import Reply

    try:
        yield
    except StreamchatError as exc:
        reply = Reply(0.0)
        renderer.begin(0.0)
        renderer.end(reply, exc)
        raise


def http_with(http: Any, target: Any) -> Any:
    """The connection settings with the target's credentials (for a request outside the turn: the model list)."""
    return dataclasses.replace(http, headers={**target.request_headers(), **http.headers})


def socketio_chat(args: ChatArgs, env: Environment, chat_id: str | None, checks: Checks | None) -> int:
    """``--transport socketio``: the reply over Open WebUI's Socket.IO channel."""
    from ..client.socketio import OpenWebUITarget
    from .output import make_renderer
    from .settings import endpoint, output_options, parse_headers, resolve_http, resolve_request
    from .socketio import run_socketio_chat

    renderer = make_renderer(env, output_options(args))
    http, token = resolve_http(args, env, renderer.note)
    http.headers.update(dict(parse_headers(args.header)))
    resolved = resolve_request(args, env)
    with endpoint(args.url, "", renderer.note) as url:
        reply = run_socketio_chat(OpenWebUITarget(url, token, chat_id), resolved.request, http, renderer, keep=resolved.keeper())
    _verify(checks, reply)
    return 0


def replay(args: ChatArgs, env: Environment, transport: str, checks: Checks | None = None) -> int:
    """``--replay FILE``: a recorded response through the same decoding and output, no network."""
    from .http import replay_chat
    from .output import make_renderer
    from .recording import Recording
    from .settings import output_options
    from .ws import replay_ws

    recording = Recording(args.replay, env.stdin)  # type: ignore[arg-type]
    if recording.transport != transport:
        command = "ws-chat" if recording.transport == "ws" else "chat"
        raise UsageError(f"{args.replay} is a {recording.transport} recording: play it with streamchat {command} --replay")
    renderer = make_renderer(env, output_options(args))
    paced = args.replay_pace == "original"
    if transport == "ws":
        replies = replay_ws(recording, renderer, paced=paced)
    else:
        replies = [replay_chat(recording, renderer, paced=paced, dialect=args.dialect)]
    for reply in replies:
        _verify(checks, reply)
    return 0


def models(args: ChatArgs, env: Environment, output: str) -> int:
    """``streamchat models``: the model ids a server lists, one a line or as JSON."""
    import json

    from ..client.models import list_models, models_url
    from ..dialects import get as dialect_named
    from ..env import print_stdout
    from .output import make_renderer
    from .settings import endpoint, output_options, parse_headers, resolve_http

    renderer = make_renderer(env, output_options(args))
    http, token = resolve_http(args, env, renderer.note)
    http.headers.update(dict(parse_headers(args.header)))
    if token:
        x_api_key = args.dialect is not None and dialect_named(args.dialect).auth_scheme == "x-api-key"
        http.headers.setdefault(*(("x-api-key", token) if x_api_key else ("Authorization", f"Bearer {token}")))
    with endpoint(args.url, "/v1/models", renderer.note) as where:
        if models_url(where, args.dialect) != where:  # a base URL or an endpoint: say where the list is asked for, as chat does
            renderer.note(f"streamchat: {where} is not a model list; asking {models_url(where, args.dialect)}")
        listed_at, ids = list_models(where, args.dialect, http)
    if output == "json":
        print_stdout(json.dumps({"url": listed_at, "models": ids}) + "\n")
        return 0
    from ..terminal import one_line

    # The ids are the server's text: on a terminal, no escape sequence or bidi override of theirs acts.
    print_stdout("".join(f"{one_line(name) if env.stdout_isatty else name}\n" for name in ids))
    return 0


# -- ws-chat -------------------------------------------------------------------------------------------


def stdin_turns(env: Environment) -> Iterator[str]:
    """Each non-empty stdin line, read as it comes (a coprocess can answer turn by turn)."""
    from .inputs import decode_text

    assert env.stdin is not None
    offset = 0  # of this line in stdin: a byte that is not UTF-8 is named by its place in stdin, as chat names it
    while True:
        raw = env.stdin.readline()
        if not raw:
            return
        line = decode_text(raw, "standard input", offset).rstrip("\r\n")  # as chat refuses it: a turn is text
        offset += len(raw)
        if line.strip():
            yield line


PROMPT = "› "


def interactive_turns(env: Environment) -> Iterator[str]:
    """Prompt on stderr, read a line from the terminal; Ctrl-D ends, Ctrl-C clears the line."""
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:  # pragma: no cover
        pass
    while True:
        env.stderr.write(PROMPT)
        env.stderr.flush()
        try:
            line = input()
        except EOFError:
            env.stderr.write("\n")
            return
        except KeyboardInterrupt:
            env.stderr.write("\n")
            continue
        if line.strip():
            yield line


def request_for_line(line: str, base: ChatRequest, where: str) -> ChatRequest:
    """A plain line is the message; a JSON object line is the full request for that turn."""
    if not line.lstrip().startswith("{"):
        return dataclasses.replace(base, message=line)
    from ..protocol.validation import chat_request
    from .inputs import json_object
    from .settings import provider_slug

    obj = json_object(line, where, "JSON request")
    obj.pop("type", None)
    fields = base.fields()
    model = obj.get("model_id")
    if isinstance(model, str) and "provider_slug" not in obj and fields.get("provider_slug") == provider_slug(base.model_id, None):
        # the provider follows the turn's own model (its prefix), unless --provider named one
        fields.pop("provider_slug", None)
        slug = provider_slug(model, None)
        if slug:
            fields["provider_slug"] = slug
    request = chat_request({**fields, **obj}, where)
    if not request.message:
        raise UsageError(f"{where}: the JSON request has no message", hint='{"message": "Hello", ...}')
    return request


def ws_chat(args: ChatArgs, env: Environment, checks: Checks | None = None) -> int:
    """``streamchat ws-chat``: one connection for every turn, one turn or many."""
    from .inputs import stdin_has_data
    from .output import make_renderer
    from .settings import endpoint, output_options, resolve_request, resolve_ws
    from .ws import WSSession

    if args.replay is not None:
        if args.url is not None or args.record is not None or args.message is not None:
            raise UsageError("--replay plays a recording without the network: no MESSAGE, --url or --record")
        return replay(args, env, "ws", checks)
    renderer = make_renderer(env, output_options(args))
    opts, token = resolve_ws(args, env, renderer.note)
    single = args.message is not None
    piped = not single and not args.ignore_stdin and stdin_has_data(env.stdin)
    interactive = not single and not piped and bool(env.stdin_isatty)
    if not (single or piped or interactive):
        raise UsageError("no message: give MESSAGE, pipe one turn a line on stdin, or run on a terminal")
    resolved = resolve_request(args, env, message_required=single, read_stdin=single, command="ws-chat")
    base = resolved.request
    _startup_done()

    def after(request: ChatRequest, reply: Any) -> None:
        _verify(checks, reply)  # every turn must pass

    with (
        endpoint(args.url, WS_CHAT_PATH, renderer.note, ("ws", "wss", "http", "https")) as url,
        recording_to(args.record, "ws", "streamchat", url, token) as recorder,
    ):
        session = WSSession(
            url, opts, renderer, on_turn_done=after, keep=lambda request: keeping(recorder, resolved.keeper(request), last=False)
        )
        session.recorder = recorder
        session.history = list(base.history)
        base = dataclasses.replace(base, history=[])
        try:
            if single:
                session.turn(base)
            elif piped:
                for number, line in enumerate(stdin_turns(env), 1):
                    session.turn(request_for_line(line, base, f"stdin:{number}"), number)
            else:
                run_interactive(session, base, env)
        finally:
            session.close(1000)
    return 0


def run_interactive(session: Any, base: ChatRequest, env: Environment) -> None:
    """Errors end the answer, not the session; Ctrl-C cancels the answer and keeps the session."""
    from ..errors import InterruptedError_, StreamchatError
    from .output import print_error

    number = 0
    for line in interactive_turns(env):
        number += 1
        try:
            session.turn(request_for_line(line, base, f"turn {number}"), number)
        except InterruptedError_:
            env.stderr.write("\n^C answer cancelled\n")
            session.drain()
        except StreamchatError as exc:
            print_error(exc.message, exc.hint, env)


def _startup_done() -> None:
    """The network stack is imported by now: what exists is kept out of the collector's way."""
    from .collector import freeze_startup_objects

    freeze_startup_objects()


__all__ = ["chat", "http_chat", "replay", "request_for_line", "socketio_chat", "ws_chat"]
