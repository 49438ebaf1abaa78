"""Option values that Typer's own checks let through: ``nan`` and ``inf`` for numbers, URLs that urllib
cannot even split. Each is a one-line usage error (status 2) before any request, never an internal
error, a ``NaN`` in a request body, or a check that can never fail."""

from __future__ import annotations

import pytest
from conftest import run_cli
from hostile_servers import http_response, http_server, sse

REPLY = sse(b'{"choices":[{"delta":{"content":"the reply"}}]}', b"[DONE]")


def refused_before_any_request(seen, result, option: str) -> None:
    assert result.code == 2, (result.code, result.stderr)
    assert result.stderr.startswith(f"streamchat: error: {option}") and "internal error" not in result.stderr, result.stderr
    assert all(line.startswith("streamchat: hint: ") for line in result.stderr.strip().splitlines()[1:]), result.stderr
    assert result.stdout == b"" and seen.requests == []


@pytest.mark.parametrize(
    "option",
    [
        # before: NaN reached the request body (not JSON), or the timeouts ended in an internal error,
        # or a check compared with nan and could never fail
        ("--temperature", "nan"),
        ("--top-p", "nan"),
        ("--read-timeout", "nan"),
        ("--read-timeout", "inf"),
        ("--connect-timeout", "nan"),
        ("--max-ttft", "nan"),
        ("--min-tps", "inf"),
    ],
)
def test_a_number_that_is_not_finite_is_a_usage_error_in_chat(option):
    with http_server([http_response(REPLY)]) as (url, seen):
        result = run_cli("chat", "--url", url, *option, "-o", "ndjson", "Hi")
    refused_before_any_request(seen, result, option[0])


@pytest.mark.parametrize("option", [("--ping-interval", "nan"), ("--read-timeout", "inf")])
def test_a_number_that_is_not_finite_is_a_usage_error_in_ws_chat(option):
    with http_server([http_response(REPLY)], path="/api/chat/ws") as (url, seen):
        result = run_cli("ws-chat", "--url", url, *option, "-o", "ndjson", "Hi")
    refused_before_any_request(seen, result, option[0])


@pytest.mark.parametrize("option", [("--duration", "nan"), ("--min-confidence", "nan"), ("--connect-timeout", "inf")])
def test_a_number_that_is_not_finite_is_a_usage_error_in_camera(option):
    # before: --duration nan timed out the handshake at once (exit 4), --connect-timeout inf was a bad URL
    with http_server([http_response(REPLY)], path="") as (url, seen):
        result = run_cli("camera", "cam1", "--url", url.replace("http://", "ws://"), *option)
    refused_before_any_request(seen, result, option[0])


@pytest.mark.parametrize("option", [("--rate", "nan"), ("--max-error-rate", "nan"), ("--duration", "inf"), ("--grace", "nan")])
def test_a_number_that_is_not_finite_is_a_usage_error_in_bench(option):
    # before: --max-error-rate nan failed every run ("error rate 0.0 % is over --max-error-rate nan", exit 8)
    with http_server([http_response(REPLY)]) as (url, seen):
        result = run_cli("bench", "--url", url, "--requests", "1", "--prompt", "Hi", *option)
    refused_before_any_request(seen, result, option[0])


def test_bench_compare_threshold_must_be_finite(tmp_path):
    result = run_cli("bench", "compare", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--threshold", "nan")
    assert result.code == 2 and result.stderr.startswith("streamchat: error: --threshold: nan is not a finite number")


@pytest.mark.parametrize("url", ["http://[::1/v1/chat/completions", "http://[not-an-address]/v1/chat/completions"])
@pytest.mark.parametrize("command", [("chat", "Hi"), ("ws-chat", "Hi"), ("bench", "--requests", "1"), ("camera", "cam1"), ("models",)])
def test_a_url_urllib_cannot_split_is_a_usage_error(command, url):
    # before: "internal error: ValueError: Invalid IPv6 URL"
    result = run_cli(command[0], "--url", url, *command[1:])
    assert result.code == 2 and result.stderr.startswith(f"streamchat: error: bad URL {url!r}"), result.stderr
    assert "internal error" not in result.stderr


def test_a_sync_ws_url_urllib_cannot_split_is_a_usage_error():
    with http_server([http_response(REPLY)], path="/api/v1/chat/stream") as (url, seen):
        result = run_cli("chat", "--get", "--url", url, "--sync-ws", "ws://[zz]/api/v1/ws/chat/1", "Hi")
    refused_before_any_request(seen, result, "bad URL 'ws://[zz]")


@pytest.mark.parametrize("forward", ["ftp://backend/frames", "", "http://[::1/frames"])
def test_camera_forward_to_a_url_that_cannot_take_a_post_is_a_usage_error(forward):
    # before: the run went on and counted every frame as a failed forward (exit 0)
    with http_server([http_response(REPLY)], path="") as (url, seen):
        result = run_cli("camera", "cam1", "--url", url.replace("http://", "ws://"), "--frames", "1", "--forward", forward)
    option = "--forward is empty" if forward == "" else f"bad URL {forward!r}"
    refused_before_any_request(seen, result, option)


@pytest.mark.parametrize(
    "option", [("--ttft-ms", "nan"), ("--itl-ms", "inf"), ("--tokens-per-second", "nan"), ("--tokens-per-second", "inf"), ("--fps", "nan")]
)
def test_a_number_that_is_not_finite_is_a_usage_error_in_serve(option):
    # before: --itl-ms inf stalled every reply; nan paced them with nan-second sleeps
    result = run_cli("serve", "--port", "0", *option, timeout=10)
    assert result.code == 2 and result.stderr.startswith(f"streamchat: error: {option[0]}"), result.stderr
    assert result.stdout == b""
