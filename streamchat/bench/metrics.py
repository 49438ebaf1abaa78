"""Bench statistics: pure functions over per-request records, unit-tested on hand-made timelines.

A record is a dict with ``status`` ("ok" or an error kind) and, for completed requests,
``ttft_ms`` (send → first content or reasoning event), ``itl_ms`` (every gap between events after the
first), ``e2e_ms``, ``output_tokens`` and ``tokens_source``; ``schedule_lag_ms`` is the actual send
time minus the intended one. Failed requests are counted, and kept out of every latency statistic.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

STAT_KEYS = ("mean", "min", "p50", "p90", "p95", "p99", "max")


def percentile(sorted_values: list[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return math.nan
    if len(sorted_values) == 1:
        return sorted_values[0]
    rank = (len(sorted_values) - 1) * pct / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def describe(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    return {
        "mean": sum(ordered) / len(ordered),
        "min": ordered[0],
        "p50": percentile(ordered, 50),
        "p90": percentile(ordered, 90),
        "p95": percentile(ordered, 95),
        "p99": percentile(ordered, 99),
        "max": ordered[-1],
    }


def histogram(values: list[float], bins: int = 8) -> list[tuple[float, float, int]]:
    """(low, high, count) for ``bins`` equal-width bins from min to max; the last bin includes max."""
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:
        return [(low, high, len(values))]
    step = (high - low) / bins
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / step), bins - 1)] += 1
    return [(low + i * step, low + (i + 1) * step, counts[i]) for i in range(bins)]


def tpot_ms(e2e_ms: float, ttft_ms: float, output_tokens: int) -> float | None:
    """Time per output token after the first: (e2e − ttft) / (tokens − 1); none for one token."""
    if output_tokens < 2:
        return None
    return (e2e_ms - ttft_ms) / (output_tokens - 1)


def summarise(records: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    ok = [r for r in records if r.get("status") == "ok"]
    failed = Counter(r.get("status", "unknown") for r in records if r.get("status") != "ok")
    tokens = sum(int(r.get("output_tokens") or 0) for r in ok)
    itl = [gap for r in ok for gap in r.get("itl_ms", [])]
    tpots = [r["tpot_ms"] for r in ok if r.get("tpot_ms") is not None]
    return {
        "requests": len(records),
        "ok": len(ok),
        "failed": sum(failed.values()),
        "errors": dict(sorted(failed.items())),
        "wall_s": wall_s,
        "requests_per_s": len(ok) / wall_s if wall_s > 0 else None,
        "output_tokens": tokens,
        "output_tokens_per_s": tokens / wall_s if wall_s > 0 else None,
        "tokens_source": dict(Counter(r.get("tokens_source", "events") for r in ok)),
        "ttft_ms": describe([r["ttft_ms"] for r in ok if r.get("ttft_ms") is not None]),
        "itl_ms": describe(itl),
        "tpot_ms": describe(tpots),
        "e2e_ms": describe([r["e2e_ms"] for r in ok if r.get("e2e_ms") is not None]),
        "schedule_lag_ms": describe([r["schedule_lag_ms"] for r in records if r.get("schedule_lag_ms") is not None]),
    }


# What "worse" means for each compared metric: higher latency, lower throughput.
COMPARED = (
    ("ttft_ms", "p50", 1),
    ("ttft_ms", "p95", 1),
    ("itl_ms", "p50", 1),
    ("itl_ms", "p95", 1),
    ("e2e_ms", "p50", 1),
    ("e2e_ms", "p95", 1),
)
THROUGHPUT = (("requests_per_s", -1), ("output_tokens_per_s", -1))


def compare(base: dict[str, Any], new: dict[str, Any], threshold_pct: float) -> list[str]:
    """The regressions of ``new`` against ``base`` beyond ``threshold_pct`` (empty: none)."""
    found = []
    for metric, stat, sign in COMPARED:
        b = _number(_section(base, metric).get(stat))
        n = _number(_section(new, metric).get(stat))
        if b is not None and n is not None and b > 0:
            change = (n - b) / b * 100 * sign
            if change > threshold_pct:
                found.append(f"{metric} {stat}: {b:.1f} → {n:.1f} ms (+{change:.1f} %)")
    for key, sign in THROUGHPUT:
        b, n = _number(base.get(key)), _number(new.get(key))
        if b is not None and n is not None and b > 0:
            change = (n - b) / b * 100 * sign
            if change > threshold_pct:
                found.append(f"{key}: {b:.1f} → {n:.1f} (−{change:.1f} %)")
    failed_before, failed_now = _number(base.get("failed")) or 0, _number(new.get("failed")) or 0
    if failed_now > failed_before:
        found.append(f"failed requests: {failed_before:g} → {failed_now:g}")
    return found


def _section(summary: dict[str, Any], metric: str) -> dict[str, Any]:
    """A latency's statistics in a summary file; anything else there (a file edited or written by
    something else) is no statistics, not a crash."""
    value = summary.get(metric)
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) else None
