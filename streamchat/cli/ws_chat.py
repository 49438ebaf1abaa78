"""``streamchat ws-chat``: replies over one persistent WebSocket, one turn or many."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from . import app
from . import options as o
from .helpformat import GroupedCommand

EXAMPLES = """
Examples:

\b
  streamchat ws-chat "Hello"                                   # one turn, built-in demo server
  printf 'Hi\\nAnd then?\\n' | streamchat ws-chat -o ndjson      # one turn a line, one connection
  streamchat ws-chat --url wss://host/api/chat/ws -i photo.jpg "What is in it?"
  streamchat ws-chat                                           # on a terminal: an interactive session
"""


@app.command("ws-chat", cls=GroupedCommand, epilog=EXAMPLES)
def ws_chat(
    message: Annotated[
        Optional[str],
        typer.Argument(
            metavar="MESSAGE", help="The message (one turn); none: one turn per stdin line, or interactive.", show_default=False
        ),
    ] = None,
    url: o.Url = None,
    profile: o.Profile = None,
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
    max_message_size: o.MaxMessageSize = "50MB",
    ping_interval: o.PingInterval = 30.0,
    connect_timeout: o.ConnectTimeout = 10.0,
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
    expect: o.Expect = None,
    max_ttft: o.MaxTtft = None,
    min_tps: o.MinTps = None,
    fail_on_empty: o.FailOnEmpty = False,
    record: o.Record = None,
    replay: o.Replay = None,
    replay_pace: o.ReplayPace = "original",
) -> int:
    """Stream replies over one WebSocket connection (one turn or many)."""
    from ..env import Environment
    from ..session import commands
    from ..session.checks import Checks
    from ..session.settings import ChatArgs

    return commands.ws_chat(ChatArgs.from_locals(locals()), Environment(), Checks(expect, max_ttft, min_tps, fail_on_empty))
