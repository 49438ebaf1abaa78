"""``streamchat bench report RUN.json [RUN2.json ...] -o report.html``: one self-contained HTML page.

The page needs nothing from the network (the plots are inline SVG, the style is inline CSS, there
is no script), so it opens anywhere, attached to a CI run or mailed. Plots come from matplotlib, the
optional extra ``streamchat[report]``, imported only here. Runs given together share each plot's
axes, one colour a run, the same colour in the tables.
"""

from __future__ import annotations

import html
import os
import sys
import tempfile
from typing import Any

from .. import __version__
from ..errors import UsageError
from . import report_data as data
from .metrics import STAT_KEYS
from .report_data import Inputs, Sweep

INSTALL_HINT = "install the extra: python3 -m pip install 'streamchat[report]'"
NO_RECORDS = "no per-request records (a summary only, as bench -o json wrote before it kept them; -o ndjson keeps them too)"
HEADLINE = (("ttft_ms", "p50"), ("ttft_ms", "p95"), ("itl_ms", "p50"), ("itl_ms", "p95"), ("e2e_ms", "p95"))  # the tables' latency columns
HEADLINE_HEAD = ["TTFT p50", "TTFT p95", "ITL p50", "ITL p95", "E2E p95"]
LATENCIES = (("ttft_ms", "TTFT"), ("itl_ms", "ITL"), ("tpot_ms", "TPOT"), ("e2e_ms", "end to end"), ("schedule_lag_ms", "schedule lag"))
STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;max-width:1240px;margin:0 auto;padding:16px 24px}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1.6em 0 .4em;border-bottom:1px solid #ddd}h3{font-size:1em;margin:.6em 0 .3em}
table{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums;margin:.3em 0 1em}
th,td{padding:3px 7px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}th{background:#f6f6f6;white-space:normal;vertical-align:bottom}
th:first-child,td:first-child{text-align:left}.swatch{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.4em}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:0 24px}.facts{font-size:13px;color:#444;margin:0 0 .3em}
figure{margin:1em 0 1.6em}figcaption{font-size:13px;color:#555}.skipped{color:#8a5a00;font-size:14px}.bad{color:#b00020}.good{color:#1b7f2a}
.scroll{overflow-x:auto}
"""


def load_plotter() -> Any:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("bench report draws its plots with matplotlib, which is not installed", hint=INSTALL_HINT) from None
    from .report_plots import Plotter

    return Plotter()


def write_report(paths: list[str], output: str, title: str | None, quiet: bool) -> int:
    if output == "-" and sys.stdout.isatty():
        raise UsageError("the report is an HTML page: give -o FILE (or redirect stdout)")
    inputs = data.read_inputs(paths)
    page = Page(inputs, load_plotter(), title or "streamchat bench report")
    text = page.render()
    if output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        save(output, text)
    if not quiet:
        for note in page.skipped:
            print(f"streamchat: skipped: {note}", file=sys.stderr)
        where = "stdout" if output == "-" else output
        print(f"streamchat: wrote {where}: {page.figures} plots, {len(page.skipped)} skipped", file=sys.stderr)
    return 0


def save(path: str, text: str) -> None:
    """Written beside the target and renamed over it: a reader never sees half a page."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, temp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=folder)
    except OSError as exc:
        raise UsageError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except OSError as exc:
        os.unlink(temp)
        raise UsageError(f"cannot write {path!r}: {exc.strerror or exc}") from None


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: Any, digits: int = 1) -> str:
    number = data.number(value)
    return "–" if number is None else f"{number:,.{digits}f}"


class Page:
    """The page, built section by section; ``skipped`` says which plots could not be drawn and why."""

    def __init__(self, inputs: Inputs, plotter: Any, title: str) -> None:
        from . import report_plots

        self.inputs = inputs
        self.plots = report_plots
        self.plotter = plotter
        self.title = title
        self.colours = {label: report_plots.colour(i) for i, label in enumerate(inputs.order)}
        self.skipped: list[str] = []
        self.figures = 0

    def render(self) -> str:
        body = [f"<h1>{esc(self.title)}</h1>", self.sources()]
        if self.inputs.runs:
            body += ["<h2>Runs</h2>", self.overview(), self.run_plots(), "<h2>Each run</h2>", self.cards()]
        for sweep in self.inputs.sweeps:
            body += [f"<h2>{self.swatch(sweep.label)}Sweep: {esc(sweep.label)}</h2>", self.sweep_table(sweep)]
        if self.inputs.sweeps:
            body.append(self.sweep_plots())
        if self.skipped:
            body.insert(2, '<p class="skipped">Skipped: ' + "; ".join(esc(s) for s in self.skipped) + ".</p>")
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{esc(self.title)}</title><style>{STYLE}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
        )

    def swatch(self, label: str) -> str:
        return f'<span class="swatch" style="background:{self.colours[label]}"></span>'

    def sources(self) -> str:
        items = []
        for label in self.inputs.order:
            sweep = next((s for s in self.inputs.sweeps if s.label == label), None)
            kind = f"a sweep of {len(sweep.runs)} rates" if sweep else "a run"
            items.append(f"{self.swatch(label)}<b>{esc(label)}</b> ({kind})")
        return f'<p class="facts">streamchat {esc(__version__)}; ' + ", ".join(items) + ".</p>"

    def figure(self, name: str, title: str, svg: str, note: str = "") -> str:
        self.figures += 1
        caption = f"<b>{esc(title)}</b>" + (f": {esc(note)}" if note else "")
        return f'<figure class="plot" id="plot-{esc(name)}">{svg}<figcaption>{caption}</figcaption></figure>'

    # Runs.

    def overview(self) -> str:
        has_checks = any(isinstance(r.summary.get("checks"), list) for r in self.inputs.runs)
        has_goodput = any("goodput" in r.summary for r in self.inputs.runs)
        head = ["run", "requests", "ok", "failed", "wall s", "requests/s", "output tokens/s", *HEADLINE_HEAD]
        head += (["goodput/s"] if has_goodput else []) + (["checks"] if has_checks else []) + ["records"]
        rows = []
        for run in self.inputs.runs:
            s = run.summary
            cells = [
                self.swatch(run.label) + esc(run.label),
                esc(s.get("requests")),
                esc(s.get("ok")),
                self.failures(s),
                fmt(s.get("wall_s"), 2),
                fmt(s.get("requests_per_s"), 2),
                fmt(s.get("output_tokens_per_s")),
            ]
            cells += [fmt(data.stat(s, m, k)) for m, k in HEADLINE]
            cells += [fmt(s.get("goodput"), 2)] if has_goodput else []
            cells += [self.checks_cell(s)] if has_checks else []
            cells.append(f"{len(run.records):,}" if run.records is not None else "none")
            rows.append(cells)
        return table(head, rows, "Latencies in ms.")

    @staticmethod
    def failures(summary: dict[str, Any]) -> str:
        failed = summary.get("failed")
        errors = summary.get("errors")
        kinds = ", ".join(f"{esc(k)} {esc(v)}" for k, v in errors.items()) if isinstance(errors, dict) and errors else ""
        text = esc(failed if failed is not None else "–") + (f" ({kinds})" if kinds else "")
        return f'<span class="bad">{text}</span>' if data.number(failed) else text

    @staticmethod
    def checks_cell(summary: dict[str, Any]) -> str:
        checks = [c for c in summary.get("checks") or [] if isinstance(c, dict)]
        if not checks:
            return "–"
        met = sum(1 for c in checks if c.get("ok") is True)
        return f'<span class="{"good" if met == len(checks) else "bad"}">{met}/{len(checks)} met</span>'

    def cards(self) -> str:
        out = []
        for run in self.inputs.runs:
            rows = []
            for metric, name in LATENCIES:
                if isinstance(run.summary.get(metric), dict):
                    rows.append([esc(name)] + [fmt(data.stat(run.summary, metric, k)) for k in STAT_KEYS])
            body = table(["ms", *STAT_KEYS], rows) if rows else "<p>No completed request.</p>"
            out.append(
                f"<div><h3>{self.swatch(run.label)}{esc(run.label)}</h3>{self.facts(run.summary)}{body}{self.checks_table(run.summary)}</div>"
            )
        return '<div class="cards">' + "".join(out) + "</div>"

    @staticmethod
    def facts(s: dict[str, Any]) -> str:
        facts = []
        if data.number(s.get("target_rate")) is not None:
            facts.append(f"rate {fmt(s.get('achieved_rate'), 2)} requests/s achieved of {fmt(s.get('target_rate'), 2)} targeted")
        if data.number(s.get("incomplete")):
            facts.append(f"{esc(s['incomplete'])} incomplete")
        sources = s.get("tokens_source")
        if isinstance(sources, dict) and sources:
            facts.append("output tokens from " + ", ".join(f"{esc(k)} ({esc(v)})" for k, v in sources.items()))
        if data.number(s.get("workers")) and s.get("workers") != 1:
            facts.append(f"{esc(s['workers'])} workers")
        lag = s.get("client_loop_lag_ms")
        if isinstance(lag, dict) and data.number(lag.get("p99")) is not None:
            text = f"client loop lag p99 {fmt(lag.get('p99'))} ms"
            facts.append(f'<span class="bad">{text}: latencies include client overhead</span>' if lag.get("warning") is True else text)
        check = s.get("self_check")
        if isinstance(check, dict):
            for key, value in check.items():
                diff = value.get("measured_minus_configured") if isinstance(value, dict) else None
                if isinstance(diff, dict):
                    facts.append(
                        f"self-check {esc(key)}: measured − configured mean {fmt(diff.get('mean'))} ms, p95 {fmt(diff.get('p95'))} ms"
                    )
        return f'<p class="facts">{"; ".join(facts)}</p>' if facts else ""

    @staticmethod
    def checks_table(s: dict[str, Any]) -> str:
        checks = [c for c in s.get("checks") or [] if isinstance(c, dict)]
        rows = [
            [
                esc(c.get("name")),
                esc(c.get("limit")),
                fmt(c.get("value"), 2),
                '<span class="good">met</span>' if c.get("ok") is True else '<span class="bad">failed</span>',
            ]
            for c in checks
        ]
        return table(["check", "limit", "value", ""], rows) if rows else ""

    def run_plots(self) -> str:
        runs = self.inputs.runs
        bars = self.plots.percentiles(self.plotter, [(r.label, self.colours[r.label], r.summary) for r in runs])
        out = [self.figure("percentiles", "Latency percentiles", bars, "from each run's summary, so drawn for runs without records too.")]
        with_records = [r for r in runs if r.records]
        missing = [r.label for r in runs if not r.records]
        record_plots = ("TTFT distribution", "ITL distribution", "latency over time", "throughput over time")
        if missing:
            drawn = "show the other runs only" if with_records else "are not drawn"
            self.skipped.append(f"{', '.join(missing)}: {NO_RECORDS}; {', '.join(record_plots[:-1])} and {record_plots[-1]} {drawn}")
        if not with_records:
            return "\n".join(out)
        for name, title, unit, pick in (
            ("ttft-distribution", "TTFT distribution", "TTFT (ms)", lambda r: data.values(r, "ttft_ms")),
            ("itl-distribution", "ITL distribution", "inter-token latency (ms)", data.gaps),
        ):
            series = [(r.label, self.colours[r.label], pick(r.records)) for r in with_records]
            series = [s for s in series if s[2]]
            if series:
                out.append(self.figure(name, title, *self.plots.distribution(self.plotter, title, unit, series)))
            else:
                self.skipped.append(f"{title}: no completed request has one")
        tagged = [(r.label, self.colours[r.label], r) for r in with_records]
        out.append(self.figure("latency-over-time", "Latency over time", *self.plots.latency_over_time(self.plotter, tagged)))
        out.append(self.figure("throughput-over-time", "Throughput over time", *self.plots.throughput_over_time(self.plotter, tagged)))
        return "\n".join(out)

    # Sweeps.

    def sweep_table(self, sweep: Sweep) -> str:
        head = ["rate/s", "achieved/s", "ok", "failed", "output tokens/s", *HEADLINE_HEAD, "checks"]
        rows = []
        for run in sweep.runs:
            s = run.summary
            achieved = s.get("achieved_rate", s.get("requests_per_s"))
            cells = [fmt(run.rate, 2), fmt(achieved, 2), esc(s.get("ok")), self.failures(s), fmt(s.get("output_tokens_per_s"))]
            cells += [fmt(data.stat(s, m, k)) for m, k in HEADLINE]
            cells.append(self.checks_cell(s))
            rows.append(cells)
        note = f"Saturation rate {fmt(sweep.saturation_rate, 2)} requests/s; highest rate meeting every SLO {fmt(sweep.max_rate_meeting_slo, 2)}."
        return table(head, rows, note + " Latencies in ms.")

    def sweep_plots(self) -> str:
        tagged = [(s.label, self.colours[s.label], s) for s in self.inputs.sweeps]
        out = [
            self.figure(
                "latency-against-rate",
                "Latency against request rate",
                self.plots.latency_against_rate(self.plotter, tagged),
                "a point per rate of the sweep, from its summary.",
            ),
            self.figure(
                "throughput-against-rate",
                "Throughput against request rate",
                self.plots.throughput_against_rate(self.plotter, tagged),
                "requests completed (and goodput) per second of the run's wall time; the grey dotted diagonal is completed = target, "
                "which a server keeping up approaches as runs get longer.",
            ),
        ]
        for number, sweep in enumerate(self.inputs.sweeps, 1):
            if any(data.values(run.records or [], "ttft_ms") for run in sweep.runs):
                title = f"TTFT distribution by rate: {sweep.label}"
                out.append(
                    self.figure(
                        f"sweep-{number}-ttft-distribution", title, *self.plots.distribution_by_rate(self.plotter, sweep.label, sweep)
                    )
                )
            else:
                self.skipped.append(f"{sweep.label}: {NO_RECORDS}; its TTFT distribution by rate is not drawn")
        return "\n".join(out)


def table(head: list[str], rows: list[list[str]], note: str = "") -> str:
    """Cells arrive escaped (some carry markup of ours)."""
    top = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    caption = f'<p class="facts">{esc(note)}</p>' if note else ""
    return f'<div class="scroll"><table><thead><tr>{top}</tr></thead><tbody>{body}</tbody></table></div>{caption}'
