"""``streamchat models``: the model ids a server offers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from . import app
from . import options as o
from .helpformat import GroupedCommand
from .signature import p, takes

EXAMPLES = """
Examples:

\b
  streamchat models --url http://127.0.0.1:8000            # an OpenAI-compatible server: GET /v1/models
  streamchat models --url http://127.0.0.1:11434/api/chat  # Ollama: GET /api/tags
  streamchat models --url http://127.0.0.1:8000/v1 -o json | jq -r '.models[0]'
"""
MODELS_OUTPUTS = ("text", "json")


@app.command(cls=GroupedCommand, epilog=EXAMPLES)
@takes(*o.WHERE, p("dialect", o.Dialect), *o.CREDENTIALS, *o.timeouts(connect=30.0), *o.TLS)
def models(
    output: Annotated[
        Literal[MODELS_OUTPUTS],  # type: ignore[valid-type]
        o.option("-o --output", o.one_of(MODELS_OUTPUTS), "text (one id a line) or json.", o.OUT),
    ] = "text",
    quiet: o.Quiet = False,
    **options: Any,
) -> int:
    """List the models a server offers (OpenAI /v1/models, Ollama /api/tags)."""
    from ..env import Environment
    from ..session.commands import models as list_models
    from ..session.settings import ChatArgs

    return list_models(ChatArgs.from_locals({**options, "output": output, "quiet": quiet}), Environment(), output)
