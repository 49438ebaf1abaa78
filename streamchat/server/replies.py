"""Deterministic replies: the same request (and seed) always streams the same tokens."""

from __future__ import annotations

import functools
import hashlib
import random
import re
from dataclasses import dataclass

_WORDS = (
    "stream",
    "token",
    "reply",
    "server",
    "event",
    "data",
    "chunk",
    "latency",
    "socket",
    "model",
    "answer",
    "simple",
    "quick",
    "steady",
    "byte",
    "line",
    "shell",
    "pipe",
    "loopback",
    "test",
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "it",
    "with",
    "as",
    "for",
    "on",
    "this",
    "every",
    "some",
    "small",
    "clear",
    "plain",
    "bright",
    "calm",
    "deterministic",
    "reference",
)
_THOUGHTS = ("Let", " me", " think", " about", " what", " the", " user", " asked", ".")


@dataclass(frozen=True)
class ReplyPlan:
    reasoning: list[str]
    content: list[str]
    finish_reason: str
    input_tokens: int

    @property
    def output_tokens(self) -> int:
        return len(self.content) + len(self.reasoning)


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
) -> ReplyPlan:
    said = _SAY.match(message)
    if said:  # "Say OK" is answered "OK": smoke tests (--expect) get a reply they can check
        words = said.group(1).split()
        content = [w if i == 0 else " " + w for i, w in enumerate(words)]
    else:
        content = list(_reply_words(seed, model, message, reply_tokens))
    thoughts = list(_THOUGHTS) if reasoning or "reason" in model.lower() else []
    finish = "stop"
    if max_tokens is not None and len(content) > max_tokens:
        content = content[:max_tokens]
        finish = "length"
    inp = prompt_tokens if prompt_tokens is not None else count_tokens(message)
    return ReplyPlan(thoughts, content, finish, inp)
