"""Does `bench --sweep` find the saturation rate a person searching by hand finds?

For each server shape, a `streamchat serve` of that shape; then, ``--runs`` times:

1. ``streamchat bench --sweep 2 -q -o json``: its ``saturation_rate``, and how long the sweep took.
2. A search by hand, as a person does it with ``streamchat bench --rate R --duration D -o json``
   (D = ``--seconds``, 15 by default, long enough to be steady): rates go up 25 % at a time from half
   the sweep's answer (only so that the search starts low enough; it goes on until a rate falls
   behind, so it does not depend on the sweep), then 6 % at a time from the last rate that kept up
   to the first that did not. The answer is the highest rate that kept up. A run keeps up when, over
   its steady part (the arrivals from D/4 until one typical latency before the sending ends):
   (a) at least 95 % of the arrivals completed ok (``--grace 10``: a short backlog drains);
   (b) completions kept pace: those that ended in the steady part are at least 95 % of the
       arrivals one typical latency earlier;
   (c) latency did not grow: the median latency (from each request's intended start) of the last
       third of the steady arrivals is at most 1.25 times the first third's.

It prints both rates, their ratio (sweep / by hand), the load average before each, and every rate
the search by hand tried. The machine's other work moves both: run it when ``uptime`` is low.

    python3 benchmarks/sweep_check.py [--runs 2] [--seconds 15] [--shapes w1,w2,slow-itl]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from streamchat.bench.command import serve_process  # noqa: E402

REPLY = {"--ttft-ms": 50, "--itl-ms": 10, "--reply-tokens": 64}
SHAPES = {
    "w1": {"--workers": 1, **REPLY},
    "w2": {"--workers": 2, **REPLY},
    "slow-itl": {"--workers": 1, **REPLY, "--itl-ms": 25},
}
COARSE, FINE = 1.25, 1.06
KEEP_UP = 0.95
GROWTH = 1.25


def bench(url: str, *options: str) -> dict:
    cmd = [sys.executable, "-m", "streamchat", "bench", "--url", url, "-q", "-o", "json", *options]
    done = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode not in (0, 8):  # 8: a check failed, which a sweep's or a run's JSON still reports
        raise SystemExit(f"bench failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def intended(record: dict) -> float:
    return record["start_s"] - (record.get("schedule_lag_ms") or 0.0) / 1000.0


def latency(record: dict) -> float:
    if record["status"] != "ok":
        return math.inf
    return (record["e2e_ms"] + (record.get("schedule_lag_ms") or 0.0)) / 1000.0


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def kept_up(records: list[dict], seconds: float) -> tuple[bool, str]:
    """What a person reads off a long run: did it complete, keep pace, and hold its latency?"""
    ok = [r for r in records if r["status"] == "ok"]
    if not ok:
        return False, "nothing completed"
    typical = median([latency(r) for r in ok])
    begin, end = seconds / 4.0, seconds - typical
    steady = sorted((r for r in records if begin <= intended(r) < end), key=intended)
    if len(steady) < 9:
        return False, f"latency {typical:.1f} s: no steady part"
    completed = sum(1 for r in steady if r["status"] == "ok") / len(steady)
    ended = sum(1 for r in ok if begin <= intended(r) + latency(r) < seconds)
    answered = sum(1 for r in records if begin - typical <= intended(r) < seconds - typical)
    pace = ended / answered
    third = len(steady) // 3
    growth = median([latency(r) for r in steady[-third:]]) / median([latency(r) for r in steady[:third]])
    numbers = f"completed {completed:.0%}, pace {pace:.0%}, latency x{growth:.2f} (typical {typical * 1000:.0f} ms)"
    return completed >= KEEP_UP and pace >= KEEP_UP and growth <= GROWTH, numbers


def by_hand(url: str, start: float, seconds: float) -> tuple[float | None, list[str]]:
    """Rates up by 25 % until one falls behind, then by 6 % from the last that kept up."""
    tried: dict[float, bool] = {}
    notes = []

    def attempt(rate: float) -> bool:
        run = bench(url, "--rate", f"{rate:.3f}", "--duration", str(seconds), "--grace", "10")
        good, numbers = kept_up(run["records"], seconds)
        tried[rate] = good
        notes.append(f"    {rate:8.2f} req/s: {'kept up' if good else 'fell behind'} ({numbers}; load {os.getloadavg()[0]:.2f})")
        print(notes[-1], flush=True)
        return good

    rate = start
    while not attempt(rate):  # the start fell behind already: lower until one keeps up
        rate /= COARSE
        if rate < start / 16:
            return None, notes
    while attempt(rate * COARSE):
        rate *= COARSE
    ceiling = rate * COARSE
    while rate * FINE < ceiling and attempt(rate * FINE):
        rate *= FINE
    return max(r for r, good in tried.items() if good), notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=15.0, help="how long each run of the search by hand sends")
    parser.add_argument("--shapes", default=",".join(SHAPES), help=f"comma-separated, of {', '.join(SHAPES)}")
    args = parser.parse_args()
    results = []
    for name in args.shapes.split(","):
        options = SHAPES[name]
        shown = " ".join(f"{k} {v}" for k, v in options.items())
        with serve_process(options) as base:
            url = base + "/api/chat/stream"
            for number in range(1, args.runs + 1):
                print(f"{name} (serve {shown}), run {number}:", flush=True)
                load = os.getloadavg()[0]
                began = time.monotonic()
                sweep = bench(url, "--sweep", "2")
                took = time.monotonic() - began
                found = sweep["saturation_rate"]
                peak = sweep["saturation"]["closed_loop_rate"]
                probes = ", ".join(f"{p['rate']:.0f}{'+' if p['kept_up'] else '-'}" for p in sweep["saturation"]["probes"])
                print(
                    f"  sweep: {found:.2f} req/s in {took:.0f} s (closed-loop peak {peak:.2f}; probes {probes}; load {load:.2f})",
                    flush=True,
                )
                manual, _ = by_hand(url, found / 2, args.seconds)
                ratio = found / manual if manual else math.nan
                print(f"  by hand: {manual or 0:.2f} req/s; sweep / by hand = {ratio:.2f}", flush=True)
                results.append((name, number, found, manual, ratio, took, load))
    print("\nshape     run     sweep   by hand  ratio  sweep time  load before")
    for name, number, found, manual, ratio, took, load in results:
        print(f"{name:<9} {number:>3} {found:>9.2f} {manual or 0:>9.2f} {ratio:>6.2f} {took:>9.0f} s {load:>11.2f}")


if __name__ == "__main__":
    main()
