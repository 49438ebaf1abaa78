"""``bench report``: one HTML page, offline, a figure per plot, several runs side by side, sweeps.

The fixtures in tests/data/bench are real bench runs (make_fixtures.py there remakes them). Pages are
made in-process; the CLI runs in a subprocess only where the exit status or a missing extra is the
point.
"""

from __future__ import annotations

import html
import json
import os
from html.parser import HTMLParser

import pytest
from conftest import ROOT, clean_env, run_cli, run_exe
from test_startup import imported_after

from streamchat.bench.report import write_report
from streamchat.bench.report_data import nice_step, throughput, unique_labels
from streamchat.errors import UsageError

DATA = os.path.join(ROOT, "tests", "data", "bench")
RUN_C8 = os.path.join(DATA, "run_c8.json")
RUN_C32 = os.path.join(DATA, "run_c32.json")
SWEEP = os.path.join(DATA, "sweep.json")
SUMMARY_ONLY = os.path.join(DATA, "summary_only.json")
RUN_PLOTS = ["percentiles", "ttft-distribution", "itl-distribution", "latency-over-time", "throughput-over-time"]
SWEEP_PLOTS = ["latency-against-rate", "throughput-against-rate", "sweep-1-ttft-distribution"]
# Attributes that make a browser fetch something.
LOADING = {"src", "href", "xlink:href", "srcset", "poster", "data", "action", "background"}


class Page(HTMLParser):
    """What a test needs of a page: its figures (with the text of their SVG), tags, loaded URLs."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.figures: dict[str, dict] = {}
        self.tags: list[str] = []
        self.loads: list[str] = []
        self.styles: list[str] = []
        self.table_rows = 0
        self._figure: dict | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        self.loads += [value for name, value in attrs.items() if name in LOADING and value and not value.startswith(("#", "data:"))]
        self.styles.append(attrs.get("style") or "")
        if tag == "tr":
            self.table_rows += 1
        if tag == "figure":
            self._figure = self.figures.setdefault(attrs.get("id", ""), {"svg": 0, "texts": [], "colours": set()})
        if self._figure is not None:
            self._figure["svg"] += tag == "svg"
            for value in (attrs.get("style") or "").split(";"):
                if value.strip().startswith(("stroke:", "fill:")):
                    self._figure["colours"].add(value.split(":", 1)[1].strip())

    def handle_endtag(self, tag):
        if tag == "figure":
            self._figure = None

    def handle_comment(self, data):
        if self._figure is not None:  # matplotlib keeps each text it drew as paths in a comment
            self._figure["texts"].append(html.unescape(data.strip()))

    def handle_data(self, data):
        if self.tags and self.tags[-1] == "style":
            self.styles.append(data)


def make(tmp_path, *paths: str) -> tuple[Page, str]:
    out = tmp_path / "report.html"
    assert write_report(list(paths), str(out), None, quiet=False) == 0
    return Page(out.read_text(encoding="utf-8")), out.read_text(encoding="utf-8")


def assert_offline(page: Page, text: str) -> None:
    assert page.loads == []
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.tags)
    assert not any("url(" in style and "url(#" not in style for style in page.styles)
    assert "@import" not in text


def test_one_run_has_a_figure_per_plot_and_loads_nothing(tmp_path, capsys):
    page, text = make(tmp_path, RUN_C8)
    assert list(page.figures) == [f"plot-{name}" for name in RUN_PLOTS]
    assert all(figure["svg"] == 1 for figure in page.figures.values())
    assert_offline(page, text)
    assert "5 plots, 0 skipped" in capsys.readouterr().err
    # The summary table shows the run's own numbers.
    summary = json.load(open(RUN_C8, encoding="utf-8"))
    assert f"{summary['ttft_ms']['p95']:,.1f}" in text and f"{summary['output_tokens_per_s']:,.1f}" in text
    assert "TTFT (ms)" in page.figures["plot-latency-over-time"]["texts"]


def test_several_runs_share_each_plot_with_a_colour_and_a_legend_entry_each(tmp_path):
    page, text = make(tmp_path, RUN_C8, RUN_C32)
    assert list(page.figures) == [f"plot-{name}" for name in RUN_PLOTS]
    for name, figure in page.figures.items():
        assert {"run_c8", "run_c32"} <= set(figure["texts"]), name  # the legend
        assert {"#1f77b4", "#ff7f0e"} <= figure["colours"], name  # each run drawn in its colour
    # One summary table row per run, the failures by kind.
    assert text.count("run_c32") >= 3 and "http_503 4" in text
    assert_offline(page, text)


def test_a_sweep_gets_latency_and_throughput_against_rate(tmp_path):
    page, text = make(tmp_path, SWEEP)
    assert list(page.figures) == [f"plot-{name}" for name in SWEEP_PLOTS]
    sweep = json.load(open(SWEEP, encoding="utf-8"))
    rates = [f"{entry['rate']:g} requests/s" for entry in sweep["sweep"]]
    assert set(rates) <= set(page.figures["plot-sweep-1-ttft-distribution"]["texts"])
    assert "saturation rate" in page.figures["plot-latency-against-rate"]["texts"]
    assert f"Saturation rate {sweep['saturation_rate']:,.2f} requests/s" in text
    assert_offline(page, text)


def test_runs_and_a_sweep_together(tmp_path):
    page, _ = make(tmp_path, RUN_C8, RUN_C32, SWEEP)
    assert list(page.figures) == [f"plot-{name}" for name in RUN_PLOTS + SWEEP_PLOTS]


def test_a_run_without_records_keeps_what_its_summary_can_show_and_says_what_it_skipped(tmp_path, capsys):
    page, text = make(tmp_path, SUMMARY_ONLY)
    assert list(page.figures) == ["plot-percentiles"]
    err = capsys.readouterr().err
    assert "streamchat: skipped: summary_only: no per-request records" in err and "1 plots, 1 skipped" in err
    assert "Skipped: summary_only: no per-request records" in text and "TTFT distribution" in text
    # Beside a run with records, the record plots show that run alone.
    page, _ = make(tmp_path, SUMMARY_ONLY, RUN_C32)
    assert list(page.figures) == [f"plot-{name}" for name in RUN_PLOTS]
    assert "summary_only" not in page.figures["plot-ttft-distribution"]["texts"]
    assert "summary_only" in page.figures["plot-percentiles"]["texts"]


def test_ndjson_output_is_a_run_with_records(server, tmp_path):
    """What bench -o ndjson writes today (records, then the summary) is one file a report reads."""
    r = run_cli(
        "bench", "--url", server.url + "/v1/chat/completions", "-m", "m", "--requests", "16", "--concurrency", "4", "-q", "-o", "ndjson"
    )
    assert r.code == 0, r.stderr
    path = tmp_path / "live.ndjson"
    path.write_bytes(r.stdout)
    page, text = make(tmp_path, str(path))
    assert list(page.figures) == [f"plot-{name}" for name in RUN_PLOTS]
    assert ">16</td>" in text  # the records column: every record was read


def test_hostile_names_and_values_are_text_not_markup(tmp_path):
    summary = json.load(open(RUN_C32, encoding="utf-8"))
    summary["errors"] = {'<img src="http://127.0.0.1/x">': 1}
    summary["records"][0]["ttft_ms"] = "fast"  # wrong types are left out, never a crash
    summary["records"][1]["itl_ms"] = {"not": "a list"}
    summary["records"][2] = ["not", "a", "record"]
    summary["ttft_ms"] = "n/a"
    path = tmp_path / "<script>$^$ run.json"  # also broken math for matplotlib, had it read $...$ as math
    path.write_text(json.dumps(summary), encoding="utf-8")
    page, text = make(tmp_path, str(path))
    assert "<script>" not in text and "&lt;script&gt;$^$ run" in text and "&lt;img src=" in text
    assert_offline(page, text)
    assert "<script>$^$ run" in page.figures["plot-percentiles"]["texts"]  # matplotlib drew it as written


@pytest.mark.parametrize(
    "content,message",
    [
        ('{"hello": "world"}\n', "not a bench run"),
        ("this is not json\n", "not a bench run"),
        ('{"sweep": [{"rate": "fast"}]}\n', "not a bench run"),
        (None, "cannot read"),
    ],
)
def test_a_file_that_is_not_a_bench_run_exits_2_in_one_line(tmp_path, content, message):
    path = tmp_path / "input.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    r = run_cli("bench", "report", str(path), "-o", str(tmp_path / "out.html"))
    assert r.code == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("streamchat: error: "), r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out.html").exists()


def test_without_the_extra_it_exits_2_with_the_install_hint(tmp_path):
    blocker = tmp_path / "blocker" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named matplotlib')\n")
    env = clean_env(PYTHONPATH=os.pathsep.join((str(blocker.parent), ROOT)))  # (a fresh interpreter: this one has matplotlib)
    r = run_exe("bench", "report", RUN_C8, "-o", str(tmp_path / "out.html"), env=env)
    assert r.code == 2 and "pip install 'streamchat[report]'" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_a_bench_run_imports_neither_matplotlib_nor_ray(server):
    """(Help never imports them either: test_startup.py's HEAVY holds both.)"""
    args = ["bench", "--url", server.url + "/v1/chat/completions", "-m", "m", "--requests", "2", "-q"]
    assert imported_after(args, ("matplotlib", "ray")) in ([], [""])


def test_labels_are_file_names_made_unique():
    assert unique_labels(["a/run.json", "b/run.json", "c.json"]) == ["a/run", "b/run", "c"]
    assert unique_labels(["x.json", "x.json"]) == ["x", "x'"]


def test_throughput_counts_tokens_as_the_summary_does():
    # Two events, usage 10 tokens: each event counts 5; tokens at 0.1 s and 0.6 s, the request ends at 0.7 s.
    records = [{"status": "ok", "start_s": 0.0, "ttft_ms": 100.0, "itl_ms": [500.0], "e2e_ms": 700.0, "output_tokens": 10}]
    series = throughput(records, 0.5, 1.0)
    assert series["tokens"] == ([0.0, 0.5], [10.0, 10.0])
    assert series["requests"] == ([0.0, 0.5], [0.0, 2.0])
    assert nice_step(30, 60) == 0.5 and nice_step(100, 40) == 5


def test_writing_to_a_missing_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="cannot write"):
        write_report([SUMMARY_ONLY], str(tmp_path / "no" / "such" / "report.html"), None, quiet=True)
