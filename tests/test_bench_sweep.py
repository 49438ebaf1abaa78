"""--sweep K: a closed-loop saturation run, K open-loop rates up to it, the best rate meeting every check."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import run_cli, run_on_terminal

from streamchat.bench.sweep import lane_counts, saturation_rate, scaled, sweep_rates


def test_saturation_is_the_rate_lanes_are_refilled_at():
    """4 lanes start at 0; each request takes 0.5 s, so a lane is refilled every 0.5 s: 8 requests/s."""
    records = [{"status": "ok", "start_s": 0.0} for _ in range(4)]
    records += [{"status": "ok", "start_s": 0.5 * round_ + 0.001 * lane} for round_ in range(1, 5) for lane in range(4)]
    assert saturation_rate(records, 4) == pytest.approx(16 / 2.003, rel=1e-9)  # 16 refills, the last 2.003 s after the start
    half_failed = [dict(r, status="http_503") if i % 2 else r for i, r in enumerate(records)]
    assert saturation_rate(half_failed, 4) == pytest.approx(saturation_rate(records, 4) / 2)  # failing fast is not fast
    assert saturation_rate(records[:4], 4) is None  # no refill: no rate
    assert sweep_rates(12.0, 3) == [4.0, 8.0, 12.0]
    assert scaled(10.0, None) and scaled(11.0, 10.0) and not scaled(10.9, 10.0) and not scaled(None, 10.0)
    assert lane_counts(256) == [1, 2, 4, 8, 16, 32, 64, 128, 256] and lane_counts(6) == [1, 2, 4, 6] and lane_counts(1) == [1]


def test_a_sweep_writes_one_file_with_every_rate(server):
    url = server.url + "/api/chat/stream"
    r = run_cli("bench", "--url", url, "--sweep", "2", "--requests", "6", "--concurrency", "3", "--slo", "e2e_p95<=60000", "-o", "json")
    assert r.code == 0, r.stderr
    result = json.loads(r.out)
    assert set(result) >= {"sweep", "saturation_rate", "max_rate_meeting_slo", "saturation"}
    rates = [entry["rate"] for entry in result["sweep"]]
    assert len(rates) == 2 and rates[0] < rates[1] == pytest.approx(result["saturation_rate"]) and rates[0] == pytest.approx(rates[1] / 2)
    assert result["max_rate_meeting_slo"] == rates[-1]
    for entry in result["sweep"]:
        assert entry["ok"] == 6 and len(entry["records"]) == 6 and entry["target_rate"] == entry["rate"]
        assert [c["name"] for c in entry["checks"]] == ["error_rate<=0", "e2e_p95<=60000"] and entry["goodput"] > 0
    assert all(rec["stage"] == "rate" and rec["rate"] == entry["rate"] for entry in result["sweep"] for rec in entry["records"])
    saturation = result["saturation"]
    assert all(rec["stage"] == "saturation" and rec["lanes"] == saturation["concurrency"] for rec in saturation["records"])
    lanes = [step["concurrency"] for step in saturation["ramp"]]
    assert lanes[0] == 1 and lanes == sorted(lanes) and set(lanes) <= {1, 2, 3}  # doubling, up to --concurrency
    assert [step["requests"] for step in saturation["ramp"]] == [max(16, 8 * n) for n in lanes]  # 8 a lane, at least 16
    picked = [step for step in saturation["ramp"] if step["concurrency"] == saturation["concurrency"]]
    assert saturation["saturation_rate"] == result["saturation_rate"] == picked[0]["rate"]
    assert saturation["concurrency"] in lanes and len(saturation["records"]) == saturation["requests"]
    assert saturation["capped"] == (saturation["concurrency"] == 3) and ("still scaling at 3 lanes" in r.stderr) == saturation["capped"]
    assert "highest rate meeting every check" in r.stderr and r.stderr.count("-- rate ") == 2


def test_a_sweep_where_no_rate_meets_the_slo_is_exit_8(server):
    url = server.url + "/api/chat/stream"
    r = run_cli(
        "bench", "--url", url, "--sweep", "2", "--requests", "4", "--concurrency", "2", "--slo", "e2e_p50<=0.0001", "-o", "json", "-q"
    )
    assert r.code == 8
    result = json.loads(r.out)
    assert result["max_rate_meeting_slo"] is None and len(result["sweep"]) == 2
    assert "no rate met every check" in r.stderr and "e2e_p50<=0.0001 failed: measured" in r.stderr


def test_sweep_ndjson_and_usage(server):
    url = server.url + "/api/chat/stream"
    lines = run_cli("bench", "--url", url, "--sweep", "2", "--requests", "3", "--concurrency", "1", "-o", "ndjson", "-q").lines()
    summaries = [line for line in lines if "rate" in line and "ok" in line]
    assert len(summaries) == 2 and all("records" not in s for s in summaries)
    assert len([line for line in lines if "status" in line]) == 16 + 3 + 3  # saturation (1 lane: 16 requests), then each rate's
    assert set(lines[-1]) == {"saturation_rate", "max_rate_meeting_slo"}
    r = run_cli("bench", "--url", url, "--sweep", "2", "--rate", "5")
    assert r.code == 2 and "--sweep" in r.stderr


def test_sweep_progress_on_a_terminal(server):
    cmd = [sys.executable, "-m", "streamchat", "bench", "--url", server.url + "/api/chat/stream", "--sweep", "2", "--requests", "4"]
    code, seen = run_on_terminal([*cmd, "--concurrency", "1"], "stderr")
    assert code == 0
    assert b"saturation, 1 lane [" in seen and b"rate 1/2 (" in seen and b"rate 2/2 (" in seen and b"\r\x1b[2K" in seen
