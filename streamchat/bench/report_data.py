"""What ``bench report`` reads: bench's run files, and the series its plots draw, without any plotting.

A run file is what ``bench -o json`` writes: a summary with every request's record under
``"records"``, or a sweep, ``{"sweep": [{"rate": R, ...summary}, ...], "saturation_rate",
"max_rate_meeting_slo"}``. ``bench -o ndjson`` output (records, then the summary) is read as a run
too. Files from before records were kept have a summary only: the plots drawn from records are
skipped for them, and the page says so.

Everything here treats the file as untrusted: a field of the wrong type is left out, never a crash.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError


@dataclass
class Run:
    """One measured run: its summary, and its records when the file has them."""

    label: str
    summary: dict[str, Any]
    records: list[dict[str, Any]] | None
    rate: float | None = None  # the sweep's rate, for a run inside a sweep


@dataclass
class Sweep:
    label: str
    runs: list[Run]
    saturation_rate: float | None
    max_rate_meeting_slo: float | None


@dataclass
class Inputs:
    """Everything given on the command line, in order, each with a label of its own."""

    runs: list[Run] = field(default_factory=list)
    sweeps: list[Sweep] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # labels in command-line order: one colour each


def number(value: Any) -> float | None:
    """A finite number, or None (bools, strings, NaN and infinities are not measurements)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def is_summary(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("requests"), int) and isinstance(value.get("ok"), int)


def is_record(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("status"), str)


def _records_of(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        return None
    return [r for r in value if is_record(r)]


def _run(label: str, summary: dict[str, Any], records: Any = None, rate: float | None = None) -> Run:
    rest = {k: v for k, v in summary.items() if k != "records"}
    return Run(label, rest, _records_of(records if records is not None else summary.get("records")), rate)


def _parse(path: str, text: str) -> Run | Sweep:
    label = path  # replaced by a short unique label afterwards
    try:
        value = json.loads(text)
    except ValueError:
        value = _ndjson(text)
    if isinstance(value, dict) and isinstance(value.get("sweep"), list):
        entries = [e for e in value["sweep"] if is_summary(e) and number(e.get("rate")) is not None]
        if entries:
            runs = [_run(f"{number(e['rate']):g}/s", e, rate=number(e["rate"])) for e in entries]
            runs.sort(key=lambda r: r.rate or 0.0)
            return Sweep(label, runs, number(value.get("saturation_rate")), number(value.get("max_rate_meeting_slo")))
    if is_summary(value):
        return _run(label, value)
    raise UsageError(f"{path}: not a bench run (the JSON that bench -o json writes)")


def _ndjson(text: str) -> dict[str, Any] | None:
    """``bench -o ndjson``: one record a line, then the summary; folded into a run with records."""
    records: list[dict[str, Any]] = []
    summary = None
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            return None
        if is_summary(value):
            summary = value
        elif is_record(value):
            records.append(value)
        else:
            return None
    if summary is None:
        return None
    return {**summary, "records": summary.get("records", records)}


def read_inputs(paths: list[str]) -> Inputs:
    parsed: list[Run | Sweep] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError as exc:
            raise UsageError(f"cannot read {path!r}: {exc.strerror or exc}") from None
        parsed.append(_parse(path, text))
    inputs = Inputs()
    for item, label in zip(parsed, unique_labels(paths), strict=True):
        item.label = label
        inputs.order.append(label)
        (inputs.sweeps if isinstance(item, Sweep) else inputs.runs).append(item)  # type: ignore[arg-type]
    return inputs


def unique_labels(paths: list[str]) -> list[str]:
    """File names without their extension; more of the path where two would read the same."""
    labels = []
    for path in paths:
        parts = os.path.normpath(path).split(os.sep)
        depth = 1
        while True:
            label = os.path.splitext("/".join(parts[-depth:]))[0]
            clashes = [p for p in paths if p != path and os.path.splitext("/".join(os.path.normpath(p).split(os.sep)[-depth:]))[0] == label]
            if not clashes or depth >= len(parts):
                break
            depth += 1
        while label in labels:  # the same file given twice
            label += "'"
        labels.append(label)
    return labels


# The series the plots draw.


def ok_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("status") == "ok"]


def values(records: list[dict[str, Any]], key: str) -> list[float]:
    """``key`` of every completed request that has it as a number."""
    return [v for v in (number(r.get(key)) for r in ok_records(records)) if v is not None]


def gaps(records: list[dict[str, Any]]) -> list[float]:
    out: list[float] = []
    for r in ok_records(records):
        itl = r.get("itl_ms")
        if isinstance(itl, list):
            out.extend(v for v in (number(g) for g in itl) if v is not None)
    return out


def over_time(records: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """(send time in seconds from the start, ``key``) for every completed request."""
    xs, ys = [], []
    for r in ok_records(records):
        x, y = number(r.get("start_s")), number(r.get(key))
        if x is not None and y is not None:
            xs.append(x)
            ys.append(y)
    return xs, ys


def failure_times(records: list[dict[str, Any]]) -> list[float]:
    return [x for x in (number(r.get("start_s")) for r in records if r.get("status") != "ok") if x is not None]


def token_times(record: dict[str, Any]) -> list[float]:
    """When each token event arrived, seconds from the start: send time + TTFT, then every gap."""
    start, ttft = number(record.get("start_s")), number(record.get("ttft_ms"))
    if start is None or ttft is None:
        return []
    now = start + ttft / 1000.0
    times = [now]
    itl = record.get("itl_ms")
    for gap in itl if isinstance(itl, list) else []:
        value = number(gap)
        if value is not None:
            now += value / 1000.0
            times.append(now)
    return times


def nice_step(span: float, bins: int = 60) -> float:
    """A round bin width (1, 2 or 5 times a power of ten seconds) giving at most about ``bins`` bins."""
    target = max(span / bins, 0.01)
    power = 10 ** math.floor(math.log10(target))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= target)


def per_second(times: list[tuple[float, float]], step: float, end: float) -> tuple[list[float], list[float]]:
    """Weighted events per second in bins of ``step`` seconds from 0 to ``end``: (bin starts, rates)."""
    count = max(1, math.ceil(end / step))
    sums = [0.0] * count
    for when, weight in times:
        if when >= 0:
            sums[min(int(when / step), count - 1)] += weight
    return [i * step for i in range(count)], [s / step for s in sums]


def throughput(records: list[dict[str, Any]], step: float, end: float) -> dict[str, tuple[list[float], list[float]]]:
    """Output tokens/s and finished requests/s over time.

    Token events are weighted so a request's events add up to its ``output_tokens`` (a server that
    sends several tokens in one event, with usage at the end, is counted in tokens, as the summary is).
    """
    tokens: list[tuple[float, float]] = []
    finished: list[tuple[float, float]] = []
    for r in ok_records(records):
        times = token_times(r)
        count = number(r.get("output_tokens"))
        if times:
            weight = count / len(times) if count is not None else 1.0
            tokens.extend((t, weight) for t in times)
        start, e2e = number(r.get("start_s")), number(r.get("e2e_ms"))
        if start is not None and e2e is not None:
            finished.append((start + e2e / 1000.0, 1.0))
    return {"tokens": per_second(tokens, step, end), "requests": per_second(finished, step, end)}


def run_end(run: Run) -> float:
    """The run's length in seconds: its wall time, or its last request's end when that is later."""
    end = number(run.summary.get("wall_s")) or 0.0
    for r in run.records or []:
        start, e2e = number(r.get("start_s")), number(r.get("e2e_ms"))
        if start is not None:
            end = max(end, start + (e2e or 0.0) / 1000.0)
    return end


def binned_median(xs: list[float], ys: list[float], step: float) -> tuple[list[float], list[float]]:
    """The median of ``ys`` in each ``step``-wide bin of ``xs`` that has any (drawn at the bin's middle)."""
    bins: dict[int, list[float]] = {}
    for x, y in zip(xs, ys, strict=True):
        bins.setdefault(int(x / step), []).append(y)
    mids, medians = [], []
    for index in sorted(bins):
        group = sorted(bins[index])
        half = len(group) // 2
        mids.append((index + 0.5) * step)
        medians.append(group[half] if len(group) % 2 else (group[half - 1] + group[half]) / 2)
    return mids, medians


def stat(summary: dict[str, Any], metric: str, key: str) -> float | None:
    stats = summary.get(metric)
    return number(stats.get(key)) if isinstance(stats, dict) else None
