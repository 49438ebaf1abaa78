"""bench's pass/fail gates for CI: ``--slo METRIC<=VALUE``, ``--max-error-rate PCT``, and goodput.

A run fails (exit 8) when the share of failed requests is over ``--max-error-rate`` (default 0: any
failure), when every request failed, or when a threshold does not hold. Latency metrics are a
statistic of one latency in milliseconds (``ttft_p95``, ``itl_p50``, ``e2e_max``); throughput metrics
are ``output_tps``, ``requests_per_s`` and ``goodput``.

Goodput is the requests per second that completed *and* met every latency threshold on their own:
a request meets ``ttft_p95<=500`` when its TTFT is within 500 ms, and ``itl_p95<=50`` when the p95
of its own gaps is; a latency a request cannot have (no gap in a one-token reply) does not count
against it, except TTFT: a reply that never sent a token did not meet a TTFT bound.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from .metrics import percentile

LATENCIES = ("ttft", "itl", "tpot", "e2e")
LATENCY_STATS = ("p50", "p90", "p95", "p99", "mean", "max")
# Throughput metric -> its key in the summary.
THROUGHPUTS = {"output_tps": "output_tokens_per_s", "requests_per_s": "requests_per_s", "goodput": "goodput"}
METRIC_HELP = "ttft|itl|tpot|e2e _p50|_p90|_p95|_p99|_mean|_max (ms), output_tps, requests_per_s, goodput"

_SLO = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(<=|>=)\s*(.+?)\s*(ms)?\s*$")


@dataclass(frozen=True)
class Slo:
    metric: str  # "ttft_p95", "output_tps"
    op: str  # "<=" or ">="
    limit: float

    @property
    def name(self) -> str:
        return f"{self.metric}{self.op}{self.limit:g}"

    @property
    def latency(self) -> tuple[str, str] | None:
        """(latency, statistic) for a latency metric, None for a throughput one."""
        kind, _, stat = self.metric.partition("_")
        return (kind, stat) if kind in LATENCIES else None

    def holds(self, value: float | None) -> bool:
        if value is None or math.isnan(value):
            return False
        return value <= self.limit if self.op == "<=" else value >= self.limit


def parse_slo(text: str) -> Slo:
    """``METRIC<=VALUE`` or ``METRIC>=VALUE``; anything else is a usage error naming what is allowed."""
    match = _SLO.match(text)
    if match is None:
        raise UsageError(f"bad --slo {text!r}: expected METRIC<=VALUE or METRIC>=VALUE", hint=f"METRIC is one of {METRIC_HELP}")
    metric, op, number, ms = match.group(1).lower(), match.group(2), match.group(3), match.group(4)
    kind, _, stat = metric.partition("_")
    if not ((kind in LATENCIES and stat in LATENCY_STATS) or metric in THROUGHPUTS):
        raise UsageError(f"bad --slo {text!r}: unknown metric {metric!r}", hint=f"METRIC is one of {METRIC_HELP}")
    if ms and kind not in LATENCIES:
        raise UsageError(f"bad --slo {text!r}: {metric} is not a latency in ms")
    try:
        limit = float(number)
    except ValueError:
        raise UsageError(f"bad --slo {text!r}: {number!r} is not a number") from None
    if not math.isfinite(limit) or limit < 0:
        raise UsageError(f"bad --slo {text!r}: the value must be a finite number, at least 0")
    return Slo(metric, op, limit)


def _own(values: list[float], stat: str) -> float:
    """One request's statistic of its own samples."""
    ordered = sorted(values)
    if stat == "mean":
        return sum(ordered) / len(ordered)
    if stat == "max":
        return ordered[-1]
    return percentile(ordered, float(stat[1:]))


def request_meets(record: dict[str, Any], slos: list[Slo]) -> bool:
    """A completed request within every latency threshold (throughput thresholds are the run's, not a request's)."""
    if record.get("status") != "ok":
        return False
    for slo in slos:
        latency = slo.latency
        if latency is None:
            continue
        kind, stat = latency
        value = record.get(f"{kind}_ms")
        if value is None or value == []:
            if kind == "ttft":
                return False  # no token ever came: no first token within any bound
            continue
        if not slo.holds(_own(value, stat) if isinstance(value, list) else value):
            return False
    return True


def goodput(records: list[dict[str, Any]], slos: list[Slo], wall_s: float) -> float | None:
    if wall_s <= 0:
        return None
    return sum(1 for record in records if request_meets(record, slos)) / wall_s


def measured(summary: dict[str, Any], slo: Slo) -> float | None:
    latency = slo.latency
    if latency is None:
        value = summary.get(THROUGHPUTS[slo.metric])
    else:
        value = (summary.get(f"{latency[0]}_ms") or {}).get(latency[1])
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def error_rate_pct(summary: dict[str, Any]) -> float | None:
    total = summary.get("requests") or 0
    return 100.0 * summary.get("failed", 0) / total if total else None


def evaluate(summary: dict[str, Any], slos: list[Slo], max_error_rate: float) -> list[dict[str, Any]]:
    """The checks of one run, in the order given: the error rate first, then each ``--slo``."""
    rate = error_rate_pct(summary)
    checks = [
        {
            "name": f"error_rate<={max_error_rate:g}",
            "limit": max_error_rate,
            "value": rate,
            "ok": rate is not None and rate <= max_error_rate,
        }
    ]
    for slo in slos:
        value = measured(summary, slo)
        checks.append({"name": slo.name, "limit": slo.limit, "value": value, "ok": slo.holds(value)})
    return checks


def error_words(errors: dict[str, int]) -> str:
    """``{"connect_failed": 3, "http_503": 1}`` as people read it: ``connect_failed ×3, http_503 ×1``."""
    return ", ".join(f"{kind} ×{count}" for kind, count in sorted(errors.items(), key=lambda item: (-item[1], item[0])))


def _shown(check: dict[str, Any]) -> str:
    value = check["value"]
    if value is None:
        return f"{check['name']} failed: nothing was measured"
    if check["name"].startswith("error_rate"):
        return f"error rate {value:.1f} % is over --max-error-rate {check['limit']:g}"
    unit = " ms" if check["name"].split("_")[0] in LATENCIES else ""
    return f"{check['name']} failed: measured {value:.1f}{unit}"


def failure(summary: dict[str, Any], checks: list[dict[str, Any]]) -> str | None:
    """The one-line reason a run failed, or None when it passed."""
    failed = summary.get("failed", 0)
    errors = f"{failed} failed: {error_words(summary.get('errors') or {})}" if failed else ""
    if not summary.get("requests"):
        return "no request was measured"
    if not summary.get("ok"):
        return f"every request failed ({errors})"
    reasons = [_shown(check) for check in checks if not check["ok"]]
    if not reasons:
        return None
    if errors and any(check["name"].startswith("error_rate") and not check["ok"] for check in checks):
        reasons[0] += f" ({errors})"
    return "; ".join(reasons)
