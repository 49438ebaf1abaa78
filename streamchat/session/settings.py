"""From option values to what a chat turn needs: target, request, connection and output settings.

Shared by every command that sends chat requests; all user-input checks live here (exit 2).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from .. import secrets
from ..dialects import DEFAULT_MODEL
from ..env import Environment
from ..errors import NoModelError, UsageError
from ..protocol.strict_json import clean
from . import credentials
from .conversation import Conversation
from .credentials import check_url, parse_headers
from .inputs import (
    build_message,
    check_finite,
    decode_text,
    load_history,
    load_image,
    parse_size,
    read_file_bytes,
    stdin_has_data,
    strip_newlines,
)
from .output import OutputOptions
from .params import parse_params

if TYPE_CHECKING:
    from ..protocol.requests import ChatRequest

DEMO_NOTICE = "streamchat: no --url given; using the built-in demo server at {url}"
WS_CHAT_PATH = "/api/chat/ws"


@contextmanager
def endpoint(url: str | None, demo_path: str, notice: Callable[[str], None], schemes: tuple[str, ...] = ("http", "https")) -> Iterator[str]:
    """The URL to talk to: the user's, or the built-in demo server started in-process."""
    if url is not None:
        yield check_url(url, schemes)
        return
    from ..server.embedded import start_in_thread

    with start_in_thread() as server:
        notice(DEMO_NOTICE.format(url=server.url))
        yield server.url + demo_path


@dataclass
class ChatArgs:
    """The raw values of the shared options as the CLI received them."""

    message: Optional[str] = None
    url: Optional[str] = None
    dialect: Optional[str] = None
    get: bool = False
    auth_scheme: Optional[str] = None
    token: Optional[str] = None
    token_file: Optional[str] = None
    header: list[str] = field(default_factory=list)
    model: Optional[str] = None  # None: not configured anywhere (the dialect's default, or ask the server)
    provider: Optional[str] = None
    system: Optional[str] = None
    system_file: Optional[str] = None
    history: Optional[str] = None
    conversation: Optional[str] = None
    image: list[str] = field(default_factory=list)
    max_image_size: str = "20MB"
    max_tokens: Optional[int] = None
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    frequency_penalty: Optional[float] = None
    presence_penalty: Optional[float] = None
    max_response_size: str = "10MB"
    max_message_size: str = "50MB"
    ping_interval: float = 30.0
    connect_timeout: float = 30.0
    read_timeout: float = 60.0
    retries: int = 3
    insecure: bool = False
    cacert: Optional[str] = None
    output: str = "text"
    quiet: bool = False
    no_reasoning: bool = False
    timestamps: bool = False
    color: str = "auto"
    profile: Optional[str] = None
    ignore_stdin: bool = False  # never read standard input (a `while read` loop's stdin is its questions)
    param: list[str] = field(default_factory=list)  # -p KEY=VALUE: extra top-level body fields
    record: Optional[str] = None
    replay: Optional[str] = None
    replay_pace: str = "original"
    token_command: Optional[str] = None  # from the config file: run only when no other token is given
    token_command_source: str = ""
    profile_params: dict[str, Any] = field(default_factory=dict)  # the config file's params (under -p's)

    def __post_init__(self) -> None:
        check_finite(self)

    @classmethod
    def from_locals(cls, values: dict[str, Any]) -> ChatArgs:
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        for key in ("header", "image", "param"):
            known[key] = list(known.get(key) or [])
        args = cls(**known)
        args.apply_config()
        return args

    def apply_config(self) -> None:
        """The config file's headers (under the -H ones, which win) and token_command."""
        from .credentials import profile_connection

        found = profile_connection(self.profile)
        self.header = found.headers + self.header
        self.token_command = found.token_command
        self.token_command_source = found.token_command_source
        self.profile_params = found.params


def output_options(args: ChatArgs) -> OutputOptions:
    return OutputOptions(args.output, args.quiet, args.no_reasoning, args.timestamps, args.color)


def provider_slug(model: str, provider: str | None) -> str | None:
    """``--provider``, else the model id's prefix before ``/`` (none when it has no ``/``)."""
    if provider is not None:
        return provider or None
    prefix, sep, _ = model.partition("/")
    return prefix if sep and prefix else None


def stdin_consumers(args: ChatArgs) -> list[str]:
    users = []
    if args.message == "-":
        users.append("MESSAGE -")
    if args.history == "-":
        users.append("--history -")
    users.extend("--image -" for src in args.image if src == "-")
    if args.token_file == "-":
        users.append("--token-file -")
    if args.system_file == "-":
        users.append("--system-file -")
    return users


def resolve_token(args: ChatArgs, env: Environment, notice: Any) -> str | None:
    return credentials.resolve_token(
        env,
        notice,
        token=args.token,
        token_file=args.token_file,
        token_command=args.token_command,
        token_command_source=args.token_command_source,
    )


def resolve_target(args: ChatArgs, notice: Callable[[str], None]) -> tuple[str | None, str]:
    """The URL to send to (None: the demo server) and the dialect. A base URL (a bare host, or a path
    ending in ``/v1``) becomes the dialect's endpoint, and stderr says so: ``docs/protocols.md#base-urls``."""
    from ..dialects import complete_base_url

    if args.url is None:
        return None, resolve_dialect(args, None)
    check_url(args.url)
    explicit = "query" if args.get else args.dialect
    full = complete_base_url(args.url, explicit)
    if full is not None:
        notice(f"streamchat: {args.url} is a base URL; sending to {full}")
    url = full or args.url
    return url, resolve_dialect(args, url)


def choose_model(args: ChatArgs, url: str, dialect: str, http: Any, notice: Callable[[str], None]) -> str:
    """The model to ask for: the one configured (flag, env, profile, [defaults]); else the dialect's
    default (streamchat, prompt and query have one); else the first the server lists (``docs/protocols.md#model-discovery``:
    a model name one server knows another rejects)."""
    from ..client.models import list_models
    from ..dialects import get as dialect_named

    if args.model:
        return args.model
    default = dialect_named(dialect).default_model
    if default is not None:
        return default
    try:
        _, ids = list_models(url, dialect, http)
    except NoModelError as exc:
        raise NoModelError("no model given and the server lists none: give -m MODEL", hint=exc.message) from None
    notice(f"streamchat: no model given; using {ids[0]}, the first the server lists")
    return ids[0]


def provider_key(url: str, environ: Any) -> str | None:
    """``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY``, but only for their own hosts: never sent anywhere else."""
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    name = {"api.openai.com": "OPENAI_API_KEY", "api.anthropic.com": "ANTHROPIC_API_KEY"}.get(host)
    return (environ.get(name) or None) if name else None


def resolve_dialect(args: ChatArgs, url: str | None) -> str:
    from ..dialects import infer

    if args.get:
        if args.dialect not in (None, "query"):
            raise UsageError(f"--get means --dialect query, not {args.dialect}")
        return "query"
    if args.dialect:
        return args.dialect
    return infer(url).name if url else "streamchat"


@dataclass
class Resolved:
    """A request as the options and inputs make it, and the conversation file it continues, if any."""

    request: ChatRequest
    message: str | None  # as given (None: no message yet, ws-chat reads turns from stdin)
    conversation: Conversation | None
    given_system: str | None  # the system prompt given on this run (-s, --system-file), if any

    def keeper(self, request: ChatRequest | None = None) -> Callable[[Any], None] | None:
        """What keeps a completed turn (the -C append), or None without -C."""
        if self.conversation is None:
            return None
        return self.conversation.keeper(request or self.request, self.given_system)


def resolve_request(
    args: ChatArgs, env: Environment, *, message_required: bool = True, read_stdin: bool = True, command: str = "chat"
) -> Resolved:
    """The request (message, history, images, sampling), from options and stdin.

    ``read_stdin=False`` leaves stdin alone (``ws-chat`` reads it as one turn a line).
    """
    from ..protocol.requests import ChatRequest

    users = stdin_consumers(args)
    if len(users) > 1:
        raise UsageError(f"only one input may read standard input, got {', '.join(users)}")
    if users and args.ignore_stdin:
        raise UsageError(f"{users[0]} reads standard input, which --ignore-stdin says never to read")
    stdin_text = None
    if args.message == "-" or (read_stdin and not users and not args.ignore_stdin and stdin_has_data(env.stdin)):
        data = env.stdin.read() if env.stdin is not None else b""
        stdin_text = decode_text(data, "standard input")
    message = build_message(args.message, stdin_text)
    if message is not None:
        message = clean(message)  # argv bytes that are not UTF-8 arrive as lone surrogates: U+FFFD
    if message is None or message == "":
        if message_required:
            raise UsageError("no message: give MESSAGE or pipe text on stdin", hint=f'streamchat {command} "Hello"')
        message = None
    system = args.system
    if args.system_file is not None:
        if system is not None:
            raise UsageError("give --system or --system-file, not both")
        system = strip_newlines(decode_text(read_file_bytes(args.system_file, "system prompt file", env.stdin), "system prompt file"))
    if system is not None:
        system = clean(system)
    given_system = system
    history = []
    conversation = None
    if args.conversation:
        conversation = Conversation.load(args.conversation)
        history.extend(conversation.history)
        if system is None:
            system = conversation.system  # the file's system prompt, until a new -s replaces it
    if args.history is not None:
        history.extend(load_history(args.history, env.stdin))
    max_image = parse_size(args.max_image_size, "--max-image-size")
    images = [load_image(src, env.stdin, max_image) for src in args.image]
    # Every value here has been checked: options by Typer (with ChatRequest's own bounds), history
    # items by pydantic as they were read (protocol/validation.py), the rest is text we read.
    request = ChatRequest(
        message=message or "",
        model_id=args.model or DEFAULT_MODEL,  # (an OpenAI-style server is asked for its model before sending)
        provider_slug=provider_slug(args.model or DEFAULT_MODEL, args.provider),
        history=history,
        system_prompt=system,
        images=images,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        frequency_penalty=args.frequency_penalty,
        presence_penalty=args.presence_penalty,
        params={**args.profile_params, **parse_params(args.param, env)} or None,
    )
    return Resolved(request, message, conversation, given_system)


def _connection(args: ChatArgs, env: Environment, notice: Any) -> tuple[str | None, dict[str, Any]]:
    """The token and the settings every transport shares, checked before anything is sent."""
    token = resolve_token(args, env, notice)
    secrets.protect(token)  # from here on, scrubbed from everything written
    for name, value in parse_headers(args.header):
        secrets.protect_header(name, value)
    if args.cacert is not None and not os.path.isfile(args.cacert):
        raise UsageError(f"--cacert {args.cacert!r} is not a file")
    shared = {
        "connect_timeout": args.connect_timeout,
        "read_timeout": args.read_timeout,
        "retries": args.retries,
        "insecure": args.insecure,
        "cacert": args.cacert,
        "notice": notice,
    }
    return token, shared


def resolve_ws(args: ChatArgs, env: Environment, notice: Any) -> tuple[Any, str | None]:
    """WebSocket settings and the token; the token goes in the handshake's Authorization header."""
    from ..client.ws import WSOptions

    token, shared = _connection(args, env, notice)
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    headers.update(dict(parse_headers(args.header)))
    opts = WSOptions(
        ping_interval=args.ping_interval,
        max_message_size=parse_size(args.max_message_size, "--max-message-size"),
        headers=headers,
        **shared,
    )
    return opts, token


def resolve_http(args: ChatArgs, env: Environment, notice: Any) -> tuple[Any, str]:
    """Connection settings and the token (validated before anything is sent)."""
    from ..client.http import HTTPOptions

    token, shared = _connection(args, env, notice)
    http = HTTPOptions(max_response_size=parse_size(args.max_response_size, "--max-response-size"), **shared)
    return http, token  # type: ignore[return-value]
