"""A ``-C`` conversation file: the prior turns a request carries, and where a completed turn is kept.

The file is NDJSON, one message a line, appended to and never rewritten (``inputs.append_conversation``:
one locked, fsynced write, all or nothing). A system prompt given on a turn is kept too, as a
``{"role": "system"}`` line written only when it differs from the file's current one; later turns that
give none use it, and a new ``-s`` replaces it from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..protocol.requests import ChatRequest, HistoryMessage
    from .reply import Reply


@dataclass
class Conversation:
    path: str
    history: list[HistoryMessage] = field(default_factory=list)  # user and assistant turns, in order
    system: str | None = None  # the file's current system prompt (its last system line)

    @classmethod
    def load(cls, path: str) -> Conversation:
        from .inputs import load_conversation

        conversation = cls(path)
        for message in load_conversation(path):
            if message.role == "system":
                conversation.system = message.content
            else:
                conversation.history.append(message)
        return conversation

    def keeper(self, request: ChatRequest, given_system: str | None) -> Callable[[Reply], None]:
        """What runs once a turn's reply is complete: its messages appended in one write."""

        def keep(reply: Reply) -> None:
            from .inputs import append_conversation

            lines: list[dict[str, Any]] = []
            if given_system is not None and given_system != self.system:
                lines.append({"role": "system", "content": given_system})
            user: dict[str, Any] = {"role": "user", "content": request.message}
            if request.images:
                user["images"] = request.images
            lines += [user, {"role": "assistant", "content": reply.content}]
            append_conversation(self.path, lines)
            if given_system is not None:
                self.system = given_system

        return keep


__all__ = ["Conversation"]
