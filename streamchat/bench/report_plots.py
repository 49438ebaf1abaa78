"""The report's figures, drawn with matplotlib and returned as inline SVG text.

Only ``matplotlib.figure.Figure`` is used, never pyplot, so no GUI backend is ever chosen and nothing
global changes; the style is set per figure through ``rc_context``. Each run keeps one colour in every
figure (the page's tables show the same colours), and runs share axes so they can be compared.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import report_data as data
from .metrics import percentile
from .report_data import Run, Sweep

# matplotlib's "tab10": the page's tables colour each run's name with the same values.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
STYLE = {
    "svg.hashsalt": "streamchat-bench-report",  # the same input gives the same page
    "font.size": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
}
WIDTH_IN = 11.0
PANEL_HEIGHT_IN = 3.4
RASTER_ABOVE = 3000  # points in one scatter: more than this become an embedded PNG, not SVG circles


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def plain(text: str) -> str:
    """Text matplotlib shows as written: a ``$`` would start its math mode."""
    return text.replace("$", r"\$")


class Plotter:
    """Makes figures and turns them into SVG elements whose ids cannot clash with another figure's."""

    def __init__(self) -> None:
        from matplotlib import rc_context
        from matplotlib.figure import Figure

        self._figure = Figure
        self._rc_context = rc_context
        self.count = 0

    @contextmanager
    def panels(self, count: int, title: str, height: float = PANEL_HEIGHT_IN) -> Iterator[tuple[Any, list[Any]]]:
        with self._rc_context(STYLE):
            fig = self._figure(figsize=(WIDTH_IN, height), layout="constrained")
            axes = list(fig.subplots(1, count, squeeze=False)[0])
            fig.suptitle(plain(title), fontweight="bold")
            yield fig, axes

    def svg(self, fig: Any) -> str:
        with self._rc_context(STYLE):
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", dpi=150, metadata={"Date": None})
        self.count += 1
        return inline_svg(buffer.getvalue(), f"f{self.count}-")


def inline_svg(text: str, prefix: str) -> str:
    """A standalone SVG file made fit to sit in HTML: no XML prologue or metadata, ids made unique,
    and as wide as its container (the view box keeps the proportions)."""
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\bid="', f'id="{prefix}', text)
    text = text.replace("url(#", f"url(#{prefix}").replace('href="#', f'href="#{prefix}')
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 width="100%" role="img"', text, count=1)


def _legend(ax: Any, **kwargs: Any) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, fontsize=9, **kwargs)


def _figure_legend(fig: Any, ax: Any) -> None:
    """One legend under a figure of several panels, where it hides no data."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), fontsize=9)


def distribution(p: Plotter, title: str, unit: str, series: list[tuple[str, str, list[float]]]) -> tuple[str, str]:
    """Histograms on shared bins, in percent of each run's values (runs of different sizes compare);
    a solid line at each run's median and a dashed one at its p95. The far tail is cut at the pooled
    p99.5 so the body stays readable; the caption says how many values lie beyond."""
    pooled = sorted(v for _, _, vs in series for v in vs)
    low = pooled[0]
    high = percentile(pooled, 99.5)
    if high <= low:
        high = low + 1.0
    beyond = sum(1 for v in pooled if v > high)
    bins = [low + (high - low) * i / 40 for i in range(41)]
    with p.panels(1, title) as (fig, (ax,)):
        for label, hue, vs in series:
            shown = [v for v in vs if v <= high]
            weights = [100.0 / len(vs)] * len(shown)
            if len(series) == 1:
                ax.hist(shown, bins=bins, weights=weights, color=hue, alpha=0.75, label=plain(label))
            else:
                ax.hist(shown, bins=bins, weights=weights, color=hue, alpha=0.12)
                ax.hist(shown, bins=bins, weights=weights, color=hue, histtype="step", linewidth=1.8, label=plain(label))
            ordered = sorted(vs)
            ax.axvline(percentile(ordered, 50), color=hue, linewidth=1.2)
            ax.axvline(percentile(ordered, 95), color=hue, linewidth=1.2, linestyle="--")
        ax.set_xlabel(unit)
        ax.set_ylabel("share of values (%)")
        _legend(ax, loc="upper right")
        svg = p.svg(fig)
    note = "solid line: median; dashed: p95."
    if beyond:
        note += f" {beyond:,} of {len(pooled):,} values above {high:.1f} ms (the top 0.5 %) are beyond the right edge."
    return svg, note


def percentiles(p: Plotter, runs: list[tuple[str, str, dict[str, Any]]]) -> str:
    """Grouped bars of p50 / p90 / p95 / p99 from each run's summary: drawn even without records."""
    metrics = (("ttft_ms", "TTFT"), ("itl_ms", "ITL"), ("tpot_ms", "TPOT"), ("e2e_ms", "E2E"))
    keys = ("p50", "p90", "p95", "p99")
    width = 0.8 / max(len(runs), 1)
    with p.panels(len(metrics), "Latency percentiles (ms)") as (fig, axes):
        for ax, (metric, name) in zip(axes, metrics, strict=True):
            for index, (label, hue, summary) in enumerate(runs):
                heights = [data.stat(summary, metric, k) for k in keys]
                xs = [i + (index - (len(runs) - 1) / 2) * width for i in range(len(keys))]
                ax.bar(xs, [h if h is not None else 0.0 for h in heights], width=width, color=hue, label=plain(label))
            ax.set_xticks(range(len(keys)), keys)
            ax.set_title(name)
            ax.grid(axis="x", visible=False)
        axes[0].set_ylabel("ms")
        _figure_legend(fig, axes[0])
        return p.svg(fig)


def latency_over_time(p: Plotter, runs: list[tuple[str, str, Run]]) -> tuple[str, str]:
    """TTFT and end-to-end latency of each request at the time it was sent, a dot each, with each
    run's median per time bin as a line; failed requests are ticks along the bottom."""
    end = max(data.run_end(run) for _, _, run in runs)
    step = data.nice_step(end, 30)
    total = sum(len(run.records or []) for _, _, run in runs)
    with p.panels(2, "Latency over time") as (fig, axes):
        for ax, (key, name) in zip(axes, (("ttft_ms", "TTFT (ms)"), ("e2e_ms", "end to end (ms)")), strict=True):
            for label, hue, run in runs:
                records = run.records or []
                xs, ys = data.over_time(records, key)
                ax.scatter(xs, ys, s=10, color=hue, alpha=0.45, linewidths=0, rasterized=total > RASTER_ABOVE)
                mids, medians = data.binned_median(xs, ys, step)
                ax.plot(mids, medians, color=hue, linewidth=1.8, label=plain(label))
                failed = data.failure_times(records)
                if failed:
                    ax.plot(failed, [0.0] * len(failed), "|", color=hue, markersize=12, transform=ax.get_xaxis_transform())
            ax.set_xlabel("request sent at (s from the start)")
            ax.set_ylabel(name)
            ax.set_xlim(0, end)
            ax.set_ylim(bottom=0)
        _figure_legend(fig, axes[0])
        svg = p.svg(fig)
    return svg, f"a dot per completed request; the line is the median per {step:g} s; ticks at the bottom mark failed requests."


def throughput_over_time(p: Plotter, runs: list[tuple[str, str, Run]]) -> tuple[str, str]:
    """Output tokens/s in narrow bins; finished requests/s in bins wide enough to hold several
    requests each (a few requests a bin would draw a comb of zeros and spikes)."""
    end = max(data.run_end(run) for _, _, run in runs)
    fewest = min(len(data.ok_records(run.records or [])) for _, _, run in runs)
    steps = {"tokens": data.nice_step(end, 40), "requests": data.nice_step(end, min(40, max(4, fewest // 8)))}
    with p.panels(2, "Throughput over time") as (fig, axes):
        for label, hue, run in runs:
            for ax, key in zip(axes, ("tokens", "requests"), strict=True):
                xs, ys = data.throughput(run.records or [], steps[key], data.run_end(run))[key]
                ax.stairs(ys, [*xs, xs[-1] + steps[key]], color=hue, linewidth=1.8, label=plain(label))
        axes[0].set_ylabel("output tokens/s")
        axes[1].set_ylabel("requests finished/s")
        for ax in axes:
            ax.set_xlabel("time (s from the start)")
            ax.set_xlim(0, end)
            ax.set_ylim(bottom=0)
        _figure_legend(fig, axes[0])
        svg = p.svg(fig)
    note = f"tokens per {steps['tokens']:g} s, requests per {steps['requests']:g} s, counted as the summary counts them"
    return svg, note + " (output tokens: the server's usage when it sent one, else events)."


def _marker_styles(sweeps: list[tuple[str, str, Sweep]]) -> list[tuple[str, str]]:
    """Legend entries for the rate markers that some sweep has."""
    styles = []
    if any(sweep.saturation_rate is not None for _, _, sweep in sweeps):
        styles.append((":", "saturation rate"))
    if any(sweep.max_rate_meeting_slo is not None for _, _, sweep in sweeps):
        styles.append(("-.", "highest rate meeting every SLO"))
    return styles


def _sweep_markers(ax: Any, sweep: Sweep, hue: str) -> None:
    if sweep.saturation_rate is not None:
        ax.axvline(sweep.saturation_rate, color=hue, linestyle=":", linewidth=1.4)
    if sweep.max_rate_meeting_slo is not None:
        ax.axvline(sweep.max_rate_meeting_slo, color=hue, linestyle="-.", linewidth=1.0, alpha=0.7)


def _style_legend(fig: Any, sweeps: list[tuple[str, str, Sweep]], styles: list[tuple[str, str]]) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=hue, linewidth=2) for _, hue, _ in sweeps]
    labels = [plain(label) for label, _, _ in sweeps]
    handles += [Line2D([], [], color="#444", linestyle=style) for style, _ in styles]
    labels += [text for _, text in styles]
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 7), fontsize=9)


def latency_against_rate(p: Plotter, sweeps: list[tuple[str, str, Sweep]]) -> str:
    metrics = (("ttft_ms", "TTFT (ms)"), ("itl_ms", "ITL (ms)"), ("e2e_ms", "end to end (ms)"))
    with p.panels(len(metrics), "Latency against request rate", PANEL_HEIGHT_IN + 0.4) as (fig, axes):
        for ax, (metric, name) in zip(axes, metrics, strict=True):
            for _, hue, sweep in sweeps:
                rates = [run.rate for run in sweep.runs]
                for key, style in (("p50", "-"), ("p95", "--")):
                    ax.plot(rates, [data.stat(run.summary, metric, key) for run in sweep.runs], style, marker="o", color=hue)
                _sweep_markers(ax, sweep, hue)
            ax.set_xlabel("request rate (requests/s)")
            ax.set_ylabel(name)
            ax.set_ylim(bottom=0)
        _style_legend(fig, sweeps, [("-", "p50"), ("--", "p95"), *_marker_styles(sweeps)])
        return p.svg(fig)


def throughput_against_rate(p: Plotter, sweeps: list[tuple[str, str, Sweep]]) -> str:
    with p.panels(2, "Throughput against request rate", PANEL_HEIGHT_IN + 0.4) as (fig, axes):
        top = 0.0
        has_goodput = False
        for _, hue, sweep in sweeps:
            rates = [run.rate for run in sweep.runs]
            completed = [data.number(run.summary.get("requests_per_s")) for run in sweep.runs]
            axes[0].plot(rates, completed, "-", marker="o", color=hue)
            goodput = [data.number(run.summary.get("goodput")) for run in sweep.runs]
            if any(g is not None for g in goodput):
                has_goodput = True
                axes[0].plot(rates, goodput, "--", marker="s", color=hue)
            tokens = [data.number(run.summary.get("output_tokens_per_s")) for run in sweep.runs]
            axes[1].plot(rates, tokens, "-", marker="o", color=hue)
            for ax in axes:
                _sweep_markers(ax, sweep, hue)
            top = max([top, *(r or 0.0 for r in rates)])
        axes[0].plot([0, top], [0, top], color="#999", linewidth=0.8, linestyle=(0, (1, 3)))
        axes[0].set_ylabel("requests/s completed")
        axes[1].set_ylabel("output tokens/s")
        for ax in axes:
            ax.set_xlabel("target request rate (requests/s)")
            ax.set_ylim(bottom=0)
        styles = [("-", "completed")] + ([("--", "goodput (meeting every SLO)")] if has_goodput else [])
        _style_legend(fig, sweeps, styles + _marker_styles(sweeps))
        return p.svg(fig)


def distribution_by_rate(p: Plotter, label: str, sweep: Sweep) -> tuple[str, str]:
    """One sweep's TTFT distributions as cumulative curves (several histograms on one axis hide each
    other), one colour per rate, light to dark as the rate rises."""
    from matplotlib import colormaps

    shades = colormaps["viridis"]
    runs = [run for run in sweep.runs if data.values(run.records or [], "ttft_ms")]
    top = 0.0
    with p.panels(1, f"TTFT distribution by rate: {label}") as (fig, (ax,)):
        for i, run in enumerate(runs):
            ordered = sorted(data.values(run.records or [], "ttft_ms"))
            shares = [100.0 * (k + 1) / len(ordered) for k in range(len(ordered))]
            ax.step(
                ordered,
                shares,
                where="post",
                color=shades(0.8 - 0.8 * i / max(len(runs) - 1, 1)),
                linewidth=1.8,
                label=f"{run.rate:g} requests/s",
            )
            top = max(top, percentile(ordered, 99.5))
        ax.set_xlim(right=top)
        ax.set_ylim(0, 101)
        ax.set_xlabel("TTFT (ms)")
        ax.set_ylabel("requests at or below (%)")
        _legend(ax, loc="lower right")
        svg = p.svg(fig)
    return svg, "the share of each rate's requests whose TTFT was at most x; a curve further right is slower."
