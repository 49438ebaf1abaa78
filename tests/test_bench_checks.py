"""bench as a CI gate: --slo thresholds, --max-error-rate, goodput, exit 8, and the JSON a run leaves behind."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from conftest import run_cli

from streamchat.bench.checks import error_words, evaluate, failure, goodput, parse_slo, request_meets
from streamchat.errors import UsageError


def _ok(ttft: float, itl: list[float], e2e: float, tpot: float | None = None) -> dict:
    return {"status": "ok", "ttft_ms": ttft, "itl_ms": itl, "e2e_ms": e2e, "tpot_ms": tpot, "output_tokens": len(itl) + 1}


def test_slo_syntax():
    slo = parse_slo("ttft_p95<=500")
    assert (slo.metric, slo.op, slo.limit, slo.name) == ("ttft_p95", "<=", 500.0, "ttft_p95<=500")
    assert parse_slo(" e2e_max <= 2.5e3 ms").limit == 2500.0 and parse_slo("output_tps>=10").op == ">="
    assert parse_slo("goodput>=1.5").latency is None and parse_slo("itl_p50<=20").latency == ("itl", "p50")
    for bad in (
        "ttft<=5",
        "ttft_p95<500",
        "ttft_p95=500",
        "ttft_p95<=abc",
        "foo_p95<=1",
        "output_tps<=5ms",
        "ttft_p95<=nan",
        "ttft_p95<=-1",
        "",
    ):
        with pytest.raises(UsageError):
            parse_slo(bad)


def test_a_request_meets_latency_slos_on_its_own_samples():
    slos = [parse_slo("ttft_p95<=100"), parse_slo("itl_p50<=10"), parse_slo("output_tps>=1000")]  # throughput: the run's, not a request's
    assert request_meets(_ok(90.0, [5.0, 5.0, 50.0], 200.0), slos)  # its own median gap is 5 ms
    assert not request_meets(_ok(90.0, [50.0, 50.0, 5.0], 200.0), slos)
    assert not request_meets(_ok(101.0, [1.0], 200.0), slos)
    assert request_meets(_ok(10.0, [], 10.0), slos)  # one token: no gap to be late
    assert not request_meets({**_ok(10.0, [], 10.0), "ttft_ms": None}, slos)  # no token at all: no TTFT within anything
    assert not request_meets({"status": "http_503"}, [])
    records = [_ok(90.0, [1.0], 100.0), _ok(150.0, [1.0], 200.0), {"status": "timeout"}]
    assert goodput(records, [parse_slo("ttft_p95<=100")], 2.0) == 0.5 and goodput(records, [], 2.0) == 1.0


def test_checks_and_the_failure_message():
    summary = {"requests": 10, "ok": 8, "failed": 2, "errors": {"http_503": 1, "connection": 1}, "ttft_ms": {"p95": 612.3}, "goodput": 3.0}
    checks = evaluate(summary, [parse_slo("ttft_p95<=500"), parse_slo("goodput>=2"), parse_slo("tpot_p50<=5")], 10.0)
    assert [c["ok"] for c in checks] == [False, False, True, False]
    assert checks[0] == {"name": "error_rate<=10", "limit": 10.0, "value": 20.0, "ok": False}
    assert checks[1] == {"name": "ttft_p95<=500", "limit": 500.0, "value": 612.3, "ok": False}
    message = failure(summary, checks)
    assert "error rate 20.0 % is over --max-error-rate 10 (2 failed: connection ×1, http_503 ×1)" in message
    assert "ttft_p95<=500 failed: measured 612.3 ms" in message and "tpot_p50<=5 failed: nothing was measured" in message
    assert "{" not in message and "goodput" not in message
    everything = {"requests": 3, "ok": 0, "failed": 3, "errors": {"connect_failed": 3}}
    assert failure(everything, evaluate(everything, [], 100.0)) == "every request failed (3 failed: connect_failed ×3)"
    assert error_words({"a": 1, "b": 5}) == "b ×5, a ×1"


def test_every_request_failing_is_exit_8_with_the_kinds_in_words():
    r = run_cli("bench", "--url", "http://127.0.0.1:1/api/chat/stream", "--requests", "3")
    assert r.code == 8
    assert "requests: 0 ok, 3 failed: connect_failed ×3" in r.stderr
    assert "streamchat: error: every request failed (3 failed: connect_failed ×3)" in r.stderr
    assert "{'" not in r.stderr and "Traceback" not in r.stderr


def test_every_request_refused_by_auth_is_exit_8(auth_server):
    r = run_cli("bench", "--url", auth_server.url + "/api/chat/stream", "--requests", "8", "--concurrency", "4", "-q", "-o", "json")
    assert r.code == 8 and "every request failed (8 failed: http_401 ×8)" in r.stderr
    summary = json.loads(r.out)
    assert summary["errors"] == {"http_401": 8} and summary["checks"][0]["ok"] is False


def test_max_error_rate_allows_a_share_of_failures(server):
    def run(rate: str):
        fault = f"X-Streamchat-Fault: status=503;count=2;id={uuid.uuid4()}"  # the first 2 of 10 requests fail
        args = ["bench", "--url", server.url + "/api/chat/stream", "--requests", "10", "--concurrency", "1", "-H", fault]
        return run_cli(*args, "--max-error-rate", rate, "-o", "json")

    passed = run("20")
    assert passed.code == 0, passed.stderr
    assert json.loads(passed.out)["checks"] == [{"name": "error_rate<=20", "limit": 20.0, "value": 20.0, "ok": True}]
    failed = run("19.5")
    assert failed.code == 8
    assert "streamchat: error: error rate 20.0 % is over --max-error-rate 19.5 (2 failed: http_503 ×2)" in failed.stderr
    assert "requests: 8 ok, 2 failed: http_503 ×2" in failed.stderr
    default = run_cli(
        "bench",
        "--url",
        server.url + "/api/chat/stream",
        "--requests",
        "3",
        "-H",
        f"X-Streamchat-Fault: status=503;count=1;id={uuid.uuid4()}",
    )
    assert default.code == 8  # the default allows none


def test_slo_failure_names_the_threshold_and_its_measured_value(slow_server):
    url = slow_server.url + "/api/chat/stream"
    args = ["bench", "--url", url, "--requests", "4", "--concurrency", "4", "-o", "json"]
    r = run_cli(*args, "--slo", "ttft_p50<=1", "--slo", "e2e_p99<=60000", "--slo", "requests_per_s>=0.001")
    assert r.code == 8
    summary = json.loads(r.out)
    names = [c["name"] for c in summary["checks"]]
    assert names == ["error_rate<=0", "ttft_p50<=1", "e2e_p99<=60000", "requests_per_s>=0.001"]
    ttft = summary["checks"][1]
    assert ttft["ok"] is False and ttft["value"] == summary["ttft_ms"]["p50"] >= 20.0
    assert [c["ok"] for c in summary["checks"]] == [True, False, True, True]
    shown = re.search(r"streamchat: error: ttft_p50<=1 failed: measured ([0-9.]+) ms$", r.stderr.strip())
    assert shown and abs(float(shown.group(1)) - ttft["value"]) < 0.1
    assert summary["goodput"] == 0.0 and summary["slos"] == names[1:]


def test_goodput_counts_requests_within_every_slo(server):
    r = run_cli("bench", "--url", server.url + "/api/chat/stream", "--requests", "6", "--slo", "e2e_p95<=60000", "-o", "json", "-q")
    assert r.code == 0, r.stderr
    summary = json.loads(r.out)
    assert summary["goodput"] == pytest.approx(summary["requests_per_s"]) and summary["checks"][1]["ok"] is True
    assert "goodput:" in run_cli("bench", "--url", server.url + "/api/chat/stream", "--requests", "2", "--slo", "e2e_p95<=60000").stderr


@pytest.mark.parametrize("slo", ["ttft_p95<500", "latency_p95<=5", "ttft_p95<=fast"])
def test_a_malformed_slo_is_a_usage_error_before_any_request(server, slo):
    r = run_cli("bench", "--url", "http://127.0.0.1:1/api/chat/stream", "--slo", slo, "-o", "json")
    assert r.code == 2 and not r.out
    assert r.stderr.startswith(f"streamchat: error: bad --slo '{slo}'")
    assert "connection" not in r.stderr  # nothing was sent


def test_json_carries_every_record(server, tmp_path):
    recs = tmp_path / "records.ndjson"
    r = run_cli("bench", "--url", server.url + "/api/chat/stream", "--requests", "5", "--records", str(recs), "-o", "json", "-q")
    assert r.code == 0, r.stderr
    summary = json.loads(r.out)
    assert summary["records"] == [json.loads(line) for line in recs.read_text().splitlines()]
    assert sorted(rec["id"] for rec in summary["records"]) == list(range(5))
    assert {"status", "ttft_ms", "itl_ms", "e2e_ms", "output_tokens", "start_s"} <= set(summary["records"][0])
    ndjson = run_cli("bench", "--url", server.url + "/api/chat/stream", "--requests", "3", "-o", "ndjson", "-q").lines()
    assert len(ndjson) == 4 and "records" not in ndjson[-1]  # ndjson already streamed them
