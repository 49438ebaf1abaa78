"""``streamchat ws-chat``: replies over one persistent WebSocket, one turn or many."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from . import app
from . import options as o
from .helpformat import GroupedCommand
from .signature import p, takes

EXAMPLES = """
Examples:

\b
  streamchat ws-chat "Hello"                                   # one turn, built-in demo server
  printf 'Hi\\nAnd then?\\n' | streamchat ws-chat -o ndjson      # one turn a line, one connection
  streamchat ws-chat --url wss://host/api/chat/ws -i photo.jpg "What is in it?"
  streamchat ws-chat                                           # on a terminal: an interactive session
"""


MESSAGE = p(
    "message",
    Annotated[
        Optional[str],
        typer.Argument(
            metavar="MESSAGE", help="The message (one turn); none: one turn per stdin line, or interactive.", show_default=False
        ),
    ],
)


@app.command("ws-chat", cls=GroupedCommand, epilog=EXAMPLES)
@takes(
    MESSAGE,
    *o.WHERE,
    *o.CREDENTIALS,
    *o.MODEL,
    *o.PROMPT,
    *o.SAMPLING,
    p("max_message_size", o.MaxMessageSize, "50MB"),
    p("ping_interval", o.PingInterval, 30.0),
    *o.timeouts(connect=10.0),
    *o.TLS,
    *o.OUTPUT,
    *o.CHECKS,
    *o.RECORDING,
)
def ws_chat(**options: Any) -> int:
    """Stream replies over one WebSocket connection (one turn or many)."""
    from ..env import Environment
    from ..session import commands
    from ..session.checks import Checks
    from ..session.settings import ChatArgs

    checks = Checks(options["expect"], options["max_ttft"], options["min_tps"], options["fail_on_empty"])
    return commands.ws_chat(ChatArgs.from_locals(options), Environment(), checks)
