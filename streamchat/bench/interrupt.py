"""An interrupted load (Ctrl-C, SIGTERM): stopped at a safe point, and what had finished still reported."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from typing import Any


class Interrupted(Exception):
    """Ctrl-C or SIGTERM during a load: the records that had finished, and the wall time they span."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        super().__init__("interrupted")
        self.records = list(records)
        ends = [r["start_s"] + r["e2e_ms"] / 1000 for r in records if r.get("start_s") is not None and r.get("e2e_ms") is not None]
        self.wall = max(ends, default=0.0)  # to the last finished request's end


@contextlib.contextmanager
def sigterm_cancels_the_load() -> Iterator[None]:
    """While the load runs, SIGTERM cancels its task, as asyncio.run turns Ctrl-C into a cancellation:
    at an ``await``. The process's own SIGTERM handler raises KeyboardInterrupt wherever the interpreter
    is, and inside a task's cleanup that can swallow it and leave a worker process running for good."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    previous = signal.getsignal(signal.SIGTERM)
    try:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)  # type: ignore[union-attr]
    except (ValueError, RuntimeError, NotImplementedError):  # not the main thread, or no such signals here
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, previous)  # (removing sets the default, which would kill us outright)


__all__ = ["Interrupted", "sigterm_cancels_the_load"]
