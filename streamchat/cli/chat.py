"""``streamchat chat``: one reply over HTTP Server-Sent Events."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional
from urllib.parse import urljoin

import typer

from . import app
from . import options as o
from .collector import freeze_startup_objects

if TYPE_CHECKING:
    from ..env import Environment
    from .resolve import ChatArgs

EXAMPLES = """
Examples:

  streamchat chat "Hello"                                  # built-in demo server
  cat main.py | streamchat chat "explain this"             # stdin + message
  streamchat chat --url http://127.0.0.1:8000/v1/chat/completions -m gpt-4o-mini "Hi"
  streamchat chat -o ndjson "Hi" | jq -r 'select(.type=="content").text'
  streamchat chat -C talk.ndjson "and then?"               # a conversation kept in a file
  streamchat chat --get --url http://127.0.0.1:8000/api/v1/chat/stream \\
      --sync-ws /api/v1/ws/chat/42 --fallback-url http://127.0.0.1:8000/v1/chat/completions "Hi"
"""


@contextmanager
def sync_channel(sync_ws: str | None, chat_url: str, token: str | None, args: ChatArgs, env: Environment, renderer: Any) -> Iterator[Any]:
    """The hybrid control socket when ``--sync-ws`` is given (a path alone joins the chat URL's host)."""
    if sync_ws is None:
        yield None
        return
    from ..hybrid import SyncChannel
    from .resolve import resolve_ws

    if sync_ws.startswith("/"):
        sync_ws = urljoin(chat_url, sync_ws)
    opts, _ = resolve_ws(args, env, renderer.note)
    opts.headers.pop("Authorization", None)  # this channel takes the token in its query (seed)
    with SyncChannel(sync_ws, token, opts) as channel:
        yield channel


def execute_socketio(args: ChatArgs, env: Environment, chat_id: str | None, checks: Any = None) -> int:
    """``--transport socketio``: the reply over Open WebUI's Socket.IO channel (SPEC §11)."""
    from ..client.socketio import OpenWebUITarget, run_socketio_chat
    from ..output import make_renderer
    from .resolve import endpoint, output_options, parse_headers, resolve_http, resolve_request

    renderer = make_renderer(env, output_options(args))
    http, token = resolve_http(args, env, renderer.note)
    http.headers.update(dict(parse_headers(args.header)))
    request, _ = resolve_request(args, env)
    with endpoint(args.url, "", renderer.note) as url:
        reply = run_socketio_chat(OpenWebUITarget(url, token, chat_id), request, http, renderer)
    if checks is not None:
        checks.verify(reply)
    return 0


@contextmanager
def recording_to(path: str | None, transport: str, dialect: str, url: str, token: str | None) -> Iterator[Any]:
    """``--record``: a Recorder for the run (None without the option), closed whatever happens."""
    if path is None:
        yield None
        return
    from ..recording import Recorder

    recorder = Recorder(path, transport, dialect, url, token)
    try:
        yield recorder
    except BaseException:
        recorder.close(quiet=True)  # the run's own failure is the one to report
        raise
    recorder.close()  # a write that failed: status 2, after the reply's output was written


def execute_replay(args: ChatArgs, env: Environment, transport: str, checks: Any = None) -> int:
    """``--replay FILE``: a recorded response through the same decoding and output, no network."""
    from ..chat import replay_chat
    from ..errors import UsageError
    from ..output import make_renderer
    from ..recording import Recording
    from ..wschat import replay_ws
    from .resolve import output_options

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
    if checks is not None:
        for reply in replies:
            checks.verify(reply)
    return 0


def execute(args: ChatArgs, env: Environment, sync_ws: str | None = None, fallback_url: str | None = None, checks: Any = None) -> int:
    """Everything ``chat`` does, callable without Typer."""
    from ..chat import ChatTarget
    from ..dialects import get as dialect_named
    from ..hybrid import chat_with_sync
    from ..inputs import append_conversation
    from ..output import make_renderer
    from .resolve import check_url, endpoint, output_options, parse_headers, resolve_dialect, resolve_http, resolve_request

    renderer = make_renderer(env, output_options(args))
    http, token = resolve_http(args, env, renderer.note)
    if args.url is not None:
        check_url(args.url)
    dialect = resolve_dialect(args, args.url)
    request, message = resolve_request(args, env)
    headers = parse_headers(args.header)
    scheme = args.auth_scheme or dialect_named(dialect).auth_scheme
    fallback = check_url(fallback_url) if fallback_url is not None else None
    freeze_startup_objects()  # the network stack is imported by now
    with (
        endpoint(args.url, dialect_named(dialect).demo_path, renderer.note) as url,
        sync_channel(sync_ws, url, token, args, env, renderer) as channel,
        recording_to(args.record, "sse", dialect, url, token) as recorder,
    ):
        target = ChatTarget(url, dialect, token, scheme, headers, recorder)
        reply = chat_with_sync(target, request, http, renderer, channel, fallback)
    if args.conversation:
        user = {"role": "user", "content": request.message}
        if request.images:
            user["images"] = request.images
        append_conversation(args.conversation, [user, {"role": "assistant", "content": reply.content}])
    if checks is not None:
        checks.verify(reply)
    return 0


@app.command(epilog=EXAMPLES)
def chat(
    message: Annotated[Optional[str], typer.Argument(help="The message; - or none reads stdin.", show_default=False)] = None,
    url: o.Url = None,
    profile: o.Profile = None,
    dialect: o.Dialect = None,
    get: o.Get = False,
    auth_scheme: o.AuthScheme = None,
    token: o.Token = None,
    token_file: o.TokenFile = None,
    header: o.Header = None,
    model: o.Model = "deepseek/deepseek-chat",
    provider: o.Provider = None,
    system: o.System = None,
    system_file: o.SystemFile = None,
    history: o.History = None,
    conversation: o.Conversation = None,
    image: o.Image = None,
    max_image_size: o.MaxImageSize = "20MB",
    max_tokens: o.MaxTokens = None,
    temperature: o.Temperature = None,
    top_p: o.TopP = None,
    frequency_penalty: o.FrequencyPenalty = None,
    presence_penalty: o.PresencePenalty = None,
    max_response_size: o.MaxResponseSize = "10MB",
    connect_timeout: o.ConnectTimeout = 30.0,
    read_timeout: o.ReadTimeout = 60.0,
    retries: o.Retries = 3,
    insecure: o.Insecure = False,
    cacert: o.CACert = None,
    output: o.Output = "text",
    quiet: o.Quiet = False,
    no_reasoning: o.NoReasoning = False,
    timestamps: o.Timestamps = False,
    color: o.Color = "auto",
    sync_ws: Annotated[
        Optional[str],
        typer.Option(
            "--sync-ws",
            help="Also sync over this control WebSocket (hybrid mode): typing, the user and assistant messages.",
            rich_help_panel=o.CONN,
        ),
    ] = None,
    fallback_url: Annotated[
        Optional[str],
        typer.Option(
            "--fallback-url",
            help="If streaming fails before any content, ask this OpenAI-compatible URL once, non-streaming.",
            rich_help_panel=o.CONN,
        ),
    ] = None,
    transport: Annotated[
        Literal["sse", "socketio"],
        typer.Option(
            "--transport", help="sse, or socketio for Open WebUI's channel (--url is then Open WebUI's base URL).", rich_help_panel=o.CONN
        ),
    ] = "sse",
    expect: o.Expect = None,
    max_ttft: o.MaxTtft = None,
    min_tps: o.MinTps = None,
    fail_on_empty: o.FailOnEmpty = False,
    record: o.Record = None,
    replay: o.Replay = None,
    replay_pace: o.ReplayPace = "original",
    chat_id: Annotated[
        Optional[str],
        typer.Option("--chat-id", help="socketio: the chat to post into [default: temporary:<socket id>].", rich_help_panel=o.CONN),
    ] = None,
) -> int:
    """Stream one reply over HTTP Server-Sent Events (or Open WebUI's Socket.IO channel)."""
    from ..checks import Checks
    from ..env import Environment
    from ..errors import UsageError
    from .resolve import ChatArgs

    args = ChatArgs.from_locals(locals())
    checks = Checks(expect, max_ttft, min_tps, fail_on_empty)
    if replay is not None:
        if url is not None or sync_ws is not None or fallback_url is not None or record is not None or transport != "sse":
            raise UsageError("--replay plays a recording without the network: no --url, --sync-ws, --fallback-url, --record or --transport")
        return execute_replay(args, Environment(), "sse", checks)
    if transport == "socketio":
        if sync_ws is not None or fallback_url is not None or record is not None:
            raise UsageError("--sync-ws, --fallback-url and --record go with --transport sse")
        return execute_socketio(args, Environment(), chat_id, checks)
    return execute(args, Environment(), sync_ws, fallback_url, checks)
