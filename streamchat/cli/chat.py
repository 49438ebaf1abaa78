"""``streamchat chat``: one reply over HTTP Server-Sent Events."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

import typer

from . import app
from . import options as o
from .helpformat import GroupedCommand

# "\b" before a paragraph keeps its lines as written (click's no-rewrap marker).
EXAMPLES = """
Examples:

\b
  streamchat chat "Hello"                                  # built-in demo server
  cat main.py | streamchat chat "explain this"             # stdin + message
  streamchat chat --url http://127.0.0.1:8000/v1 -m gpt-4o-mini "Hi"      # a base URL: /v1/chat/completions
  while read -r q; do streamchat chat --ignore-stdin -q "$q"; done < questions.txt
  streamchat chat -o json "Hi" > out.json || jq -r .error.code out.json   # a failure, as data
  streamchat chat -o ndjson "Hi" | jq -r 'select(.type=="content").text'
  streamchat chat -C talk.ndjson "and then?"               # a conversation kept in a file
  streamchat chat --get --url http://127.0.0.1:8000/api/v1/chat/stream \\
      --sync-ws /api/v1/ws/chat/42 --fallback-url http://127.0.0.1:8000/v1/chat/completions "Hi"
"""


@app.command(cls=GroupedCommand, epilog=EXAMPLES)
def chat(
    message: Annotated[
        Optional[str], typer.Argument(metavar="MESSAGE", help="The message; - or none reads stdin.", show_default=False)
    ] = None,
    url: o.Url = None,
    profile: o.Profile = None,
    dialect: o.Dialect = None,
    get: o.Get = False,
    auth_scheme: o.AuthScheme = None,
    token: o.Token = None,
    token_file: o.TokenFile = None,
    header: o.Header = None,
    param: o.Param = None,
    model: o.Model = None,
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
    ignore_stdin: o.IgnoreStdin = False,
    no_reasoning: o.NoReasoning = False,
    timestamps: o.Timestamps = False,
    color: o.Color = "auto",
    sync_ws: Annotated[
        Optional[str],
        typer.Option(
            "--sync-ws",
            metavar="URL",
            help="Also sync over this control WebSocket (hybrid mode): typing, the user and assistant messages.",
            rich_help_panel=o.CONN,
        ),
    ] = None,
    fallback_url: Annotated[
        Optional[str],
        typer.Option(
            "--fallback-url",
            metavar="URL",
            help="If streaming fails before any content, ask this OpenAI-compatible URL once, non-streaming.",
            rich_help_panel=o.CONN,
        ),
    ] = None,
    transport: Annotated[
        Literal["sse", "socketio"],
        typer.Option(
            "--transport",
            metavar="sse|socketio",
            help="sse, or socketio for Open WebUI's channel (--url is then Open WebUI's base URL).",
            rich_help_panel=o.CONN,
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
        typer.Option(
            "--chat-id", metavar="ID", help="socketio: the chat to post into [default: temporary:SOCKET_ID].", rich_help_panel=o.CONN
        ),
    ] = None,
) -> int:
    """Stream one reply over HTTP Server-Sent Events (or Open WebUI's Socket.IO channel)."""
    from ..env import Environment
    from ..session import commands
    from ..session.checks import Checks
    from ..session.settings import ChatArgs

    checks = Checks(expect, max_ttft, min_tps, fail_on_empty)
    args = ChatArgs.from_locals(locals())
    return commands.chat(
        args, Environment(), sync_ws=sync_ws, fallback_url=fallback_url, transport=transport, chat_id=chat_id, checks=checks
    )
