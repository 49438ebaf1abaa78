"""Deterministic replies: the same request (and seed) always streams the same tokens."""

from __future__ import annotations

import functools
import hashlib
import random
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .tools import ToolCall, call_first_tool

if TYPE_CHECKING:
    from .config import ServerConfig

_WORDS = (
    *("stream", "token", "reply", "server", "event", "data", "chunk", "latency", "socket", "model", "answer"),
    *("simple", "quick", "steady", "byte", "line", "shell", "pipe", "loopback", "test", "the", "a", "of", "and"),
    *("to", "in", "is", "that", "it", "with", "as", "for", "on", "this", "every", "some", "small", "clear"),
    *("plain", "bright", "calm", "deterministic", "reference"),
)
_THOUGHTS = ("Let", " me", " think", " about", " what", " the", " user", " asked", ".")


@dataclass
class Ask:
    """What a chat request asks for, read from whichever dialect carried it."""

    message: str
    model: str
    max_tokens: Any = None
    prompt_tokens: int | None = None
    stream: bool = True
    tools: list[Any] = field(default_factory=list)
    # The conversation ends with a tool's result: a model answers that in text. Calling a tool again
    # would make a front end that runs the tools (Open WebUI offers its own on every chat) loop.
    tool_answered: bool = False
    include_usage: bool = True  # (OpenAI) the usage chunk is sent only when stream_options ask for it


@dataclass(frozen=True)
class ReplyPlan:
    reasoning: list[str]
    content: list[str]
    finish_reason: str
    input_tokens: int
    tool_call: ToolCall | None = None  # when the request offered tools: a call of the first, instead of text

    @property
    def output_tokens(self) -> int:
        return len(self.content) + len(self.reasoning) + (len(self.tool_call.pieces) if self.tool_call else 0)

    def items(self) -> list[tuple[str, str]]:
        """Everything streamed, in order, one paced item each: reasoning, text, tool-call argument pieces."""
        tool = [("tool", piece) for piece in self.tool_call.pieces] if self.tool_call else []
        return [("reasoning", t) for t in self.reasoning] + [("content", t) for t in self.content] + tool


def count_tokens(text: str) -> int:
    """A stand-in tokenizer: whitespace-separated words, at least one for non-empty text."""
    return max(1, len(text.split())) if text else 0


_SAY = re.compile(r"(?is)^\s*say\s+(.+?)\s*$")


@functools.lru_cache(maxsize=256)
def _reply_words(seed: int, model: str, message: str, reply_tokens: int) -> tuple[str, ...]:
    """The reply's tokens; cached, since a load test asks the same prompt over and over."""
    digest = hashlib.sha256(f"{seed}\x00{model}\x00{message}".encode("utf-8", "replace")).digest()
    rng = random.Random(digest)
    words = [rng.choice(_WORDS) for _ in range(max(0, reply_tokens))]
    content = [(w if i == 0 else " " + w) for i, w in enumerate(words)]
    if content:
        content[0] = content[0][:1].upper() + content[0][1:]
        content[-1] += "."
    return tuple(content)


def plan_reply(
    message: str,
    model: str,
    *,
    seed: int = 0,
    reply_tokens: int = 24,
    max_tokens: int | None = None,
    reasoning: bool = False,
    prompt_tokens: int | None = None,
    tools: list[Any] | None = None,
) -> ReplyPlan:
    thoughts = list(_THOUGHTS) if reasoning or "reason" in model.lower() else []
    inp = prompt_tokens if prompt_tokens is not None else count_tokens(message)
    call = call_first_tool(tools or [], message, seed)
    if call is not None:
        return ReplyPlan(thoughts, [], "tool_calls", inp, call)
    said = _SAY.match(message)
    if said:  # "Say OK" is answered "OK": smoke tests (--expect) get a reply they can check
        words = said.group(1).split()
        content = [w if i == 0 else " " + w for i, w in enumerate(words)]
    else:
        content = list(_reply_words(seed, model, message, reply_tokens))
    finish = "stop"
    if max_tokens is not None and len(content) > max_tokens:
        content = content[:max_tokens]
        finish = "length"
    return ReplyPlan(thoughts, content, finish, inp)


def plan_for(config: ServerConfig, ask: Ask) -> ReplyPlan:
    """The reply this server's settings give to ``ask``."""
    limit = ask.max_tokens if isinstance(ask.max_tokens, int) and not isinstance(ask.max_tokens, bool) and ask.max_tokens > 0 else None
    return plan_reply(
        ask.message,
        ask.model,
        seed=config.seed,
        reply_tokens=config.reply_tokens,
        max_tokens=limit,
        reasoning=config.reasoning,
        prompt_tokens=ask.prompt_tokens,
        tools=[] if ask.tool_answered else ask.tools,
    )
