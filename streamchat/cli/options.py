"""Options shared by chat, ws-chat and bench (SPEC §2, §3), declared once.

Only typer and the standard library here: ``streamchat --help`` must not import the network stack.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

import typer

from ..dialects import NAMES as DIALECT_NAMES

REQ = "Request"
CONN = "Connection"
OUT = "Output"
IN = "Input"

# Settings a config profile may give, by parameter name (headers and token_command are merged in
# resolve.ChatArgs.from_locals: -H adds to the profile's headers instead of replacing them).
PROFILE_OPTIONS = ("url", "dialect", "model", "provider", "connect_timeout", "read_timeout", "ignore_stdin")


def _apply_profile(ctx: typer.Context, value: Optional[str]) -> Optional[str]:
    """Eager, so it runs before the other options take their values: the config file's settings become
    the defaults of this command (click: command line, then environment, then this, then built-in)."""
    if ctx.resilient_parsing:
        return value
    from ..session.profiles import settings

    found = settings(value)
    names = {param.name for param in ctx.command.params}
    defaults = dict(ctx.default_map or {})
    defaults.update({k: v for k, v in found.values.items() if k in PROFILE_OPTIONS and k in names})
    ctx.default_map = defaults
    return value


Profile = Annotated[
    Optional[str],
    typer.Option(
        "--profile",
        envvar="STREAMCHAT_PROFILE",
        is_eager=True,
        callback=_apply_profile,
        help="Settings from [profiles.NAME] in $XDG_CONFIG_HOME/streamchat/config.toml (see: streamchat config).",
        rich_help_panel=CONN,
    ),
]
Url = Annotated[
    Optional[str],
    typer.Option("--url", envvar="STREAMCHAT_URL", help="Endpoint URL; none = the built-in demo server.", rich_help_panel=CONN),
]
Dialect = Annotated[
    Optional[Literal[DIALECT_NAMES]],  # type: ignore[valid-type]
    typer.Option("--dialect", envvar="STREAMCHAT_DIALECT", help="Request shape; inferred from the URL path.", rich_help_panel=CONN),
]
Get = Annotated[bool, typer.Option("--get", help="Same as --dialect query: GET with ?message=.", rich_help_panel=CONN)]
AuthScheme = Annotated[
    Optional[Literal["bearer", "x-api-key", "none"]],
    typer.Option("--auth-scheme", help="How the token is sent [default: bearer; x-api-key for anthropic].", rich_help_panel=CONN),
]
Token = Annotated[
    Optional[str],
    typer.Option("--token", help="Bearer token (prefer STREAMCHAT_TOKEN or --token-file: argv is visible in ps).", rich_help_panel=CONN),
]
TokenFile = Annotated[Optional[str], typer.Option("--token-file", help="Read the token from a file; - = stdin.", rich_help_panel=CONN)]
Header = Annotated[
    Optional[list[str]], typer.Option("-H", "--header", help="Extra request header 'Name: value' (repeatable).", rich_help_panel=CONN)
]
Param = Annotated[
    Optional[list[str]],
    typer.Option(
        "-p",
        "--param",
        help="Body field KEY=VALUE (JSON if it parses, else text) or KEY=@FILE (JSON); replaces a built field (repeatable).",
        rich_help_panel=REQ,
    ),
]
Model = Annotated[
    Optional[str],
    typer.Option(
        "-m",
        "--model",
        envvar="STREAMCHAT_MODEL",
        help="Model id [default: deepseek/deepseek-chat for the seed dialects; an OpenAI-style server's first listed model].",
        rich_help_panel=REQ,
    ),
]
Provider = Annotated[
    Optional[str],
    typer.Option(
        "--provider", envvar="STREAMCHAT_PROVIDER", help="provider_slug [default: the model's prefix before '/'].", rich_help_panel=REQ
    ),
]
System = Annotated[Optional[str], typer.Option("-s", "--system", help="System prompt.", rich_help_panel=REQ)]
SystemFile = Annotated[Optional[str], typer.Option("--system-file", help="Read the system prompt from a file.", rich_help_panel=REQ)]
History = Annotated[Optional[str], typer.Option("--history", help="Prior messages: JSON array or NDJSON; - = stdin.", rich_help_panel=IN)]
Conversation = Annotated[
    Optional[str],
    typer.Option("-C", "--conversation", help="Conversation file: read prior turns, append this turn on success.", rich_help_panel=IN),
]
Image = Annotated[
    Optional[list[str]],
    typer.Option("-i", "--image", help="Image: file, - (stdin), http(s) URL or data: URI (repeatable).", rich_help_panel=IN),
]
MaxImageSize = Annotated[str, typer.Option("--max-image-size", help="Cap on each -i image file (bytes, KB, MB, GB).", rich_help_panel=IN)]
MaxTokens = Annotated[Optional[int], typer.Option("--max-tokens", min=1, help="max_tokens.", rich_help_panel=REQ)]
Temperature = Annotated[Optional[float], typer.Option("--temperature", min=0.0, max=2.0, help="0.0–2.0.", rich_help_panel=REQ)]
TopP = Annotated[Optional[float], typer.Option("--top-p", min=0.0, max=1.0, help="0.0–1.0.", rich_help_panel=REQ)]
FrequencyPenalty = Annotated[Optional[float], typer.Option("--frequency-penalty", min=-2.0, max=2.0, help="−2.0–2.0.", rich_help_panel=REQ)]
PresencePenalty = Annotated[Optional[float], typer.Option("--presence-penalty", min=-2.0, max=2.0, help="−2.0–2.0.", rich_help_panel=REQ)]
MaxResponseSize = Annotated[
    str, typer.Option("--max-response-size", help="Cap on the response body (bytes, KB, MB, GB).", rich_help_panel=CONN)
]
MaxMessageSize = Annotated[
    str, typer.Option("--max-message-size", help="Cap on one WebSocket message (bytes, KB, MB, GB).", rich_help_panel=CONN)
]
PingInterval = Annotated[
    float,
    typer.Option(
        "--ping-interval", min=0, help="Seconds between keepalive pings; a missed pong ends with status 4; 0 = off.", rich_help_panel=CONN
    ),
]
ConnectTimeout = Annotated[
    float, typer.Option("--connect-timeout", min=0.001, help="Seconds to establish the connection.", rich_help_panel=CONN)
]
ReadTimeout = Annotated[
    float, typer.Option("--read-timeout", min=0.001, help="Longest silence (seconds) before giving up.", rich_help_panel=CONN)
]
Retries = Annotated[int, typer.Option("--retries", min=0, help="Retries before the first response byte.", rich_help_panel=CONN)]
Insecure = Annotated[bool, typer.Option("--insecure", help="Skip TLS verification.", rich_help_panel=CONN)]
CACert = Annotated[Optional[str], typer.Option("--cacert", help="CA bundle for TLS verification.", rich_help_panel=CONN)]
Output = Annotated[
    Literal["text", "ndjson", "json"],
    typer.Option("-o", "--output", help="text, ndjson (one event a line) or json (one object at the end).", rich_help_panel=OUT),
]
IgnoreStdin = Annotated[
    bool,
    typer.Option(
        "--ignore-stdin",
        envvar="STREAMCHAT_IGNORE_STDIN",
        help="Never read standard input (for `while read` loops, whose stdin is the list being read).",
        rich_help_panel=IN,
    ),
]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="No report line or notices on stderr.", rich_help_panel=OUT)]
NoReasoning = Annotated[bool, typer.Option("--no-reasoning", help="Do not show reasoning.", rich_help_panel=OUT)]
Timestamps = Annotated[
    bool, typer.Option("-t", "--timestamps", help='Add "t" (seconds since the request) to NDJSON lines.', rich_help_panel=OUT)
]
Color = Annotated[
    Literal["auto", "always", "never"],
    typer.Option("--color", help="Colour on stderr: auto honours NO_COLOR, FORCE_COLOR and terminals.", rich_help_panel=OUT),
]

CHECK = "Checks (CI smoke tests; a failure exits 8)"
Expect = Annotated[Optional[str], typer.Option("--expect", help="The reply must match this regular expression.", rich_help_panel=CHECK)]
MaxTtft = Annotated[
    Optional[float], typer.Option("--max-ttft", min=0, help="The first token must come within MS milliseconds.", rich_help_panel=CHECK)
]
MinTps = Annotated[
    Optional[float], typer.Option("--min-tps", min=0, help="At least N tokens/s (server-reported, else measured).", rich_help_panel=CHECK)
]
FailOnEmpty = Annotated[bool, typer.Option("--fail-on-empty", help="An empty reply fails.", rich_help_panel=CHECK)]

REC = "Record and replay"
Record = Annotated[
    Optional[str],
    typer.Option("--record", help="Keep the response as received (body bytes or frames, with arrival times) in FILE.", rich_help_panel=REC),
]
Replay = Annotated[
    Optional[str],
    typer.Option("--replay", help="Play a --record FILE through the same decoder, no network; - = stdin.", rich_help_panel=REC),
]
ReplayPace = Annotated[
    Literal["original", "instant"],
    typer.Option("--replay-pace", help="original (the recorded arrival times) or instant.", rich_help_panel=REC),
]
