"""``streamchat models``: the model ids a server offers."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from . import app
from . import options as o
from .helpformat import GroupedCommand

EXAMPLES = """
Examples:

\b
  streamchat models --url http://127.0.0.1:8000            # an OpenAI-compatible server: GET /v1/models
  streamchat models --url http://127.0.0.1:11434/api/chat  # Ollama: GET /api/tags
  streamchat models --url http://127.0.0.1:8000/v1 -o json | jq -r '.models[0]'
"""
MODELS_OUTPUTS = ("text", "json")


@app.command(cls=GroupedCommand, epilog=EXAMPLES)
def models(
    url: o.Url = None,
    dialect: o.Dialect = None,
    token: o.Token = None,
    token_file: o.TokenFile = None,
    header: o.Header = None,
    connect_timeout: o.ConnectTimeout = 30.0,
    read_timeout: o.ReadTimeout = 60.0,
    retries: o.Retries = 3,
    insecure: o.Insecure = False,
    cacert: o.CACert = None,
    output: Annotated[
        Literal[MODELS_OUTPUTS],  # type: ignore[valid-type]
        typer.Option("-o", "--output", metavar=o.one_of(MODELS_OUTPUTS), help="text (one id a line) or json.", rich_help_panel=o.OUT),
    ] = "text",
    quiet: o.Quiet = False,
    profile: o.Profile = None,
) -> int:
    """List the models a server offers (OpenAI /v1/models, Ollama /api/tags)."""
    from ..env import Environment
    from ..session.commands import models as list_models
    from ..session.settings import ChatArgs

    return list_models(ChatArgs.from_locals(locals()), Environment(), output)
