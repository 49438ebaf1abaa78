"""Options shared by chat, ws-chat, bench and models, declared once, with their help panels and placeholders.

Every option that takes a value names it with a conventional placeholder (``URL``, ``TEXT``, ``PATH``,
``N``, ``SECONDS``, ``SIZE``, ``MS``; choices as ``a|b|c``): the help pages, the man pages and the
completion scripts all read that one ``metavar``. A placeholder with ``PATH`` or ``DIR`` in it completes
file names. Only typer and the standard library here: ``streamchat --help`` must not import the network stack.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Literal, Optional

import typer

from ..dialects import NAMES as DIALECT_NAMES
from .signature import p

CONN = "Connection"
REQ = "Request"
IN = "Input"
LOAD = "Load"
OUT = "Output"
CHECK = "Checks (a failure exits 8)"
REC = "Record and replay"

OUTPUT_MODES = ("text", "ndjson", "json")
COLOR_MODES = ("auto", "always", "never")
AUTH_SCHEMES = ("bearer", "x-api-key", "none")
REPLAY_PACES = ("original", "instant")
SHELLS = ("bash", "zsh", "fish")  # streamchat completion SHELL


def one_of(choices: tuple[str, ...]) -> str:
    """The placeholder of an option that takes one of ``choices``: ``a|b|c``."""
    return "|".join(choices)


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
        metavar="NAME",
        help="Settings from [profiles.NAME] in $XDG_CONFIG_HOME/streamchat/config.toml (see: streamchat config).",
        rich_help_panel=CONN,
    ),
]
Url = Annotated[
    Optional[str],
    typer.Option(
        "--url", envvar="STREAMCHAT_URL", metavar="URL", help="Endpoint URL; none = the built-in demo server.", rich_help_panel=CONN
    ),
]
Dialect = Annotated[
    Optional[Literal[DIALECT_NAMES]],  # type: ignore[valid-type]
    typer.Option(
        "--dialect",
        envvar="STREAMCHAT_DIALECT",
        metavar=one_of(DIALECT_NAMES),
        help="Request shape; inferred from the URL path.",
        rich_help_panel=CONN,
    ),
]
Get = Annotated[bool, typer.Option("--get", help="Same as --dialect query: GET with ?message=.", rich_help_panel=CONN)]
AuthScheme = Annotated[
    Optional[Literal[AUTH_SCHEMES]],  # type: ignore[valid-type]
    typer.Option(
        "--auth-scheme",
        metavar=one_of(AUTH_SCHEMES),
        help="How the token is sent [default: bearer; x-api-key for anthropic].",
        rich_help_panel=CONN,
    ),
]
Token = Annotated[
    Optional[str],
    typer.Option(
        "--token",
        metavar="TOKEN",
        help="Bearer token (prefer STREAMCHAT_TOKEN or --token-file: argv is visible in ps).",
        rich_help_panel=CONN,
    ),
]
TokenFile = Annotated[
    Optional[str], typer.Option("--token-file", metavar="PATH", help="Read the token from a file; - = stdin.", rich_help_panel=CONN)
]
Header = Annotated[
    Optional[list[str]],
    typer.Option("-H", "--header", metavar="HEADER", help="Extra request header 'Name: value' (repeatable).", rich_help_panel=CONN),
]
Param = Annotated[
    Optional[list[str]],
    typer.Option(
        "-p",
        "--param",
        metavar="KEY=VALUE",
        help="Body field: VALUE is JSON if it parses, else text; KEY=@FILE reads JSON from a file; replaces a built field (repeatable).",
        rich_help_panel=REQ,
    ),
]
Model = Annotated[
    Optional[str],
    typer.Option(
        "-m",
        "--model",
        envvar="STREAMCHAT_MODEL",
        metavar="MODEL",
        help="Model id [default: deepseek/deepseek-chat for streamchat, prompt and query; an OpenAI-style server's first listed model].",
        rich_help_panel=REQ,
    ),
]
Provider = Annotated[
    Optional[str],
    typer.Option(
        "--provider",
        envvar="STREAMCHAT_PROVIDER",
        metavar="SLUG",
        help="provider_slug [default: the model's prefix before '/'].",
        rich_help_panel=REQ,
    ),
]
System = Annotated[Optional[str], typer.Option("-s", "--system", metavar="TEXT", help="System prompt.", rich_help_panel=REQ)]
SystemFile = Annotated[
    Optional[str], typer.Option("--system-file", metavar="PATH", help="Read the system prompt from a file.", rich_help_panel=REQ)
]
History = Annotated[
    Optional[str], typer.Option("--history", metavar="PATH", help="Prior messages: JSON array or NDJSON; - = stdin.", rich_help_panel=IN)
]
Conversation = Annotated[
    Optional[str],
    typer.Option(
        "-C", "--conversation", metavar="PATH", help="Conversation file: read prior turns, append this turn on success.", rich_help_panel=IN
    ),
]
Image = Annotated[
    Optional[list[str]],
    typer.Option(
        "-i",
        "--image",
        metavar="PATH|URL",
        help="Image: a file, - (stdin), an http(s) URL or a data: URI (repeatable).",
        rich_help_panel=IN,
    ),
]
MaxImageSize = Annotated[
    str, typer.Option("--max-image-size", metavar="SIZE", help="Cap on each -i image file (bytes, KB, MB, GB).", rich_help_panel=IN)
]
MaxTokens = Annotated[Optional[int], typer.Option("--max-tokens", min=1, metavar="N", help="max_tokens.", rich_help_panel=REQ)]
Temperature = Annotated[
    Optional[float], typer.Option("--temperature", min=0.0, max=2.0, metavar="NUMBER", help="Sampling temperature.", rich_help_panel=REQ)
]
TopP = Annotated[
    Optional[float], typer.Option("--top-p", min=0.0, max=1.0, metavar="NUMBER", help="Nucleus sampling.", rich_help_panel=REQ)
]
FrequencyPenalty = Annotated[
    Optional[float],
    typer.Option("--frequency-penalty", min=-2.0, max=2.0, metavar="NUMBER", help="frequency_penalty.", rich_help_panel=REQ),
]
PresencePenalty = Annotated[
    Optional[float], typer.Option("--presence-penalty", min=-2.0, max=2.0, metavar="NUMBER", help="presence_penalty.", rich_help_panel=REQ)
]
MaxResponseSize = Annotated[
    str, typer.Option("--max-response-size", metavar="SIZE", help="Cap on the response body (bytes, KB, MB, GB).", rich_help_panel=CONN)
]
MaxMessageSize = Annotated[
    str, typer.Option("--max-message-size", metavar="SIZE", help="Cap on one WebSocket message (bytes, KB, MB, GB).", rich_help_panel=CONN)
]
PingInterval = Annotated[
    float,
    typer.Option(
        "--ping-interval",
        min=0,
        metavar="SECONDS",
        help="Time between keepalive pings; a missed pong ends with status 4; 0 = off.",
        rich_help_panel=CONN,
    ),
]
ConnectTimeout = Annotated[
    float, typer.Option("--connect-timeout", min=0.001, metavar="SECONDS", help="Time to establish the connection.", rich_help_panel=CONN)
]
ReadTimeout = Annotated[
    float, typer.Option("--read-timeout", min=0.001, metavar="SECONDS", help="Longest silence before giving up.", rich_help_panel=CONN)
]
Retries = Annotated[
    int, typer.Option("--retries", min=0, metavar="N", help="Retries before the first response byte.", rich_help_panel=CONN)
]
Insecure = Annotated[bool, typer.Option("--insecure", help="Skip TLS verification.", rich_help_panel=CONN)]
CACert = Annotated[Optional[str], typer.Option("--cacert", metavar="PATH", help="CA bundle for TLS verification.", rich_help_panel=CONN)]
Output = Annotated[
    Literal[OUTPUT_MODES],  # type: ignore[valid-type]
    typer.Option(
        "-o",
        "--output",
        metavar=one_of(OUTPUT_MODES),
        help="text, ndjson (one event a line) or json (one object at the end).",
        rich_help_panel=OUT,
    ),
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
    Literal[COLOR_MODES],  # type: ignore[valid-type]
    typer.Option(
        "--color",
        metavar=one_of(COLOR_MODES),
        help="Colour on stderr: auto honours NO_COLOR, FORCE_COLOR and terminals.",
        rich_help_panel=OUT,
    ),
]

Expect = Annotated[
    Optional[str], typer.Option("--expect", metavar="REGEX", help="The reply must match this regular expression.", rich_help_panel=CHECK)
]
MaxTtft = Annotated[
    Optional[float],
    typer.Option("--max-ttft", min=0, metavar="MS", help="The first token must come within this many milliseconds.", rich_help_panel=CHECK),
]
MinTps = Annotated[
    Optional[float],
    typer.Option("--min-tps", min=0, metavar="N", help="At least N tokens/s (server-reported, else measured).", rich_help_panel=CHECK),
]
FailOnEmpty = Annotated[bool, typer.Option("--fail-on-empty", help="An empty reply fails.", rich_help_panel=CHECK)]

Record = Annotated[
    Optional[str],
    typer.Option(
        "--record",
        metavar="PATH",
        help="Keep the response as received (body bytes or frames, with arrival times) in a file.",
        rich_help_panel=REC,
    ),
]
Replay = Annotated[
    Optional[str],
    typer.Option(
        "--replay", metavar="PATH", help="Play a --record file through the same decoder, no network; - = stdin.", rich_help_panel=REC
    ),
]
ReplayPace = Annotated[
    Literal[REPLAY_PACES],  # type: ignore[valid-type]
    typer.Option(
        "--replay-pace", metavar=one_of(REPLAY_PACES), help="original (the recorded arrival times) or instant.", rich_help_panel=REC
    ),
]


# -- the option lists commands share (cli/signature.py gives them to a command's signature) ---------

WHERE = (p("url", Url), p("profile", Profile))
DIALECT = (p("dialect", Dialect), p("get", Get, False), p("auth_scheme", AuthScheme))
CREDENTIALS = (p("token", Token), p("token_file", TokenFile), p("header", Header))
MODEL = (p("param", Param), p("model", Model), p("provider", Provider))
PROMPT = (
    p("system", System),
    p("system_file", SystemFile),
    p("history", History),
    p("conversation", Conversation),
    p("image", Image),
    p("max_image_size", MaxImageSize, "20MB"),
)
SAMPLING = (
    p("max_tokens", MaxTokens),
    p("temperature", Temperature),
    p("top_p", TopP),
    p("frequency_penalty", FrequencyPenalty),
    p("presence_penalty", PresencePenalty),
)
TLS = (p("insecure", Insecure, False), p("cacert", CACert))
OUTPUT = (
    p("output", Output, "text"),
    p("quiet", Quiet, False),
    p("ignore_stdin", IgnoreStdin, False),
    p("no_reasoning", NoReasoning, False),
    p("timestamps", Timestamps, False),
    p("color", Color, "auto"),
)
CHECKS = (p("expect", Expect), p("max_ttft", MaxTtft), p("min_tps", MinTps), p("fail_on_empty", FailOnEmpty, False))
RECORDING = (p("record", Record), p("replay", Replay), p("replay_pace", ReplayPace, "original"))


def timeouts(connect: float) -> tuple[inspect.Parameter, ...]:
    """--connect-timeout (its default differs: HTTP 30 s, WebSocket 10 s), --read-timeout, --retries."""
    return (p("connect_timeout", ConnectTimeout, connect), p("read_timeout", ReadTimeout, 60.0), p("retries", Retries, 3))
