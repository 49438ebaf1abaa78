"""``streamchat chat``: one reply over HTTP Server-Sent Events."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..env import Environment
from . import app
from . import options as o
from .resolve import (
    DIALECT_PATHS,
    ChatArgs,
    check_url,
    endpoint,
    output_options,
    parse_headers,
    resolve_dialect,
    resolve_http,
    resolve_request,
)

EXAMPLES = """
Examples:

  streamchat chat "Hello"                                  # built-in demo server
  cat main.py | streamchat chat "explain this"             # stdin + message
  streamchat chat --url http://127.0.0.1:8000/v1/chat/completions -m gpt-4o-mini "Hi"
  streamchat chat -o ndjson "Hi" | jq -r 'select(.type=="content").text'
  streamchat chat -C talk.ndjson "and then?"               # a conversation kept in a file
"""


def execute(args: ChatArgs, env: Environment) -> int:
    """Everything ``chat`` does, callable without Typer."""
    from ..chat import ChatTarget, run_http_chat
    from ..inputs import append_conversation
    from ..output import make_renderer

    renderer = make_renderer(env, output_options(args))
    http, token = resolve_http(args, env, renderer.note)
    if args.url is not None:
        check_url(args.url)
    dialect = resolve_dialect(args, args.url)
    request, message = resolve_request(args, env)
    headers = parse_headers(args.header)
    scheme = args.auth_scheme or ("x-api-key" if dialect == "anthropic" else "bearer")
    with endpoint(args.url, DIALECT_PATHS[dialect], renderer.note) as url:
        target = ChatTarget(url, dialect, token, scheme, headers)
        reply = run_http_chat(target, request, http, renderer)
    if args.conversation:
        user = {"role": "user", "content": request.message}
        if request.images:
            user["images"] = request.images
        append_conversation(args.conversation, [user, {"role": "assistant", "content": reply.content}])
    return 0


@app.command(epilog=EXAMPLES)
def chat(
    message: Annotated[Optional[str], typer.Argument(help="The message; - or none reads stdin.", show_default=False)] = None,
    url: o.Url = None,
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
) -> int:
    """Stream one reply over HTTP Server-Sent Events."""
    return execute(ChatArgs.from_locals(locals()), Environment())
