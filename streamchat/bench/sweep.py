"""``bench --sweep K``: find where a server saturates, then measure K request rates up to there.

Saturation is found with closed loops: each request that ends starts the next one in its lane, so
while every lane is busy, the rate at which lanes are refilled is the rate the server completes
requests. One lane count alone can miss it both ways (too few lanes leave a batching server idle;
too many overload a small one), so the lanes double, 1, 2, 4, ... up to ``--concurrency`` (256
unless given), each for 8 requests a lane (16 at least), and stop when doubling them twice in a
row gained less than 10 %. The saturation rate is the rate of the last doubling that still gained
10 %: past the knee, more lanes may show a little more throughput, but only by holding a queue that
an open loop at that rate could not keep bounded. Then K open-loop runs at rates from saturation/K
up to the saturation rate, one after another, each summarised and checked like a single run; the
highest rate whose checks all pass (every ``--slo`` and ``--max-error-rate``) is the answer. The
run fails (exit 8) when no rate passes.
"""

from __future__ import annotations

import sys
from typing import Any

from ..errors import CheckFailedError
from .checks import failure
from .command import RecordSink, Setup, build_summary, measure, target, write_json
from .present import sweep_table, table

SATURATION_LANES = 256  # the most lanes the saturation search tries unless --concurrency says
GAIN = 1.10  # doubling the lanes must add this much to keep searching
PER_LANE = 8  # requests a lane in each closed loop: 7 refills a lane measured
MIN_STAGE = 16


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
    """Did doubling the lanes still raise the completion rate by GAIN (the first rate always counts)?"""
    return rate is not None and (before is None or rate >= GAIN * before)


def lane_counts(most: int) -> list[int]:
    """1, 2, 4, ... and ``most`` itself last."""
    counts = []
    lanes = 1
    while lanes < most:
        counts.append(lanes)
        lanes *= 2
    return [*counts, most]


def find_saturation(setup: Setup, url: str, sink: RecordSink, configured: dict[str, float] | None) -> dict[str, Any]:
    """Closed loops with more and more lanes: the summary of the last one that scaled, its records, and the whole ramp."""
    args = setup.args
    best: dict[str, Any] | None = None
    ramp = []
    short = 0  # doublings in a row that gained too little
    for lanes in lane_counts(args.concurrency or SATURATION_LANES):
        spec = setup.spec(url, concurrency=lanes, rate=None, requests=max(MIN_STAGE, PER_LANE * lanes))
        named = f"{lanes} lane{'' if lanes == 1 else 's'}"
        run = measure(spec, args, sink, f"saturation, {named} ", {"stage": "saturation", "lanes": lanes})
        rate = saturation_rate(run.records, lanes)
        ramp.append(
            {"concurrency": lanes, "rate": rate, "requests": len(run.records), "ok": sum(r.get("status") == "ok" for r in run.records)}
        )
        if not args.quiet:
            shown = f"{rate:.2f} req/s" if rate is not None else "no rate (no request completed)"
            sys.stderr.write(f"streamchat: saturation search: {named}, {shown}\n")
        before = best["saturation_rate"] if best is not None else None
        if scaled(rate, before):
            best = {**build_summary(run, setup, spec, configured), "concurrency": lanes, "saturation_rate": rate, "records": run.records}
            short = 0
        else:
            short += 1
        if rate is None or short == 2:  # twice: one short step can be noise
            break
    if best is None:
        raise CheckFailedError("the saturation search completed no request: " + ramp_failure(ramp))
    capped = short == 0 and best["concurrency"] == ramp[-1]["concurrency"]  # still scaling when the lanes ran out
    if capped and not args.quiet:
        sys.stderr.write(
            f"streamchat: warning: still scaling at {best['concurrency']} lanes: the server may take more; give a larger --concurrency\n"
        )
    return {**best, "ramp": ramp, "capped": capped}


def ramp_failure(ramp: list[dict[str, Any]]) -> str:
    last = ramp[-1]
    return f"{last['ok']} of {last['requests']} requests ok with {last['concurrency']} lanes"


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
