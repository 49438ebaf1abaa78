"""Options shared by chat, ws-chat, bench and models, declared once, with their help panels and placeholders.

Each is one ``option(...)`` (or ``flag(...)``) call: names, placeholder, help, panel. The groups at the end
(``WHERE``, ``CREDENTIALS``, ``SAMPLING``...) are what a command's ``@takes(...)`` lists.

Every option that takes a value names it with a conventional placeholder (``URL``, ``TEXT``, ``PATH``,
``N``, ``SECONDS``, ``SIZE``, ``MS``; choices as ``a|b|c``): the help pages, the man pages and the
completion scripts all read that one ``metavar``. A placeholder with ``PATH`` or ``DIR`` in it completes
file names. Only typer and the standard library here: ``streamchat --help`` must not import the network stack.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any, Literal, Optional

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


def option(names: str, metavar: str, help: str, panel: str, **settings: Any) -> Any:
    """An option that takes a value, in one line: its names as the help shows them (``"-o --output"``),
    its placeholder, its help and its help panel; ``settings`` are click's own (``min``, ``envvar``...)."""
    return typer.Option(*names.split(), metavar=metavar, help=help, rich_help_panel=panel, **settings)


def flag(names: str, help: str, panel: str, **settings: Any) -> Any:
    """An on/off option (no placeholder), in one line, as ``option`` gives one that takes a value."""
    return typer.Option(*names.split(), help=help, rich_help_panel=panel, **settings)


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
    option(
        "--profile",
        "NAME",
        "Settings from [profiles.NAME] in $XDG_CONFIG_HOME/streamchat/config.toml (see: streamchat config).",
        CONN,
        envvar="STREAMCHAT_PROFILE",
        is_eager=True,
        callback=_apply_profile,
    ),
]
Url = Annotated[Optional[str], option("--url", "URL", "Endpoint URL; none = the built-in demo server.", CONN, envvar="STREAMCHAT_URL")]
Dialect = Annotated[
    Optional[Literal[DIALECT_NAMES]],  # type: ignore[valid-type]
    option("--dialect", one_of(DIALECT_NAMES), "Request shape; inferred from the URL path.", CONN, envvar="STREAMCHAT_DIALECT"),
]
Get = Annotated[bool, flag("--get", "Same as --dialect query: GET with ?message=.", CONN)]
AuthScheme = Annotated[
    Optional[Literal[AUTH_SCHEMES]],  # type: ignore[valid-type]
    option("--auth-scheme", one_of(AUTH_SCHEMES), "How the token is sent [default: bearer; x-api-key for anthropic].", CONN),
]
Token = Annotated[
    Optional[str], option("--token", "TOKEN", "Bearer token (prefer STREAMCHAT_TOKEN or --token-file: argv is visible in ps).", CONN)
]
TokenFile = Annotated[Optional[str], option("--token-file", "PATH", "Read the token from a file; - = stdin.", CONN)]
Header = Annotated[Optional[list[str]], option("-H --header", "HEADER", "Extra request header 'Name: value' (repeatable).", CONN)]
Param = Annotated[
    Optional[list[str]],
    option(
        "-p --param",
        "KEY=VALUE",
        "Body field: VALUE is JSON if it parses, else text; KEY=@FILE reads JSON from a file; replaces a built field (repeatable).",
        REQ,
    ),
]
Model = Annotated[
    Optional[str],
    option(
        "-m --model",
        "MODEL",
        "Model id [default: deepseek/deepseek-chat for streamchat, prompt and query; an OpenAI-style server's first listed model].",
        REQ,
        envvar="STREAMCHAT_MODEL",
    ),
]
Provider = Annotated[
    Optional[str],
    option("--provider", "SLUG", "provider_slug [default: the model's prefix before '/'].", REQ, envvar="STREAMCHAT_PROVIDER"),
]
System = Annotated[Optional[str], option("-s --system", "TEXT", "System prompt.", REQ)]
SystemFile = Annotated[Optional[str], option("--system-file", "PATH", "Read the system prompt from a file.", REQ)]
History = Annotated[Optional[str], option("--history", "PATH", "Prior messages: JSON array or NDJSON; - = stdin.", IN)]
Conversation = Annotated[
    Optional[str], option("-C --conversation", "PATH", "Conversation file: read prior turns, append this turn on success.", IN)
]
Image = Annotated[
    Optional[list[str]], option("-i --image", "PATH|URL", "Image: a file, - (stdin), an http(s) URL or a data: URI (repeatable).", IN)
]
MaxImageSize = Annotated[str, option("--max-image-size", "SIZE", "Cap on each -i image file (bytes, KB, MB, GB).", IN)]
MaxTokens = Annotated[Optional[int], option("--max-tokens", "N", "max_tokens.", REQ, min=1)]
Temperature = Annotated[Optional[float], option("--temperature", "NUMBER", "Sampling temperature.", REQ, min=0.0, max=2.0)]
TopP = Annotated[Optional[float], option("--top-p", "NUMBER", "Nucleus sampling.", REQ, min=0.0, max=1.0)]
FrequencyPenalty = Annotated[Optional[float], option("--frequency-penalty", "NUMBER", "frequency_penalty.", REQ, min=-2.0, max=2.0)]
PresencePenalty = Annotated[Optional[float], option("--presence-penalty", "NUMBER", "presence_penalty.", REQ, min=-2.0, max=2.0)]
MaxResponseSize = Annotated[str, option("--max-response-size", "SIZE", "Cap on the response body (bytes, KB, MB, GB).", CONN)]
MaxMessageSize = Annotated[str, option("--max-message-size", "SIZE", "Cap on one WebSocket message (bytes, KB, MB, GB).", CONN)]
PingInterval = Annotated[
    float, option("--ping-interval", "SECONDS", "Time between keepalive pings; a missed pong ends with status 4; 0 = off.", CONN, min=0)
]
ConnectTimeout = Annotated[float, option("--connect-timeout", "SECONDS", "Time to establish the connection.", CONN, min=0.001)]
ReadTimeout = Annotated[float, option("--read-timeout", "SECONDS", "Longest silence before giving up.", CONN, min=0.001)]
Retries = Annotated[int, option("--retries", "N", "Retries before the first response byte.", CONN, min=0)]
Insecure = Annotated[bool, flag("--insecure", "Skip TLS verification.", CONN)]
CACert = Annotated[Optional[str], option("--cacert", "PATH", "CA bundle for TLS verification.", CONN)]
Output = Annotated[
    Literal[OUTPUT_MODES],  # type: ignore[valid-type]
    option("-o --output", one_of(OUTPUT_MODES), "text, ndjson (one event a line) or json (one object at the end).", OUT),
]
IgnoreStdin = Annotated[
    bool,
    flag(
        "--ignore-stdin",
        "Never read standard input (for `while read` loops, whose stdin is the list being read).",
        IN,
        envvar="STREAMCHAT_IGNORE_STDIN",
    ),
]
Quiet = Annotated[bool, flag("-q --quiet", "No report line or notices on stderr.", OUT)]
NoReasoning = Annotated[bool, flag("--no-reasoning", "Do not show reasoning.", OUT)]
Timestamps = Annotated[bool, flag("-t --timestamps", 'Add "t" (seconds since the request) to NDJSON lines.', OUT)]
Color = Annotated[
    Literal[COLOR_MODES],  # type: ignore[valid-type]
    option("--color", one_of(COLOR_MODES), "Colour on stderr: auto honours NO_COLOR, FORCE_COLOR and terminals.", OUT),
]

Expect = Annotated[Optional[str], option("--expect", "REGEX", "The reply must match this regular expression.", CHECK)]
MaxTtft = Annotated[Optional[float], option("--max-ttft", "MS", "The first token must come within this many milliseconds.", CHECK, min=0)]
MinTps = Annotated[Optional[float], option("--min-tps", "N", "At least N tokens/s (server-reported, else measured).", CHECK, min=0)]
FailOnEmpty = Annotated[bool, flag("--fail-on-empty", "An empty reply fails.", CHECK)]

Record = Annotated[
    Optional[str], option("--record", "PATH", "Keep the response as received (body bytes or frames, with arrival times) in a file.", REC)
]
Replay = Annotated[Optional[str], option("--replay", "PATH", "Play a --record file through the same decoder, no network; - = stdin.", REC)]
ReplayPace = Annotated[
    Literal[REPLAY_PACES],  # type: ignore[valid-type]
    option("--replay-pace", one_of(REPLAY_PACES), "original (the recorded arrival times) or instant.", REC),
]


# -- the option lists commands share (cli/signature.py gives them to a command's signature) ---------

WHERE = (p("url", Url), p("profile", Profile))
DIALECT = (p("dialect", Dialect), p("get", Get, False), p("auth_scheme", AuthScheme))
CREDENTIALS = (p("token", Token), p("token_file", TokenFile), p("header", Header))
MODEL = (p("param", Param), p("model", Model), p("provider", Provider))
SYSTEM_PROMPT = (p("system", System), p("system_file", SystemFile))
IMAGES = (p("image", Image), p("max_image_size", MaxImageSize, "20MB"))
PROMPT = (*SYSTEM_PROMPT, p("history", History), p("conversation", Conversation), *IMAGES)
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


def timeouts(connect: float, retries: int = 3) -> tuple[inspect.Parameter, ...]:
    """--connect-timeout (its default differs: HTTP 30 s, WebSocket 10 s), --read-timeout, --retries
    (bench's default is 0: there a failed request is a measurement)."""
    return (p("connect_timeout", ConnectTimeout, connect), p("read_timeout", ReadTimeout, 60.0), p("retries", Retries, retries))
