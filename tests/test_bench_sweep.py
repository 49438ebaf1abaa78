"""--sweep K: a closed-loop ramp, open-loop probes for the rate a server keeps up with, K rates up to it, the best meeting every check."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import run_cli, run_on_terminal

from streamchat.bench.probes import CONFIRMS, MAX_PROBES, Verdict, answer, confirm_next, judge, next_rate, probe_seconds
from streamchat.bench.sweep import lane_counts, saturation_rate, scaled, sweep_rates
from streamchat.server.config import ServerConfig
from streamchat.server.embedded import start_in_thread


@pytest.fixture(scope="module")
def paced():
    """A server of its own (probes load a server to the full): one lane runs ~30 short replies a second, so a probe there sends for ~2 s."""
    with start_in_thread(ServerConfig(ttft_ms=5, itl_ms=0, reply_tokens=12)) as running:
        yield running.url + "/api/chat/stream"


def arrivals(rate: float, seconds: float, latency, status=lambda t: "ok", lag=lambda t: 0.0) -> list[dict]:
    """Made-up records of an open loop: evenly spaced arrivals, each with the latency (s) given for its intended time."""
    records = []
    for i in range(int(rate * seconds)):
        intended = i / rate
        late = lag(intended)
        record = {"id": i, "start_s": intended + late, "schedule_lag_ms": late * 1000.0, "status": status(intended)}
        if record["status"] == "ok":
            record["e2e_ms"] = latency(intended) * 1000.0 - late * 1000.0
        records.append(record)
    return records


def verdict(rate: float, kept_up: bool, completed: float | None = None) -> Verdict:
    return Verdict(rate, kept_up, "" if kept_up else "made up", 100, 100, 5.0, completed_rate=completed)


def test_a_server_that_holds_its_latency_kept_up():
    steady = judge(arrivals(100, 6, lambda t: 0.5), 100, 6)
    assert steady.kept_up and steady.reason == "" and steady.ok_share == 1.0 and steady.latency_drift == pytest.approx(0.0)
    assert steady.typical_latency_ms == pytest.approx(500) and steady.completed_rate == pytest.approx(100, rel=0.02)
    jittery = judge(arrivals(100, 6, lambda t: 0.5 + 0.2 * ((t * 7) % 1)), 100, 6)  # noisy, but no trend
    assert jittery.kept_up
    # A start-up spike (connections opening) is not the steady part.
    assert judge(arrivals(100, 6, lambda t: 2.0 if t < 1.0 else 0.5), 100, 6).kept_up


def test_a_server_that_queues_fell_behind():
    queueing = judge(arrivals(100, 6, lambda t: 0.5 + 0.15 * t), 100, 6)  # 15 % over: 150 ms more each second
    assert not queueing.kept_up and queueing.latency_drift == pytest.approx(0.15)
    assert queueing.reason == "latency grew 150 ms a second"
    assert judge(arrivals(100, 6, lambda t: 0.5 + 0.05 * t), 100, 6).kept_up  # a slow creep is within a short probe's noise
    client_late = judge(arrivals(100, 6, lambda t: 0.5 + 0.2 * t, lag=lambda t: 0.2 * t), 100, 6)  # the client could not send on time
    assert not client_late.kept_up and client_late.latency_drift == pytest.approx(0.2)
    swamped = judge(arrivals(100, 6, lambda t: 0.5 + 1.0 * t), 100, 6)
    assert not swamped.kept_up and "took most of the 6.0 s probe" in swamped.reason


def test_failed_and_unfinished_requests_are_not_keeping_up():
    failing = judge(arrivals(100, 6, lambda t: 0.5, status=lambda t: "http_503" if (t * 100) % 10 < 1 else "ok"), 100, 6)
    assert not failing.kept_up and failing.ok_share == pytest.approx(0.9, abs=0.01) and failing.reason == "90% of arrivals completed"
    cut = judge(arrivals(100, 6, lambda t: 0.5, status=lambda t: "incomplete" if t > 3.5 else "ok"), 100, 6)
    assert not cut.kept_up and cut.reason == "50% of arrivals completed" and cut.latency_drift is None
    nothing = judge(arrivals(100, 6, lambda t: 0.5, status=lambda t: "connect_failed"), 100, 6)
    assert not nothing.kept_up and nothing.reason == "no request completed" and nothing.ok == 0 and nothing.requests == 600
    too_few = judge(arrivals(0.5, 6, lambda t: 0.5), 0.5, 6)
    assert not too_few.kept_up and "too few to judge" in too_few.reason


def test_a_probe_sends_for_several_latencies_and_enough_arrivals():
    assert probe_seconds(1000, 0.001) == 1.0  # a fast server: the least
    assert probe_seconds(1000, 0.7) == pytest.approx(4.2)  # 6 unloaded latencies
    assert probe_seconds(10, 0.1) == pytest.approx(6.0)  # 60 arrivals
    assert probe_seconds(0.1, 0.1) == 30.0  # the most
    assert probe_seconds(1000, 0.7, confirming=True) == pytest.approx(16.8)  # confirming: 24 unloaded latencies
    assert probe_seconds(10, 0.1, confirming=True) == pytest.approx(6.0) and probe_seconds(1000, 2.0, confirming=True) == 30.0


def test_the_search_brackets_then_bisects():
    assert next_rate([], 300.0, capped=False) == 300.0  # the closed-loop peak first
    fell = [verdict(300, False, completed=200)]
    assert next_rate(fell, 300.0, False) == pytest.approx(180)  # just under what the server did complete
    assert next_rate([verdict(300, False, completed=290)], 300.0, False) == pytest.approx(255)  # at least 15 % lower
    assert next_rate([verdict(300, False, completed=20)], 300.0, False) == pytest.approx(150)  # at most halved
    bracket = [*fell, verdict(180, True)]
    assert next_rate(bracket, 300.0, False) == 200  # no rate above what it completed while behind can keep up: try that
    blind = [verdict(300, False), verdict(180, True)]  # (nothing completed in the steady part)
    assert next_rate(blind, 300.0, False) == pytest.approx((180 * 300) ** 0.5)  # else geometric bisection
    assert next_rate([verdict(300, False, 185), verdict(180, True)], 300.0, False) == pytest.approx((180 * 300) ** 0.5)  # too close to tell
    assert next_rate([*blind, verdict(232, True), verdict(263, False), verdict(247, True)], 300.0, False) is None  # within 10 %
    assert answer([*blind, verdict(232, True), verdict(263, False), verdict(247, True)]) == 247
    assert next_rate([verdict(300, True)], 300.0, capped=False) is None  # the peak itself kept up: nothing faster to find
    assert next_rate([verdict(300, True)], 300.0, capped=True) == 600  # the ramp ran out of lanes: look higher
    assert next_rate([verdict(300, True), verdict(600, False, 450), verdict(100, False)], 300.0, True) == pytest.approx(424.26, rel=1e-4)
    assert next_rate([verdict(100 - i, False, 1) for i in range(MAX_PROBES)], 300.0, False) is None  # bounded
    assert answer([verdict(300, False), verdict(150, False)]) is None


def test_a_long_probe_confirms_the_answer_or_steps_down():
    assert confirm_next([], 300.0) == 300.0
    assert confirm_next([verdict(300, True)], 300.0) is None  # confirmed
    assert confirm_next([verdict(300, False, completed=310)], 300.0) == pytest.approx(300 / 1.1)  # 10 % lower...
    assert confirm_next([verdict(300, False, completed=260)], 300.0) == pytest.approx(234)  # ...or just under what it completed
    assert confirm_next([verdict(300, False, completed=10)], 300.0) == 225  # no lower than three quarters
    assert confirm_next([verdict(300 - i, False, 290) for i in range(CONFIRMS)], 300.0) is None  # bounded


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
    assert lane_counts(256) == [1, 4, 16, 64, 256] and lane_counts(6) == [1, 4, 6] and lane_counts(1) == [1]


def test_a_sweep_writes_one_file_with_every_rate(paced):
    # One lane: the ramp is that lane alone, so the first probe, at the rate one lane runs, is the last.
    r = run_cli("bench", "--url", paced, "--sweep", "2", "--requests", "6", "--concurrency", "1", "--slo", "e2e_p95<=60000", "-o", "json")
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
    assert saturation["ramp"] == [{"concurrency": 1, "rate": saturation["closed_loop_rate"], "requests": 4, "ok": 4}]
    assert all(rec["stage"] == "saturation" and rec["lanes"] == 1 for rec in saturation["records"]) and len(saturation["records"]) == 4
    assert saturation["concurrency"] == 1 and saturation["capped"] is False and 0 < saturation["unloaded_e2e_ms"] < 1000
    probes = saturation["probes"]
    searching = [p for p in probes if not p["confirming"]]
    confirming = [p for p in probes if p["confirming"]]
    assert probes == searching + confirming and searching[0]["rate"] == saturation["closed_loop_rate"] and confirming
    assert (
        confirming[0]["rate"] == max(p["rate"] for p in searching if p["kept_up"]) and confirming[0]["seconds"] >= searching[0]["seconds"]
    )
    kept_up = [p["rate"] for p in confirming if p["kept_up"]]  # (none: the lowest rate probed)
    assert result["saturation_rate"] == saturation["saturation_rate"] == (max(kept_up) if kept_up else confirming[-1]["rate"])
    for probe in probes:
        assert probe["requests"] > 50 and 0 < probe["typical_latency_ms"] < 1000 and (probe["kept_up"] == (probe["reason"] == ""))
    assert f"open-loop probe at {probes[0]['rate']:.2f} req/s" in r.stderr and "confirming probe at" in r.stderr
    assert "highest rate meeting every check" in r.stderr and r.stderr.count("-- rate ") == 2


def test_sweep_ndjson_where_no_rate_meets_the_slo_is_exit_8(paced):
    r = run_cli(
        "bench", "--url", paced, "--sweep", "2", "--requests", "3", "--concurrency", "1", "--slo", "e2e_p50<=0.0001", "-o", "ndjson", "-q"
    )
    assert r.code == 8 and "no rate met every check" in r.stderr and "e2e_p50<=0.0001 failed: measured" in r.stderr
    lines = r.lines()
    summaries = [line for line in lines if "rate" in line and "ok" in line]
    assert len(summaries) == 2 and all("records" not in s and not s["checks"][-1]["ok"] for s in summaries)
    stages = [(line["stage"], line.get("lanes") or line["rate"]) for line in lines if "status" in line]
    ramp = [stage for stage in stages if stage[0] == "saturation"]
    probed = [stage for stage in stages if stage[0] == "probe"]
    rated = [stage for stage in stages if stage[0] == "rate"]
    assert stages == ramp + probed + rated and ramp == [("saturation", 1)] * 4 and len(probed) > 50  # the ramp, the probes, then the rates
    assert [rate for _, rate in rated] == [summaries[0]["rate"]] * 3 + [summaries[1]["rate"]] * 3
    assert lines[-1] == {"saturation_rate": summaries[1]["rate"], "max_rate_meeting_slo": None}
    r = run_cli("bench", "--url", paced, "--sweep", "2", "--rate", "5")
    assert r.code == 2 and "--sweep" in r.stderr


def test_sweep_progress_on_a_terminal(paced):
    cmd = [sys.executable, "-m", "streamchat", "bench", "--url", paced, "--sweep", "2", "--requests", "4"]
    code, seen = run_on_terminal([*cmd, "--concurrency", "1"], "stderr")
    assert code == 0
    assert (
        b"saturation, 1 lane [" in seen
        and b"probe 1 (" in seen
        and b"rate 1/2 (" in seen
        and b"rate 2/2 (" in seen
        and b"\r\x1b[2K" in seen
    )
