"""Open-loop probes: did the server keep up with a request rate, and which rate to try next.

A closed loop's peak throughput is the server at full utilisation: an open loop at that rate queues
without bound, because arrivals do not wait for answers. So the sweep confirms its closed-loop
estimate the way a person searching by hand would: it offers a rate for a few seconds and looks at
the steady part of the probe: the arrivals after the start-up (connections opening, queues filling)
and before the last typical latency (whose replies come while nothing arrives any more).

- They completed: at least 95 % of them ended ok. Failed and unfinished requests do not count: a
  server that fails fast is not keeping up.
- Latency did not grow: a server that keeps up holds its latency level; one that falls behind
  queues, and each arrival waits longer than the one before. Latency is counted from each request's
  intended start (so the client's own delays count too), and the median of the later half of the
  arrivals may exceed the earlier half's by at most 100 ms for each second between them: a server
  offered 10 % more than it completes queues 0.1 s more work every second. (Less than that is
  within the noise of a few seconds' probe on a shared machine, where a neighbour's burst of work
  stalls every stream for a moment.)

Then a bracket-and-bisect search: start at the closed-loop peak; below a probe that fell behind, try
a little under the rate it did complete; once one rate kept up and a higher one did not, bisect
(geometrically, or at the rate the server completed while falling behind when that is lower: no
rate above it can keep up) until they are within 10 %. When the closed loop ran out of lanes while
still scaling, its peak is no upper bound, so rates that keep up are doubled until one does not.

A server near its limit can hold a rate for a few seconds and then give way (a queue that wanders,
memory and collection costs that grow with the streams held), so the highest rate that kept up is
confirmed by a probe three times as long (24 unloaded latencies, at most 30 s), as a person would
watch a candidate rate for longer; when that one falls behind, the next is 10 % lower, or just under
what it completed but not below three quarters (a server that gave way completes less than it can),
four at most. The answer is the highest rate a confirming probe kept up with.

Everything here is a pure function of records and earlier verdicts, tested on made-up probes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

KEEP_UP = 0.95  # of the steady part's arrivals, this share at least completed ok
DRIFT = 0.10  # latency may grow by at most this many seconds a second through the steady part
RESOLUTION = 1.10  # stop when the lowest rate that fell behind is within 10 % of the highest that kept up
STEP_DOWN = (0.5, 0.85)  # below a rate that fell behind: between these shares of it...
NEAR_COMPLETED = 0.9  # ...preferably this share of the rate it did complete
STEP_UP = 2.0  # every probe kept up and the closed loop had run out of lanes: double
MAX_PROBES = 8
PROBE_SECONDS = (1.0, 30.0)  # a probe sends for this long at least and at most...
PROBE_LATENCIES = 6.0  # ...and at least this many unloaded latencies...
PROBE_ARRIVALS = 60  # ...and long enough for this many arrivals
CONFIRM_LATENCIES = 24.0  # a confirming probe: this many unloaded latencies (and no shorter than a searching one)
CONFIRMS = 4  # confirming probes at most...
CONFIRM_FLOOR = 0.75  # ...each at least this share of the one before


@dataclass
class Verdict:
    """One probe: the rate offered, whether the server kept up, and the numbers that decided it."""

    rate: float
    kept_up: bool
    reason: str  # why not, in words ("" when it kept up)
    requests: int
    ok: int
    seconds: float  # how long it sent
    typical_latency_ms: float | None = None  # the median, from the intended start
    ok_share: float | None = None  # of the steady part's arrivals, the share that completed ok
    latency_drift: float | None = None  # seconds of latency gained per second through the steady part (None: unmeasurable)
    completed_rate: float | None = None  # completions per second in the steady part
    confirming: bool = False  # a long probe, confirming the search's answer

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def probe_seconds(rate: float, unloaded_s: float, confirming: bool = False) -> float:
    """How long a probe at ``rate`` sends: several unloaded latencies, enough arrivals, within bounds."""
    least, most = PROBE_SECONDS
    searching = min(most, max(least, PROBE_LATENCIES * unloaded_s, PROBE_ARRIVALS / rate))
    return min(most, max(searching, CONFIRM_LATENCIES * unloaded_s)) if confirming else searching


def _intended(record: dict[str, Any]) -> float:
    return record["start_s"] - (record.get("schedule_lag_ms") or 0.0) / 1000.0


def _latency(record: dict[str, Any]) -> float:
    """Seconds from the intended start to the end; unfinished and failed requests are slower than any."""
    if record.get("status") != "ok" or record.get("e2e_ms") is None:
        return math.inf
    return (record["e2e_ms"] + (record.get("schedule_lag_ms") or 0.0)) / 1000.0


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    low, high = ordered[middle - 1], ordered[middle]
    return high if math.isinf(high) else (low + high) / 2


def judge(records: list[dict[str, Any]], rate: float, seconds: float) -> Verdict:
    """Did the server keep up with ``rate`` over a probe that sent for ``seconds``?

    The steady part is the arrivals after the start-up (a quarter of the probe, or one typical
    latency: connections open, queues fill) and before the last typical latency (whose replies
    come while nothing arrives any more, so they are faster than the load they measure).
    """
    timed = [r for r in records if r.get("start_s") is not None]
    ok = [r for r in timed if r.get("status") == "ok" and r.get("e2e_ms") is not None]
    verdict = Verdict(rate, False, "", len(records), len(ok), seconds)
    if not ok:
        verdict.reason = "no request completed"
        return verdict
    typical = _median([_latency(r) for r in ok])
    verdict.typical_latency_ms = typical * 1000.0
    ends = [_intended(r) + _latency(r) for r in ok]
    verdict.completed_rate = sum(1 for t in ends if seconds / 3.0 <= t < seconds) / (seconds * 2.0 / 3.0)
    begin, end = max(seconds / 4.0, typical), seconds - typical
    if end - begin < seconds / 4.0:
        verdict.reason = f"the typical latency ({typical:.2f} s) took most of the {seconds:.1f} s probe"
        return verdict
    steady = sorted((r for r in timed if begin <= _intended(r) < end), key=_intended)
    if len(steady) < 4:
        verdict.reason = f"{len(steady)} arrivals in the steady part: too few to judge"
        return verdict
    verdict.ok_share = sum(1 for r in steady if math.isfinite(_latency(r))) / len(steady)
    half = len(steady) // 2
    earlier, later = steady[:half], steady[half:]
    grown = _median([_latency(r) for r in later]) - _median([_latency(r) for r in earlier])
    apart = _median([_intended(r) for r in later]) - _median([_intended(r) for r in earlier])
    verdict.latency_drift = grown / apart if math.isfinite(grown) and apart > 0 else None
    if verdict.ok_share < KEEP_UP:
        verdict.reason = f"{verdict.ok_share:.0%} of arrivals completed"
    elif verdict.latency_drift is not None and verdict.latency_drift > DRIFT:
        verdict.reason = f"latency grew {verdict.latency_drift * 1000:.0f} ms a second"
    else:
        verdict.kept_up = True
    return verdict


def next_rate(probes: list[Verdict], ceiling: float, capped: bool) -> float | None:
    """The next rate to probe, or None when the search is over (see ``answer``)."""
    if not probes:
        return ceiling
    if len(probes) >= MAX_PROBES:
        return None
    best = max((p.rate for p in probes if p.kept_up), default=None)
    behind = min((p for p in probes if not p.kept_up and (best is None or p.rate > best)), key=lambda p: p.rate, default=None)
    if behind is None:  # every rate kept up
        # The closed-loop peak is the most the server completes with every lane busy; past it only
        # when the lanes ran out before the server did.
        return best * STEP_UP if capped else None
    if best is None:  # nothing kept up yet: just under what the server did complete
        least, most = STEP_DOWN
        near = NEAR_COMPLETED * (behind.completed_rate or 0.0)
        return max(least * behind.rate, min(most * behind.rate, near))
    if behind.rate <= best * RESOLUTION:
        return None
    middle = math.sqrt(best * behind.rate)
    done = behind.completed_rate  # what the server managed while falling behind: a rate above it cannot keep up
    if done is not None and best * math.sqrt(RESOLUTION) < done < middle:
        return done
    return middle


def confirm_next(confirming: list[Verdict], found: float) -> float | None:
    """The next rate for a long, confirming probe: the search's answer, then lower after each that fell behind."""
    if not confirming:
        return found
    last = confirming[-1]
    if last.kept_up or len(confirming) >= CONFIRMS:
        return None
    lower = last.rate / RESOLUTION
    if last.completed_rate is not None:  # (a server that gave way completes less than it can: no lower than CONFIRM_FLOOR)
        lower = min(lower, NEAR_COMPLETED * last.completed_rate)
    return max(last.rate * CONFIRM_FLOOR, lower)


def answer(probes: list[Verdict]) -> float | None:
    """The highest rate that kept up; None when none did."""
    return max((p.rate for p in probes if p.kept_up), default=None)
