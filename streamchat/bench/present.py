"""What bench shows people on stderr: the progress bar (terminals only) and the summary tables."""

from __future__ import annotations

import sys
import time
from typing import Any

from .checks import error_words
from .metrics import STAT_KEYS, histogram


class Progress:
    """A one-line progress bar on stderr (terminals only), redrawn at most ten times a second.

    The bar fills with requests done out of ``total``, or with time out of ``duration`` when the
    run has no request count (``--duration`` alone).
    """

    WIDTH = 30

    def __init__(self, total: int | None, enabled: bool, duration: float | None = None, label: str = "") -> None:
        self.total = total
        self.duration = duration
        self.enabled = enabled
        self.label = label
        self.done = 0
        self.failed = 0
        self._drawn = 0.0
        self._start = time.monotonic()

    def update(self, record: dict[str, Any]) -> None:
        self.done += 1
        self.failed += record.get("status") != "ok"
        if not self.enabled:
            return
        now = time.monotonic()
        finished = self.total is not None and self.done >= self.total
        if now - self._drawn < 0.1 and not finished:
            return
        self._drawn = now
        if self.total is not None:
            share = min(self.done, self.total) / max(self.total, 1)
            count = f"{self.done}/{self.total} requests"
        else:
            elapsed = now - self._start
            share = min(elapsed / self.duration, 1.0) if self.duration else 0.0
            count = f"{self.done} requests, {elapsed:.0f}/{self.duration or 0:g} s"
        filled = int(self.WIDTH * share)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        sys.stderr.write(f"\r\x1b[2K{self.label}[{bar}] {count}, {self.failed} failed")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self._drawn:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


def requests_line(summary: dict[str, Any]) -> str:
    """``12 ok, 3 failed: connect_failed ×2, http_503 ×1``: error kinds as words, never a dict."""
    line = f"{summary['ok']} ok, {summary['failed']} failed"
    if summary["failed"]:
        line += ": " + error_words(summary.get("errors") or {})
    return line


def _tokens_lines(summary: dict[str, Any]) -> list[str]:
    requested = summary.get("requested_tokens")
    if not requested:
        return []
    received = summary.get("received_tokens") or {}
    parts = []
    for kind, counted in (("prompt", "counted by the server"), ("output", "received")):
        if requested.get(kind) is None:
            continue
        stats = received.get(kind)
        got = f"{stats['mean']:.1f} {counted} (min {stats['min']:g}, max {stats['max']:g})" if stats else f"none {counted}"
        parts.append(f"{kind} {requested[kind]} requested, {got}")
    return ["tokens: " + "; ".join(parts)] if parts else []


def table(summary: dict[str, Any], ttfts: list[float] | None = None) -> str:
    lines = [
        f"requests: {requests_line(summary)}",
        f"throughput: {summary['requests_per_s'] or 0:.2f} req/s, {summary['output_tokens_per_s'] or 0:.1f} output tokens/s over {summary['wall_s']:.2f} s",
    ]
    if summary.get("slos"):
        lines.append(f"goodput: {summary.get('goodput') or 0:.2f} req/s completed within every --slo")
    if summary.get("ray"):
        ray = summary["ray"]
        failed = f", {ray['failed_actors']} failed" if ray["failed_actors"] else ""
        lines.append(f"ray: {ray['actors']} actors on {ray['hosts']} host{'s' if ray['hosts'] != 1 else ''}{failed} ({ray['address']})")
    if summary.get("target_rate"):
        lines.append(f"rate: {summary['achieved_rate'] or 0:.2f} req/s achieved of {summary['target_rate']:g} targeted")
    lines += _tokens_lines(summary)
    lines.append(f"{'ms':<16}" + "".join(f"{k:>9}" for k in STAT_KEYS))
    for key in ("ttft_ms", "itl_ms", "tpot_ms", "e2e_ms", "schedule_lag_ms"):
        stats = summary.get(key)
        if stats:
            lines.append(f"{key:<16}" + "".join(f"{stats[k]:>9.1f}" for k in STAT_KEYS))
    if ttfts:
        lines.append("ttft_ms histogram:")
        lines += [f"  {low:>9.1f} – {high:<9.1f} {bar} {count}" for low, high, count, bar in histogram_rows(ttfts)]
    lag = summary.get("client_loop_lag_ms") or {}
    if lag.get("warning"):
        lines.append(f"warning: the client's event loop lagged (p99 {lag['p99']:.1f} ms): latencies include client overhead")
    check = summary.get("self_check")
    if check:
        for key, value in check.items():
            diff = value["measured_minus_configured"]
            if diff:
                lines.append(f"self-check {key}: measured − configured = mean {diff['mean']:+.1f} ms, p95 {diff['p95']:+.1f} ms")
    checks = summary.get("checks") or []
    if checks:
        shown = (
            f"{c['name']} {'ok' if c['ok'] else 'FAILED'} ({'none' if c['value'] is None else format(c['value'], '.1f')})" for c in checks
        )
        lines.append("checks: " + ", ".join(shown))
    return "".join("streamchat: " + line + "\n" for line in lines)


def histogram_rows(values: list[float], bins: int = 8, width: int = 30) -> list[tuple[float, float, int, str]]:
    counts = histogram(values, bins)
    top = max(count for _, _, count in counts) or 1
    return [(low, high, count, "█" * max(1 if count else 0, round(width * count / top))) for low, high, count in counts]


def sweep_table(result: dict[str, Any]) -> str:
    """One line a rate, then the saturation rate and the best rate that met every check."""

    def ms(summary: dict[str, Any], key: str, stat: str) -> str:
        value = (summary.get(key) or {}).get(stat)
        return f"{value:>9.1f}" if value is not None else f"{'-':>9}"

    lines = [f"{'rate':>9} {'achieved':>9} {'ok':>6} {'failed':>6}  ttft p50  ttft p95   itl p50   e2e p95  tokens/s  checks"]
    for entry in result["sweep"]:
        tps = entry.get("output_tokens_per_s") or 0.0
        passed = all(check["ok"] for check in entry.get("checks") or [])
        lines.append(
            f"{entry['rate']:>9.2f} {entry.get('achieved_rate') or 0:>9.2f} {entry['ok']:>6} {entry['failed']:>6} "
            f"{ms(entry, 'ttft_ms', 'p50')} {ms(entry, 'ttft_ms', 'p95')} {ms(entry, 'itl_ms', 'p50')} {ms(entry, 'e2e_ms', 'p95')} "
            f"{tps:>9.1f}  {'ok' if passed else 'FAILED'}"
        )
    found = result.get("saturation") or {}
    peak = found.get("closed_loop_rate")
    lanes = found.get("concurrency")
    how = f"open-loop probes; closed-loop peak {peak:.2f} req/s at {lanes} lane{'' if lanes == 1 else 's'}" if peak else "closed loop"
    lines.append(f"saturation: {result['saturation_rate'] or 0:.2f} req/s ({how})")
    best = result["max_rate_meeting_slo"]
    lines.append("highest rate meeting every check: " + (f"{best:.2f} req/s" if best is not None else "none"))
    return "".join("streamchat: " + line + "\n" for line in lines)
