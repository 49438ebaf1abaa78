"""The cyclic garbage collector, tuned for one reply streamed to stdout (chat, ws-chat).

Not for serve or bench: there a collection of 50,000 objects is a pause of milliseconds in the
middle of timed streams (bench's TTFT error at 64 streams rose from +3.5 to +4-7 ms mean with it).
"""

from __future__ import annotations


def collect_garbage_less_often() -> None:
    """A stream makes a few short-lived objects per event and no reference cycles worth chasing;
    at the default threshold (700) the cyclic collector ran every few hundred events and re-walked
    every long-lived object each time: 10-18 % of a 200,000-event run (benchmarks/throughput.py)."""
    import gc

    gc.set_threshold(50_000, 50, 100)


def freeze_startup_objects() -> None:
    """Called once the imports are done: the collector then never walks the modules' objects again."""
    import gc

    gc.freeze()
