"""bench: metric arithmetic on hand-made timelines, compare's exit codes, small end-to-end runs."""

from __future__ import annotations

import json
import math
import re

import pytest
from conftest import run_cli, seen_by

from streamchat.bench.metrics import compare, describe, percentile, summarise, tpot_ms
from streamchat.bench.runner import Timeline


def test_percentiles_interpolate():
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 50) == 2.5 and percentile(values, 0) == 1.0 and percentile(values, 100) == 4.0
    assert math.isnan(percentile([], 50))
    assert describe([5.0]) == {k: 5.0 for k in ("mean", "min", "p50", "p90", "p95", "p99", "max")}


def test_timeline_ttft_itl_tpot_exclude_the_first_token():
    t = Timeline(intended=9.990, sent=10.000)
    t.tokens = [10.100, 10.110, 10.110, 10.130]  # two tokens in one read: a 0 ms gap, not one token per chunk
    t.end = 10.140
    t.usage_tokens = 7  # the server's count wins over events
    t.done = True
    r = t.record("ok")
    assert round(r["ttft_ms"], 6) == 100.0 and round(r["schedule_lag_ms"], 6) == 10.0
    assert round(r["ttft_from_intended_ms"], 6) == 110.0
    assert [round(g, 6) for g in r["itl_ms"]] == [10.0, 0.0, 20.0]
    assert round(r["e2e_ms"], 6) == 140.0 and r["output_tokens"] == 7 and r["tokens_source"] == "usage"
    assert round(r["tpot_ms"], 6) == round((140.0 - 100.0) / 6, 6)
    assert tpot_ms(50.0, 10.0, 1) is None


def test_failed_requests_are_counted_and_kept_out_of_latencies():
    ok = {"status": "ok", "ttft_ms": 10.0, "itl_ms": [1.0], "e2e_ms": 20.0, "output_tokens": 2, "tokens_source": "events", "tpot_ms": 10.0}
    records = [ok, {"status": "http_503", "schedule_lag_ms": 0.0}, {"status": "timeout"}]
    s = summarise(records, wall_s=2.0)
    assert s["ok"] == 1 and s["failed"] == 2 and s["errors"] == {"http_503": 1, "timeout": 1}
    assert s["ttft_ms"]["max"] == 10.0 and s["requests_per_s"] == 0.5 and s["output_tokens_per_s"] == 1.0


def test_merging_equals_computing_over_all_samples():
    a = [{"status": "ok", "ttft_ms": float(i), "itl_ms": [float(i)], "e2e_ms": 2.0 * i, "output_tokens": 2} for i in range(10)]
    b = [{"status": "ok", "ttft_ms": float(i), "itl_ms": [float(i)], "e2e_ms": 2.0 * i, "output_tokens": 2} for i in range(10, 25)]
    assert summarise(a + b, 1.0)["ttft_ms"] == summarise(b + a, 1.0)["ttft_ms"] == describe([float(i) for i in range(25)])


def test_compare_flags_regressions():
    base = {"ok": 10, "failed": 0, "requests": 10, "ttft_ms": {"p50": 100.0, "p95": 200.0}, "requests_per_s": 10.0}
    same = json.loads(json.dumps(base))
    assert compare(base, same, 10) == []
    worse = {**base, "ttft_ms": {"p50": 130.0, "p95": 200.0}, "requests_per_s": 5.0}
    found = compare(base, worse, 10)
    assert any("ttft_ms p50" in f for f in found) and any("requests_per_s" in f for f in found)


def test_compare_exit_codes(tmp_path):
    base = {"requests": 4, "ok": 4, "failed": 0, "ttft_ms": {"p50": 100.0, "p95": 120.0}, "requests_per_s": 10.0}
    (tmp_path / "a.json").write_text(json.dumps(base))
    (tmp_path / "b.json").write_text(json.dumps({**base, "ttft_ms": {"p50": 200.0, "p95": 240.0}}))
    assert run_cli("bench", "compare", str(tmp_path / "a.json"), str(tmp_path / "a.json")).code == 0
    r = run_cli("bench", "compare", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--threshold", "10")
    assert r.code == 8 and "ttft_ms p50" in r.stderr
    assert run_cli("bench", "compare", str(tmp_path / "a.json"), str(tmp_path / "missing.json")).code == 2


@pytest.mark.parametrize(
    "odd",
    [{"ttft_ms": 5}, {"ttft_ms": {"p50": "fast"}}, {"failed": None}, {"failed": "2"}, {"requests_per_s": [1]}, {"ttft_ms": {"p50": True}}],
)
def test_compare_reads_a_summary_with_odd_values_without_crashing(tmp_path, odd):
    # before: "internal error: AttributeError: 'int' object has no attribute 'get'" (and TypeError for failed)
    base = {"requests": 4, "ok": 4, "failed": 1, "ttft_ms": {"p50": 100.0}, "requests_per_s": 10.0}
    (tmp_path / "a.json").write_text(json.dumps(base))
    (tmp_path / "b.json").write_text(json.dumps({**base, **odd}))
    for first, second in (("a", "b"), ("b", "a")):
        r = run_cli("bench", "compare", str(tmp_path / f"{first}.json"), str(tmp_path / f"{second}.json"))
        assert r.code in (0, 8) and "internal error" not in r.stderr, r.stderr


def test_end_to_end_sse_and_ws(server, tmp_path):
    recs = tmp_path / "r.ndjson"
    r = run_cli(
        "bench",
        "--url",
        server.url + "/api/chat/stream",
        "--requests",
        "6",
        "--concurrency",
        "3",
        "-o",
        "json",
        "-q",
        "--records",
        str(recs),
    )
    assert r.code == 0, r.stderr
    s = json.loads(r.out)
    assert s["ok"] == 6 and s["ttft_ms"]["p50"] >= 0 and s["tokens_source"] == {"usage": 6}
    assert len(recs.read_text().splitlines()) == 6
    r = run_cli(
        "bench", "--url", server.url + "/api/chat/ws", "--transport", "ws", "--requests", "4", "--concurrency", "2", "-o", "ndjson", "-q"
    )
    lines = r.lines()
    assert r.code == 0 and len(lines) == 5 and lines[-1]["ok"] == 4


def test_failures_are_counted(server):
    r = run_cli(
        "bench", "--url", server.url + "/api/chat/stream", "--requests", "4", "-H", "X-Streamchat-Fault: status=503", "-o", "json", "-q"
    )
    s = json.loads(r.out)
    assert s["failed"] == 4 and s["errors"] == {"http_503": 4} and s["ttft_ms"] is None


# -- the raw HTTP/1.1 client bench uses, on every body framing a server may choose ----------------

OPENAI_STREAM = (
    b"".join(b'data: {"choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n' % w for w in (b"a", b"b", b"c"))
    + b'data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":3}}\n\ndata: [DONE]\n\n'
)


def _load(url, **kw):
    import asyncio

    from streamchat.bench.runner import LoadSpec, run_load
    from streamchat.protocol.requests import ChatRequest

    spec = LoadSpec(url, dialect=kw.pop("dialect", "openai"), prompts=[ChatRequest(message="hi", model_id="m")], **kw)
    records, wall, _lag = asyncio.run(run_load(spec))
    return records


def test_raw_client_reads_every_framing_in_any_number_of_pieces():
    import pytest
    from raw_servers import raw_server

    for framing in ("chunked", "length", "close"):
        for pieces in (1, 7, len(OPENAI_STREAM)):
            with raw_server(OPENAI_STREAM, framing=framing, pieces=pieces) as url:
                records = _load(url, requests=3, concurrency=2)
            assert [r["status"] for r in records] == ["ok"] * 3, (framing, pieces)
            assert all(r["output_tokens"] == 3 and r["tokens_source"] == "usage" and len(r["itl_ms"]) == 2 for r in records)
    with pytest.raises(Exception):  # noqa: B017 - a URL that is not http(s) is refused up front
        _load("ftp://127.0.0.1/x", requests=1)


def test_raw_client_counts_truncation_and_status_errors():
    from raw_servers import raw_server

    with raw_server(OPENAI_STREAM, framing="chunked", truncate=60) as url:
        records = _load(url, requests=2, concurrency=1)
    assert {r["status"] for r in records} == {"connection_lost"} and all("ttft_ms" not in r for r in records)
    with raw_server(OPENAI_STREAM, framing="close", truncate=60) as url:
        records = _load(url, requests=2, concurrency=1)
    assert {r["status"] for r in records} == {"truncated"}  # a close-delimited body ended before [DONE]
    with raw_server(b'{"error":"busy"}', framing="length", status="429 Too Many Requests", content_type="application/json") as url:
        records = _load(url, requests=2, concurrency=1)
    assert {r["status"] for r in records} == {"http_429"}


def test_keep_alive_reuses_one_connection_a_lane(server):
    # (by a header of its own, not by position: the server keeps a bounded record, full after many tests)
    headers = {"X-Test-Id": "keep-alive-lanes"}
    records = _load(server.url + "/api/chat/stream", dialect="streamchat", requests=8, concurrency=2, warmup=2, headers=headers)
    assert [r["id"] for r in sorted(records, key=lambda r: r["id"])] == list(range(8))
    assert all(r["status"] == "ok" for r in records)
    seen = seen_by(server, "keep-alive-lanes")
    assert len(seen) == 10  # warmup requests were sent, not recorded
    assert len({r.client for r in seen}) == 2  # two lanes, two keep-alive connections


# -- worker processes: split, merge, failures -----------------------------------------------------


def test_split_shares_add_up_to_the_whole_load():
    from streamchat.bench.runner import LoadSpec
    from streamchat.bench.workers import split

    spec = LoadSpec("http://127.0.0.1:1/x", requests=10, concurrency=5, warmup=3)
    shares = split(spec, 3)
    assert [s.requests for s in shares] == [4, 3, 3] and [s.concurrency for s in shares] == [2, 2, 1]
    assert [s.first_id for s in shares] == [0, 4, 7] and sum(s.warmup for s in shares) == 3
    assert len(split(LoadSpec("http://127.0.0.1:1/x", requests=10, concurrency=2), 4)) == 2  # never more workers than lanes
    rated = split(LoadSpec("http://127.0.0.1:1/x", requests=9, concurrency=None, rate=30.0, arrival="constant"), 3)
    assert [s.rate for s in rated] == [10.0] * 3 and [round(s.phase, 6) for s in rated] == [0.0, round(1 / 30, 6), round(2 / 30, 6)]


def test_workers_merge_exactly(server, tmp_path):
    from streamchat.bench.metrics import summarise

    recs = tmp_path / "r.ndjson"
    r = run_cli(
        "bench", "--url", server.url + "/api/chat/stream", "--requests", "12", "--concurrency", "4", "--workers", "2",
        "--warmup", "2", "-o", "json", "-q", "--records", str(recs),
    )  # fmt: skip
    assert r.code == 0, r.stderr
    summary = json.loads(r.out)
    records = [json.loads(line) for line in recs.read_text().splitlines()]
    assert sorted(rec["id"] for rec in records) == list(range(12)) and summary["workers"] == 2
    again = summarise(records, summary["wall_s"])
    for key in ("ok", "failed", "ttft_ms", "itl_ms", "tpot_ms", "e2e_ms", "output_tokens", "requests_per_s"):
        assert again[key] == summary[key], key


def test_a_failed_worker_is_reported_not_hidden(server):
    import asyncio
    from dataclasses import replace

    from streamchat.bench.metrics import summarise
    from streamchat.bench.runner import LoadSpec
    from streamchat.bench.workers import WORKER_FAILED, run_processes, split
    from streamchat.protocol.requests import ChatRequest

    spec = LoadSpec(server.url + "/api/chat/stream", requests=6, concurrency=2, prompts=[ChatRequest(message="hi")])
    good, bad = split(spec, 2)
    bad = replace(bad, url="ftp://127.0.0.1:1/nowhere")  # this worker fails before its first request
    seen = []
    records, wall, _lag = asyncio.run(run_processes([good, bad], seen.append))
    assert len(records) == len(seen) == 6
    s = summarise(records, wall)
    assert s["ok"] == 3 and s["errors"] == {WORKER_FAILED: 3}


def test_rate_reports_achieved_against_target(server):
    r = run_cli(
        "bench", "--url", server.url + "/api/chat/stream", "--requests", "10", "--rate", "50", "--arrival", "constant", "-o", "json", "-q"
    )  # fmt: skip
    s = json.loads(r.out)
    assert r.code == 0 and s["ok"] == 10 and s["target_rate"] == 50
    assert 25 < s["achieved_rate"] < 75  # loose: this checks what is reported, not the machine's speed


def test_histogram_bins_cover_every_value():
    from streamchat.bench.metrics import histogram

    values = [1.0, 2.0, 2.5, 9.0, 10.0]
    rows = histogram(values, bins=3)
    assert sum(c for _, _, c in rows) == 5 and rows[0][0] == 1.0 and rows[-1][1] == 10.0
    assert histogram([4.0, 4.0]) == [(4.0, 4.0, 2)] and histogram([]) == []


def test_table_on_stderr_has_histogram_and_self_check():
    r = run_cli("bench", "--requests", "8", "--concurrency", "4", "--server-tokens", "8", "--server-itl-ms", "2", "--server-ttft-ms", "5")
    assert r.code == 0, r.stderr
    assert "ttft_ms histogram:" in r.stderr and "self-check ttft_ms" in r.stderr and not r.out
    # With no URL configured bench says what chat, ws-chat and camera say, word for word.
    assert re.match(r"streamchat: no --url given; using the built-in demo server at http://127\.0\.0\.1:\d+\n", r.stderr), r.stderr


def test_progress_bar_on_a_terminal_only(server):
    """stderr a terminal: a redrawn progress line, erased before the table; not a terminal: none."""
    import sys

    from conftest import run_on_terminal

    cmd = [sys.executable, "-m", "streamchat", "bench", "--url", server.url + "/api/chat/stream", "--requests", "30", "--concurrency", "2"]
    code, seen = run_on_terminal(cmd, "stderr")
    assert code == 0
    assert b"] 30/30 requests, 0 failed" in seen and b"\r\x1b[2K" in seen and b"requests: 30 ok" in seen
    plain = run_cli("bench", "--url", server.url + "/api/chat/stream", "--requests", "5")
    assert "\r" not in plain.stderr and "30/30" not in plain.stderr


def test_a_module_in_the_working_directory_cannot_shadow_what_bench_starts(tmp_path, monkeypatch):
    """bench starts `python -m streamchat serve` and worker processes; -m would put the cwd first on
    sys.path, so a user's nt.py or email.py there broke them. They start with -P. (bench itself runs
    in-process here: the console script never has the cwd on sys.path; what is tested is the processes
    it starts, from that working directory.)"""
    for name in ("nt", "email", "selectors"):
        (tmp_path / f"{name}.py").write_text("raise SystemExit('shadowed')\n")
    monkeypatch.chdir(tmp_path)
    r = run_cli("bench", "--requests", "4", "--workers", "2", "-q", "-o", "json")
    assert r.code == 0, r.stderr
    assert json.loads(r.out)["ok"] == 4
