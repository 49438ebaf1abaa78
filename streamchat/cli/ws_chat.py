"""``streamchat ws-chat``: replies over one persistent WebSocket, one turn or many (SPEC §7)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from . import app
from . import options as o
from .collector import freeze_startup_objects

if TYPE_CHECKING:
    from ..env import Environment
    from ..protocol.requests import ChatRequest
    from .resolve import ChatArgs

EXAMPLES = """
Examples:

  streamchat ws-chat "Hello"                                   # one turn, built-in demo server
  printf 'Hi\\nAnd then?\\n' | streamchat ws-chat -o ndjson      # one turn a line, one connection
  streamchat ws-chat --url wss://host/api/chat/ws -i photo.jpg "What is in it?"
  streamchat ws-chat                                           # on a terminal: an interactive session
"""

PROMPT = "› "


def stdin_turns(env: Environment) -> Iterator[str]:
    """Each non-empty stdin line, read as it comes (a coprocess can answer turn by turn)."""
    assert env.stdin is not None
    while True:
        raw = env.stdin.readline()
        if not raw:
            return
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.strip():
            yield line


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
    from ..inputs import json_object
    from ..protocol.validation import chat_request

    obj = json_object(line, where, "JSON request")
    obj.pop("type", None)
    return chat_request({**base.fields(), **obj}, where)


def execute(args: ChatArgs, env: Environment, checks: Any = None) -> int:
    """Everything ``ws-chat`` does, callable without Typer."""
    from ..errors import UsageError
    from ..inputs import append_conversation, stdin_has_data
    from ..output import make_renderer
    from ..wschat import WSSession
    from .chat import recording_to
    from .resolve import WS_CHAT_PATH, endpoint, output_options, resolve_request, resolve_ws

    if args.replay is not None:
        from .chat import execute_replay

        if args.url is not None or args.record is not None or args.message is not None:
            raise UsageError("--replay plays a recording without the network: no MESSAGE, --url or --record")
        return execute_replay(args, env, "ws", checks)
    renderer = make_renderer(env, output_options(args))
    opts, token = resolve_ws(args, env, renderer.note)
    single = args.message is not None
    piped = not single and stdin_has_data(env.stdin)
    interactive = not single and not piped and bool(env.stdin_isatty)
    if not (single or piped or interactive):
        raise UsageError("no message: give MESSAGE, pipe one turn a line on stdin, or run on a terminal")
    base, _message = resolve_request(args, env, message_required=single, read_stdin=single)
    freeze_startup_objects()  # the network stack is imported by now

    def save(request: ChatRequest, reply: Any) -> None:
        if checks is not None:
            checks.verify(reply)  # every turn must pass
        if args.conversation:
            user: dict[str, Any] = {"role": "user", "content": request.message}
            if request.images:
                user["images"] = request.images
            append_conversation(args.conversation, [user, {"role": "assistant", "content": reply.content}])

    with (
        endpoint(args.url, WS_CHAT_PATH, renderer.note, ("ws", "wss", "http", "https")) as url,
        recording_to(args.record, "ws", "streamchat", url, token) as recorder,
    ):
        session = WSSession(url, opts, renderer, on_turn_done=save)
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
                run_interactive(session, base, env, renderer)
        finally:
            session.close(1000)
    return 0


def run_interactive(session: Any, base: ChatRequest, env: Environment, renderer: Any) -> None:
    """Errors end the answer, not the session; Ctrl-C cancels the answer and keeps the session."""
    from ..errors import InterruptedError_, StreamchatError
    from ..output import print_error

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


@app.command("ws-chat", epilog=EXAMPLES)
def ws_chat(
    message: Annotated[
        Optional[str], typer.Argument(help="The message (one turn); none: one turn per stdin line, or interactive.", show_default=False)
    ] = None,
    url: o.Url = None,
    profile: o.Profile = None,
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
    max_message_size: o.MaxMessageSize = "50MB",
    ping_interval: o.PingInterval = 30.0,
    connect_timeout: o.ConnectTimeout = 10.0,
    read_timeout: o.ReadTimeout = 60.0,
    retries: o.Retries = 3,
    insecure: o.Insecure = False,
    cacert: o.CACert = None,
    output: o.Output = "text",
    quiet: o.Quiet = False,
    no_reasoning: o.NoReasoning = False,
    timestamps: o.Timestamps = False,
    color: o.Color = "auto",
    expect: o.Expect = None,
    max_ttft: o.MaxTtft = None,
    min_tps: o.MinTps = None,
    fail_on_empty: o.FailOnEmpty = False,
    record: o.Record = None,
    replay: o.Replay = None,
    replay_pace: o.ReplayPace = "original",
) -> int:
    """Stream replies over one WebSocket connection (one turn or many)."""
    from ..checks import Checks
    from ..env import Environment
    from .resolve import ChatArgs

    return execute(ChatArgs.from_locals(locals()), Environment(), Checks(expect, max_ttft, min_tps, fail_on_empty))
