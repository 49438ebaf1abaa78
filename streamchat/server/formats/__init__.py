"""The reference server's HTTP chat dialects, one module each: how a request is read, how a reply is written."""

from __future__ import annotations

from .anthropic import ANTHROPIC
from .base import BadRequest, Dialect, Format
from .ollama import OLLAMA_CHAT, OLLAMA_GENERATE
from .openai_chat import OPENAI
from .responses import RESPONSES
from .simple import PROMPT, QUERY, STREAMCHAT

__all__ = [
    "ANTHROPIC",
    "OLLAMA_CHAT",
    "OLLAMA_GENERATE",
    "OPENAI",
    "PROMPT",
    "QUERY",
    "RESPONSES",
    "STREAMCHAT",
    "BadRequest",
    "Dialect",
    "Format",
]
