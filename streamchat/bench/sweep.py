"""``bench --sweep K``: find where a server saturates, then measure K request rates up to there.

First a closed loop (``--concurrency`` lanes, 64 unless given: more than most servers serve at
once) finds the highest sustainable rate: while every lane is busy, each request that ends starts
the next one, so the rate at which lanes are refilled is the rate the server completes requests.
Then K open-loop runs at rates from saturation/K up to the saturation rate, one after another, each
summarised and checked like a single run; the highest rate whose checks all pass (every ``--slo``
and ``--max-error-rate``) is the answer. The run fails (exit 8) when no rate passes.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

from ..errors import CheckFailedError
from .checks import failure
from .command import RecordSink, Setup, build_summary, measure, target, write_json
from .present import sweep_table, table

SATURATION_LANES = 64


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


def run_sweep(setup: Setup) -> int:
    args = setup.args
    assert args.sweep is not None
    lanes = args.concurrency or SATURATION_LANES
    sink = RecordSink(args)
    entries = []
    try:
        with target(args) as (url, configured):
            closed = setup.spec(url, concurrency=lanes, rate=None)
            if closed.requests is not None:
                closed = replace(closed, requests=max(closed.requests, 4 * lanes))  # enough refills to measure the rate
            run = measure(closed, args, sink, "saturation ")
            saturated = build_summary(run, setup, closed, configured)
            saturated_records = run.records
            saturation = saturation_rate(run.records, lanes)
            if saturation is None:
                reason = failure(saturated, saturated["checks"]) or "too few requests to measure a rate"
                raise CheckFailedError(f"the saturation run found no rate: {reason}")
            saturated["saturation_rate"] = saturation
            if not args.quiet:
                sys.stderr.write(f"streamchat: saturation run ({lanes} lanes): {saturation:.2f} req/s\n")
            rates = sweep_rates(saturation, args.sweep)
            for number, rate in enumerate(rates, 1):
                spec = setup.spec(url, rate=rate, concurrency=None)
                run = measure(spec, args, sink, f"rate {number}/{len(rates)} ({rate:.2f} req/s) ")
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
        "saturation": {**saturated, "records": saturated_records},
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
