"""One reply as a paced sequence of steps, with the mid-stream faults applied: written once for every
transport (SSE, NDJSON, WebSocket, Socket.IO), each of which only turns steps into its own wire form.

Steps are ``(kind, text)``:

``start``               the first item is due (TTFT has passed): a dialect's head goes out now
``reasoning`` / ``content`` / ``tool``   one paced item (a tool item is a piece of call arguments)
``error``               an injected error (text: the message); nothing follows
``close``               (transports that can) close now with the fault's code; nothing follows
``end``                 every item was sent: the dialect's clean end goes out now

A ``drop`` fault raises ``DropConnection`` (the server then aborts the connection), a ``stall`` fault
waits until the client goes away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from .faults import STOPS, DropConnection, Fault
from .pacing import Pacer
from .replies import ReplyPlan

STALL_SECONDS = 3600.0


async def reply_steps(plan: ReplyPlan, fault: Fault, pacer: Pacer, *, can_close: bool = False) -> AsyncIterator[tuple[str, str]]:
    items = plan.items()
    stops = STOPS if can_close else tuple(action for action in STOPS if action != "close")
    await pacer.before(0)
    yield "start", ""
    for sent in range(len(items) + 1):
        last = sent == len(items)
        action = fault.stop_at(sent, last, stops)
        if action == "drop":
            raise DropConnection
        if action == "close":
            yield "close", str(fault.close_code or 1000)
            return
        if action == "stall":
            await asyncio.sleep(STALL_SECONDS)
        if action == "error":
            yield "error", f"injected error after {sent} tokens"
            return
        if last:
            break
        if sent:
            await pacer.before(sent)
        yield items[sent]
    yield "end", ""
