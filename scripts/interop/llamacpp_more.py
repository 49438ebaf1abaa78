"""The llama.cpp steps past the plain reply: request fields, checks, the server's errors, tool calls, timeouts,
authentication and bench (llamacpp_steps.py holds the suite, its servers and the plain-reply steps)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from clients import compare, parse_json, parse_ndjson, require_exit
from harness import Step, StepFailed

if TYPE_CHECKING:
    from llamacpp_steps import LlamaCppSuite

GREEDY = ("--temperature", "0")


def more_steps(suite: LlamaCppSuite) -> list[Step]:
    return [
        Step("llamacpp.param-wins", lambda: param_wins(suite)),
        Step("llamacpp.stop-reason", lambda: stop_reason(suite)),
        Step("llamacpp.answer-json", lambda: answer_json(suite)),
        Step("llamacpp.expect", lambda: expect(suite)),
        Step("llamacpp.min-tps", lambda: min_tps(suite)),
        Step("llamacpp.bad-param", lambda: bad_param(suite)),
        Step("llamacpp.context-overflow", lambda: context_overflow(suite)),
        Step("llamacpp.tool-call", lambda: tool_call(suite)),
        Step("llamacpp.bench.c1", lambda: bench(suite, suite.chat_url, 1)),
        Step("llamacpp.bench.c4-interrupted", lambda: bench(suite, suite.chat_url, 4)),
        Step("llamacpp.bench.c8-interrupted", lambda: bench(suite, suite.root, 8)),
        Step("llamacpp.bench.slo", lambda: bench_slo(suite)),
        Step("llamacpp.serial.start", suite.start_serial, needed_by_rest="the serial llama.cpp server did not start"),
        Step("llamacpp.serial.auth", lambda: auth(suite)),
        Step("llamacpp.serial.bench-queueing", lambda: bench_queueing(suite)),
        Step("llamacpp.serial.read-timeout", lambda: read_timeout(suite)),
        Step("llamacpp.serial.discovery-timeout", lambda: discovery_timeout(suite)),
    ]


def chat(suite: LlamaCppSuite, *args: str, message: str | None = None, url: str | None = None):
    from llamacpp_steps import MESSAGE

    return suite.streamchat("chat", "--url", url or suite.chat_url, "-m", "tiny.gguf", *args, MESSAGE if message is None else message)


def param_wins(suite: LlamaCppSuite) -> str:
    ran = chat(suite, "--max-tokens", "48", "-p", "max_tokens=5", *GREEDY, "-o", "ndjson")
    require_exit(ran, 0, "chat -p max_tokens=5 --max-tokens 48")
    parsed, _ = parse_ndjson(ran)
    return "-p max_tokens=5 beat --max-tokens 48: " + compare(parsed, suite.sdk_chat(max_tokens=5), "chat -p max_tokens=5")


def stop_reason(suite: LlamaCppSuite) -> str:
    whole = suite.sdk_chat()["text"]
    found = re.compile(r"[A-Za-z]{2,}").search(whole, 1)  # letters first seen past the start: the text before them is kept
    if found is None or whole.index(found.group()) == 0:
        raise StepFailed(f"no word to stop at in {whole!r}")
    word = found.group()
    ran = chat(suite, "--max-tokens", "48", *GREEDY, "-p", f"stop={json.dumps([word])}", "-o", "json")
    require_exit(ran, 0, "chat -p stop=[...]")
    parsed, document = parse_json(ran)
    if document.get("finish_reason") != "stop" or parsed.text != whole[: whole.index(word)]:
        raise StepFailed(f"finish_reason {document.get('finish_reason')!r}, text {parsed.text!r}; expected stop before {word!r}")
    return f"stopped before {word!r}: finish_reason stop, {len(parsed.text)} characters"


def answer_json(suite: LlamaCppSuite) -> str:
    ran = chat(suite, "--max-tokens", "48", *GREEDY, "-p", "stream=false", "-o", "ndjson")
    require_exit(ran, 0, "chat -p stream=false (a 200 application/json answer)")
    parsed, events = parse_ndjson(ran)
    if parsed.text != suite.sdk_chat()["text"] or parsed.usage is None or parsed.finish_reason != "length":
        raise StepFailed(f"events {events}")
    return f"one content event, usage {parsed.usage_core()}, done length (the non-streamed answer does carry usage)"


def expect(suite: LlamaCppSuite) -> str:
    text = suite.sdk_chat()["text"]
    word = next(w for w in text.split() if w.isalnum())
    good = chat(suite, "--max-tokens", "48", *GREEDY, "--expect", word)
    require_exit(good, 0, f"--expect {word}")
    bad = chat(suite, "--max-tokens", "48", *GREEDY, "--expect", "zebra-never", "-o", "ndjson")
    require_exit(bad, 8, "--expect that cannot match")
    _, events = parse_ndjson(bad)
    if any(e.get("type") == "error" for e in events) or events[-1].get("type") != "done":
        raise StepFailed(f"a failed check wrote an error line or no done: {events[-2:]}")
    if "--expect" not in bad.err:
        raise StepFailed(f"stderr does not name the failed check: {bad.stderr_tail()}")
    return f"--expect {word!r} 0; --expect zebra-never 8 with the reply's lines and no error line"


def min_tps(suite: LlamaCppSuite) -> str:
    low = chat(suite, "--max-tokens", "48", *GREEDY, "--min-tps", "1")
    require_exit(low, 0, "--min-tps 1")
    high = chat(suite, "--max-tokens", "48", *GREEDY, "--min-tps", "100000000")
    require_exit(high, 8, "--min-tps 1e8")
    if "measured" not in high.err:
        raise StepFailed(f"the failed check does not say its rate was measured (the server sends none): {high.stderr_tail()}")
    return "--min-tps 1: 0; --min-tps 1e8: 8, " + high.err.strip().splitlines()[-1]


def bad_param(suite: LlamaCppSuite) -> str:
    ran = chat(suite, "-p", 'max_tokens="abc"', "-o", "ndjson")
    require_exit(ran, 6, "a parameter the server rejects")
    _, events = parse_ndjson(ran)
    last = events[-1]
    if last.get("code") != "http_500" or last.get("status") != 500 or "max_tokens" not in last.get("message", ""):
        raise StepFailed(f"the error line {last} does not carry the server's message about max_tokens")
    lines = ran.err.strip().splitlines()
    if len([line for line in lines if line.startswith("streamchat: error:")]) != 1 or "Traceback" in ran.err:
        raise StepFailed(f"stderr is not one error line: {lines}")
    return f"exit 6 (the server answers 500 to a validation error), message from its body: {last['message'][:90]!r}…"


def context_overflow(suite: LlamaCppSuite) -> str:
    prompt = "hello there " * 1024
    answer = chat(suite, "-p", "stream=false", "-o", "json", message=prompt)
    require_exit(answer, 6, "a prompt over the context window, not streamed")
    error = json.loads(answer.stdout).get("error") or {}
    if error.get("code") != "http_400" or "context" not in error.get("message", ""):
        raise StepFailed(f"-o json error {error}, expected http_400 with the server's context-length message")
    streamed = chat(suite, "-o", "ndjson", message=prompt)
    require_exit(streamed, 7, "a prompt over the context window, streamed (200, then an empty body)")
    _, events = parse_ndjson(streamed)
    if events != [{"type": "error", "message": events[0].get("message"), "code": "truncated"}]:
        raise StepFailed(f"streamed: {events}")
    return "not streamed: 400 with the server's message, exit 6; streamed: 200 and an empty body, exit 7 truncated"


def tool_call(suite: LlamaCppSuite) -> str:
    from llamacpp_steps import TOOLS

    tools = suite.workdir / "tools.json"
    tools.write_text(json.dumps(TOOLS))
    choice = json.dumps({"type": "function", "function": {"name": "get_weather"}})
    ran = chat(suite, "--max-tokens", "60", *GREEDY, "-p", f"tools=@{tools}", "-p", f"tool_choice={choice}", "-o", "json")
    require_exit(ran, 0, "a forced tool call")
    document = json.loads(ran.stdout)
    calls = document.get("tool_calls") or []
    if len(calls) != 1 or calls[0].get("name") != "get_weather" or document.get("finish_reason") != "tool_calls":
        raise StepFailed(f"tool_calls {calls}, finish_reason {document.get('finish_reason')!r}")
    try:
        arguments = json.loads(calls[0]["arguments"])
    except ValueError as bad:
        raise StepFailed(f"the assembled arguments are not JSON: {calls[0]['arguments']!r}") from bad
    return f"one call get_weather({json.dumps(arguments, ensure_ascii=True)[:80]}) assembled from deltas that repeat id and name"


def bench_summary(suite: LlamaCppSuite, *args: str, streamchat=None) -> tuple[int, dict, str]:
    ran = (streamchat or suite.streamchat)("bench", "-m", "tiny.gguf", "--max-tokens", "32", *args, "-o", "json", timeout=600)
    try:
        return ran.returncode, json.loads(ran.stdout), ran.err
    except ValueError as bad:
        raise StepFailed(f"bench exit {ran.returncode}, stdout is not JSON: {ran.stderr_tail()}") from bad


def bench(suite: LlamaCppSuite, url: str, concurrency: int) -> str:
    status, summary, err = bench_summary(suite, "--url", url, "--concurrency", str(concurrency), "--requests", "24", "-q")
    if status != 0 or summary.get("ok") != 24 or summary.get("failed"):
        raise StepFailed(f"exit {status}: {summary.get('ok')} ok, {summary.get('failed')} failed {summary.get('errors')} (24 expected ok)")
    records = summary.get("records") or []
    interrupted = sum(1 for r in records if r.get("ttft_ms") is None)
    ttft = (summary.get("ttft_ms") or {}).get("p50")
    itl = (summary.get("itl_ms") or {}).get("p50")
    if ttft is None or not 0 < ttft < 10_000 or (itl is not None and not 0 <= itl < 10_000):
        raise StepFailed(f"implausible TTFT p50 {ttft} / ITL p50 {itl} ms")
    return f"24 ok ({interrupted} interrupted after [DONE] with no token), TTFT p50 {ttft:.1f} ms, ITL p50 {itl or 0:.2f} ms"


def bench_slo(suite: LlamaCppSuite) -> str:
    base = ("--url", suite.chat_url, "--concurrency", "1", "--requests", "8", "-q")
    status, summary, _ = bench_summary(suite, *base, "--slo", "ttft_p95<=10000", "--slo", "output_tps>=1")
    if status != 0 or not all(check.get("ok") for check in summary.get("checks") or [{}]):
        raise StepFailed(f"exit {status}, checks {summary.get('checks')}")
    status, summary, err = bench_summary(suite, *base, "--slo", "ttft_p95<=0.001")
    failed = [c for c in summary.get("checks") or [] if not c.get("ok")]
    if status != 8 or [c.get("name") for c in failed] != ["ttft_p95<=0.001"] or "ttft_p95<=0.001" not in err:
        raise StepFailed(f"an impossible SLO: exit {status}, failed checks {failed}, stderr {err.strip()[-200:]!r}")
    return f"generous SLOs pass (exit 0); ttft_p95<=0.001 fails with exit 8: {err.strip().splitlines()[-1]}"


def auth(suite: LlamaCppSuite) -> str:
    refused = suite.streamchat("chat", "--url", suite.serial_root, "-o", "ndjson", "hi")
    require_exit(refused, 5, "model discovery with no key")
    _, events = parse_ndjson(refused)
    if events[-1].get("code") != "http_401":
        raise StepFailed(f"the last line is {events[-1]}")
    allowed = suite.with_key("chat", "--url", suite.serial_root, "--max-tokens", "4", "-o", "ndjson", "hi")
    require_exit(allowed, 0, "model discovery and chat with the key")
    return "no key: discovery answered 401, exit 5, code http_401; with the key (from STREAMCHAT_TOKEN): exit 0, never echoed"


def bench_queueing(suite: LlamaCppSuite) -> str:
    medians = {}
    for concurrency in (1, 4):
        status, summary, _ = bench_summary(
            suite, "--url", suite.serial_root, "--concurrency", str(concurrency), "--requests", "12", "-q", streamchat=suite.with_key
        )
        if status != 0 or summary.get("ok") != 12:
            raise StepFailed(f"--concurrency {concurrency}: exit {status}, {summary.get('ok')} ok, errors {summary.get('errors')}")
        medians[concurrency] = summary["ttft_ms"]["p50"]
    if not medians[4] > 1.5 * medians[1]:
        raise StepFailed(f"TTFT p50 {medians[1]:.1f} ms alone vs {medians[4]:.1f} ms four at a time on a serial server: no queueing seen")
    return f"a serial server: TTFT p50 {medians[1]:.1f} ms at concurrency 1, {medians[4]:.1f} ms at 4 (requests queue, as they should)"


def read_timeout(suite: LlamaCppSuite) -> str:
    url = suite.serial_root + "/v1/chat/completions"
    # --max-tokens: the server still runs a request its client left, and with no limit it writes to the end of its context
    ran = suite.while_busy("chat", "--url", url, "-m", "tiny.gguf", "--max-tokens", "4", "--read-timeout", "2", "-o", "ndjson", "hi")
    require_exit(ran, 4, "--read-timeout 2 while the server is busy (head sent, then silence)")
    _, events = parse_ndjson(ran)
    if events[-1].get("code") != "timeout" or not 1.5 < ran.seconds < 10:
        raise StepFailed(f"the last line is {events[-1]} after {ran.seconds:.1f} s")
    return f"exit 4 after {ran.seconds:.1f} s, code timeout"


def discovery_timeout(suite: LlamaCppSuite) -> str:
    ran = suite.while_busy("chat", "--url", suite.serial_root, "--read-timeout", "2", "-o", "ndjson", "hi")
    require_exit(ran, 4, "model discovery while the server is busy (its /v1/models waits for the model too)")
    _, events = parse_ndjson(ran)
    if events[-1].get("code") != "timeout":
        raise StepFailed(f"the last line is {events[-1]}")
    return f"GET /v1/models got no answer: exit 4 after {ran.seconds:.1f} s, code timeout"
