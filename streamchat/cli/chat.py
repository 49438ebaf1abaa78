"""``streamchat chat``: one reply over HTTP Server-Sent Events."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

import typer

from . import app
from . import options as o
from .helpformat import GroupedCommand
from .signature import p, takes

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


MESSAGE = p(
    "message", Annotated[Optional[str], typer.Argument(metavar="MESSAGE", help="The message; - or none reads stdin.", show_default=False)]
)
SYNC_WS = Annotated[
    Optional[str],
    o.option("--sync-ws", "URL", "Also sync over this control WebSocket (hybrid mode): typing, the user and assistant messages.", o.CONN),
]
FALLBACK_URL = Annotated[
    Optional[str],
    o.option("--fallback-url", "URL", "If streaming fails before any content, ask this OpenAI-compatible URL once, non-streaming.", o.CONN),
]
TRANSPORT = Annotated[
    Literal["sse", "socketio"],
    o.option("--transport", "sse|socketio", "sse, or socketio for Open WebUI's channel (--url is then Open WebUI's base URL).", o.CONN),
]
CHAT_ID = Annotated[Optional[str], o.option("--chat-id", "ID", "socketio: the chat to post into [default: temporary:SOCKET_ID].", o.CONN)]


@app.command(cls=GroupedCommand, epilog=EXAMPLES)
@takes(
    MESSAGE,
    *o.WHERE,
    *o.DIALECT,
    *o.CREDENTIALS,
    *o.MODEL,
    *o.PROMPT,
    *o.SAMPLING,
    p("max_response_size", o.MaxResponseSize, "10MB"),
    *o.timeouts(connect=30.0),
    *o.TLS,
    *o.OUTPUT,
    p("sync_ws", SYNC_WS),
    p("fallback_url", FALLBACK_URL),
    p("transport", TRANSPORT, "sse"),
    *o.CHECKS,
    *o.RECORDING,
    p("chat_id", CHAT_ID),
)
def chat(**options: Any) -> int:
    """Stream one reply over HTTP Server-Sent Events (or Open WebUI's Socket.IO channel)."""
    from ..env import Environment
    from ..session import commands
    from ..session.checks import Checks
    from ..session.settings import ChatArgs

    checks = Checks(options["expect"], options["max_ttft"], options["min_tps"], options["fail_on_empty"])
    hybrid = {name: options[name] for name in ("sync_ws", "fallback_url", "transport", "chat_id")}
    return commands.chat(ChatArgs.from_locals(options), Environment(), checks=checks, **hybrid)
