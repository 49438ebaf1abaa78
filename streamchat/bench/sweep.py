"""``bench --sweep K``: find the highest request rate a server keeps up with, then measure K rates up to there.

First closed loops, to bound the search: each request that ends starts the next one in its lane, so
while every lane is busy, the rate lanes are refilled at is the rate the server completes requests.
The lanes grow fourfold, 1, 4, 16, ... up to ``--concurrency`` (256 unless given), 4 requests a
lane, until a step gains less than 10 %. The peak of that ramp is the server at full utilisation,
which an open loop cannot sustain (arrivals do not wait, so a queue at 100 % utilisation never
drains): it is only the ceiling. Short open-loop probes then find the highest rate that keeps up
(``probes.py``: the arrivals complete and latency does not grow), bisecting down from the ceiling,
or up past it when the ramp ran out of lanes while still scaling, and a probe three times as long
confirms it (lower after each that falls behind). That rate is the saturation rate. Then K open-loop runs at rates from saturation/K up to it, one after another, each
summarised and checked like a single run; the highest rate whose checks all pass (every ``--slo`` and
``--max-error-rate``) is the answer. The run fails (exit 8) when no rate passes.
"""

from __future__ import annotations

import sys
from typing import Any

from ..errors import CheckFailedError
from .checks import failure
from .command import RecordSink, Setup, build_summary, measure, target, write_json
from .present import sweep_table, table
from .probes import Verdict, answer, confirm_next, judge, next_rate, probe_seconds

SATURATION_LANES = 256  # the most lanes the closed-loop ramp tries unless --concurrency says
GAIN = 1.10  # a fourfold step in lanes must add this much throughput to go on
LANE_STEP = 4
PER_LANE = 4  # requests a lane in each closed loop: 3 refills a lane measured
MIN_STAGE = 4


def saturation_rate(records: list[dict[str, Any]], lanes: int) -> float | None:
    """Completed requests per second while every lane was busy, from the closed loop's start times.

    The first ``lanes`` requests start together; every later start is a lane refilled by a request
    that just ended, so (starts after the first batch) / (time they took) is the completion rate at
    saturation, counted in ok requests only (a server that fails fast is not fast).
    """
    starts = sorted(r["start_s"] for r in records if r.get("start_s") is not None)
    ok = sum(1 for r in records if r.get("status") == "ok")
    if not records or not ok:
        return None
    if len(starts) > lanes and starts[-1] > starts[lanes - 1]:
        refills = len(starts) - lanes
        return refills / (starts[-1] - starts[lanes - 1]) * ok / len(records)
    return None


def sweep_rates(saturation: float, count: int) -> list[float]:
    """``count`` rates, evenly spaced from saturation/count up to saturation."""
    return [saturation * (i + 1) / count for i in range(count)]


def scaled(rate: float | None, before: float | None) -> bool:
    """Did more lanes still raise the completion rate by GAIN (the first rate always counts)?"""
    return rate is not None and (before is None or rate >= GAIN * before)


def lane_counts(most: int) -> list[int]:
    """1, 4, 16, ... and ``most`` itself last."""
    counts = []
    lanes = 1
    while lanes < most:
        counts.append(lanes)
        lanes *= LANE_STEP
    return [*counts, most]


def median_e2e_s(records: list[dict[str, Any]]) -> float:
    """The middle end-to-end latency of the ok requests, in seconds (0 when none has one)."""
    values = sorted(r["e2e_ms"] for r in records if r.get("status") == "ok" and r.get("e2e_ms") is not None)
    return values[len(values) // 2] / 1000.0 if values else 0.0


def closed_loop_ramp(setup: Setup, url: str, sink: RecordSink, configured: dict[str, float] | None) -> dict[str, Any]:
    """Closed loops with more and more lanes: the summary and records of the fastest, and the whole ramp."""
    args = setup.args
    best: dict[str, Any] | None = None
    ramp = []
    unloaded = 0.0
    still_scaling = False
    for lanes in lane_counts(args.concurrency or SATURATION_LANES):
        spec = setup.spec(url, concurrency=lanes, rate=None, requests=max(MIN_STAGE, PER_LANE * lanes))
        named = lanes_named(lanes)
        run = measure(spec, args, sink, f"saturation, {named} ", {"stage": "saturation", "lanes": lanes})
        rate = saturation_rate(run.records, lanes)
        ramp.append(
            {"concurrency": lanes, "rate": rate, "requests": len(run.records), "ok": sum(r.get("status") == "ok" for r in run.records)}
        )
        if len(ramp) == 1:
            unloaded = median_e2e_s(run.records)  # one lane: the latency of a server with nothing else to do
        if not args.quiet:
            shown = f"{rate:.2f} req/s" if rate is not None else "no rate (no request completed)"
            sys.stderr.write(f"streamchat: saturation search: {named}, {shown}\n")
        before = best["closed_loop_rate"] if best is not None else None
        still_scaling = scaled(rate, before)
        if rate is not None and (before is None or rate > before):
            best = {**build_summary(run, setup, spec, configured), "concurrency": lanes, "closed_loop_rate": rate, "records": run.records}
        if not still_scaling:
            break
    if best is None:
        raise CheckFailedError("the saturation search completed no request: " + ramp_failure(ramp))
    capped = still_scaling and len(ramp) > 1  # the lanes ran out before the server did (one lane count alone shows no scaling)
    return {**best, "ramp": ramp, "capped": capped, "unloaded_e2e_ms": unloaded * 1000.0}


def lanes_named(lanes: int) -> str:
    return f"{lanes} lane{'' if lanes == 1 else 's'}"


def ramp_failure(ramp: list[dict[str, Any]]) -> str:
    last = ramp[-1]
    return f"{last['ok']} of {last['requests']} requests ok with {last['concurrency']} lanes"


def open_loop_search(setup: Setup, url: str, sink: RecordSink, ramped: dict[str, Any]) -> list[Verdict]:
    """Short open-loop probes from the closed-loop ceiling to the highest rate the server keeps up
    with, then long ones confirming it (lower after each that falls behind)."""
    unloaded = ramped["unloaded_e2e_ms"] / 1000.0
    probes: list[Verdict] = []
    while (rate := next_rate(probes, ramped["closed_loop_rate"], ramped["capped"])) is not None:
        probes.append(probe(setup, url, sink, rate, unloaded, f"probe {len(probes) + 1}"))
    found = answer(probes)
    confirming: list[Verdict] = []
    while found is not None and (rate := confirm_next(confirming, found)) is not None:
        confirming.append(probe(setup, url, sink, rate, unloaded, "confirming", confirming=True))
    return probes + confirming


def probe(setup: Setup, url: str, sink: RecordSink, rate: float, unloaded_s: float, name: str, confirming: bool = False) -> Verdict:
    """One open-loop probe at ``rate``, judged."""
    args = setup.args
    seconds = probe_seconds(rate, unloaded_s, confirming)
    grace = max(1.0, 3.0 * unloaded_s)  # room for the last arrivals' replies; a backlog past it is cut
    spec = setup.spec(url, rate=rate, concurrency=None, requests=None, duration=seconds, grace=grace, warmup=0)
    run = measure(spec, args, sink, f"{name} ({rate:.2f} req/s) ", {"stage": "probe", "rate": rate, "confirming": confirming})
    verdict = judge(run.records, rate, seconds)
    verdict.confirming = confirming
    if not args.quiet:
        what = "confirming probe" if confirming else "open-loop probe"
        sys.stderr.write(f"streamchat: {what} at {rate:.2f} req/s for {seconds:.1f} s: {described(verdict)}\n")
    return verdict


def described(verdict: Verdict) -> str:
    """A probe's verdict in a few words, with the numbers that decided it."""
    numbers = []
    if verdict.ok_share is not None:
        numbers.append(f"{verdict.ok_share:.0%} completed")
    if verdict.latency_drift is not None:
        numbers.append(f"latency {verdict.latency_drift * 1000:+.0f} ms/s")
    if verdict.completed_rate is not None:
        numbers.append(f"{verdict.completed_rate:.2f} req/s done")
    if verdict.kept_up:
        return "kept up (" + ", ".join(numbers) + ")"
    return f"fell behind: {verdict.reason} (" + ", ".join(numbers) + ")"


def find_saturation(setup: Setup, url: str, sink: RecordSink, configured: dict[str, float] | None) -> dict[str, Any]:
    """The closed-loop ramp, then the open-loop probes: the saturation rate and how it was found."""
    args = setup.args
    ramped = closed_loop_ramp(setup, url, sink, configured)
    probes = open_loop_search(setup, url, sink, ramped)
    confirmed = [p for p in probes if p.confirming]
    rate = answer(confirmed)
    if rate is None:
        rate = min(p.rate for p in confirmed or probes)
        if not args.quiet:
            sys.stderr.write(
                f"streamchat: warning: no probe kept up long enough; the sweep goes up to the lowest rate probed, {rate:.2f} req/s\n"
            )
    if not args.quiet:
        sys.stderr.write(
            f"streamchat: saturation: {rate:.2f} req/s, the highest open-loop rate that kept up "
            f"(closed-loop peak {ramped['closed_loop_rate']:.2f} req/s at {lanes_named(ramped['concurrency'])})\n"
        )
    return {**ramped, "saturation_rate": rate, "probes": [p.as_json() for p in probes]}


def run_sweep(setup: Setup) -> int:
    args = setup.args
    assert args.sweep is not None
    sink = RecordSink(args, setup.token)
    entries = []
    try:
        with target(args) as (url, configured):
            saturated = find_saturation(setup, url, sink, configured)
            saturation = saturated["saturation_rate"]
            rates = sweep_rates(saturation, args.sweep)
            for number, rate in enumerate(rates, 1):
                spec = setup.spec(url, rate=rate, concurrency=None)
                run = measure(spec, args, sink, f"rate {number}/{len(rates)} ({rate:.2f} req/s) ", {"stage": "rate", "rate": rate})
                summary = build_summary(run, setup, spec, configured)
                entries.append((rate, summary, run.records))
                if not args.quiet:
                    sys.stderr.write(f"streamchat: -- rate {rate:.2f} req/s --\n" + table(summary))
                if args.output == "ndjson":
                    write_json({"rate": rate, **summary})
    finally:
        sink.close()
    passing = [rate for rate, summary, _ in entries if all(check["ok"] for check in summary["checks"])]
    best = max(passing, default=None)
    result = {
        "sweep": [{"rate": rate, **summary, "records": records} for rate, summary, records in entries],
        "saturation_rate": saturation,
        "max_rate_meeting_slo": best,
        "saturation": saturated,
    }
    if args.output == "json":
        write_json(result)
    elif args.output == "ndjson":
        write_json({"saturation_rate": saturation, "max_rate_meeting_slo": best})
    if not args.quiet:
        sys.stderr.write(sweep_table(result))
    if best is None:
        lowest = entries[0][1]
        raise CheckFailedError(f"no rate met every check; at the lowest, {entries[0][0]:.2f} req/s: {failure(lowest, lowest['checks'])}")
    return 0
