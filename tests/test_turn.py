"""session/turn.py with fake exchanges: the lifecycle every transport shares, in milliseconds.

No network here on purpose: the exchanges are the seam (as httpx's own unit tests use fake transports);
the transports themselves are tested on real loopback sockets elsewhere.
"""

from __future__ import annotations

import io
import json

import pytest

from streamchat.env import Environment
from streamchat.errors import ConnectFailedError, ConnectionLostError, HTTPStatusError, ProtocolError, WriteFailedError
from streamchat.protocol.body import ReplyDecoder
from streamchat.session.output import OutputOptions, make_renderer
from streamchat.session.turn import Turn

TOKEN = b'data: {"choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n'
FINISH = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'


class FakeExchange:
    """Reads given in advance; a failure (an exception instance) may stand in for a read."""

    def __init__(self, reads: list, content_type: str = "text/event-stream") -> None:
        self._reads = reads
        self.decoder = ReplyDecoder(content_type, "openai")
        self.sent_at = 100.0
        self.retry_wait = 0.5
        self.flushes = 0
        self.closed = self.cancelled = False

    def reads(self, before_read):
        for read in self._reads:
            before_read()
            self.flushes += 1
            if isinstance(read, BaseException):
                raise read
            yield read

    def cancel(self):
        self.cancelled = True

    def close(self):
        self.closed = True


def renderer(mode: str = "ndjson"):
    env = Environment(stdin=None, stdout=io.BytesIO(), stderr=io.StringIO(), environ={}, stdout_isatty=False, stderr_isatty=False)
    return env, make_renderer(env, OutputOptions(mode=mode, quiet=True))


def lines(env) -> list[dict]:
    return [json.loads(line) for line in env.stdout.getvalue().splitlines()]


def test_a_completed_turn_times_from_the_attempt_that_was_sent():
    env, out = renderer()
    exchange = FakeExchange([TOKEN % b"Hel", TOKEN % b"lo" + FINISH + b"data: [DONE]\n\n"])
    reply = Turn(out).run(lambda: exchange)
    assert reply.content == "Hello" and reply.done and reply.t_start == 100.0 and reply.retry_wait == 0.5
    assert exchange.closed and exchange.flushes == 2
    assert lines(env) == [{"type": "content", "text": "Hel"}, {"type": "content", "text": "lo"}, {"type": "done", "finish_reason": "stop"}]


def test_a_failure_keeps_what_came_and_says_why_last():
    env, out = renderer()
    with pytest.raises(ConnectionLostError) as failed:
        Turn(out).run(lambda: FakeExchange([TOKEN % b"Hel", ConnectionLostError("connection lost mid-reply: reset")]))
    assert failed.value.reply.content == "Hel"
    assert lines(env) == [
        {"type": "content", "text": "Hel"},
        {"type": "error", "message": "connection lost mid-reply: reset", "code": "connection_lost"},
    ]


def test_after_a_finish_reason_a_lost_connection_is_a_completed_reply():
    env, out = renderer()
    reply = Turn(out).run(lambda: FakeExchange([TOKEN % b"Hi" + FINISH, ConnectionLostError("reset")]))
    assert reply.done and reply.finish_reason == "stop" and lines(env)[-1] == {"type": "done", "finish_reason": "stop"}


def test_a_clean_end_before_done_is_truncated():
    env, out = renderer("json")
    with pytest.raises(ProtocolError) as failed:
        Turn(out).run(lambda: FakeExchange([TOKEN % b"Hi"]))
    summary = json.loads(env.stdout.getvalue())
    assert failed.value.code == "truncated"
    assert summary["done"] is False and summary["content"] == "Hi" and summary["error"]["code"] == "truncated"


def test_an_http_status_is_in_the_error_object():
    env, out = renderer("json")

    def refused():
        raise HTTPStatusError("HTTP 429 Too Many Requests: slow down", status=429)

    with pytest.raises(HTTPStatusError):
        Turn(out).run(refused)
    assert json.loads(env.stdout.getvalue())["error"] == {
        "message": "HTTP 429 Too Many Requests: slow down",
        "code": "http_429",
        "status": 429,
    }


def test_a_server_error_event_is_written_once_not_twice():
    env, out = renderer()
    with pytest.raises(Exception) as failed:
        Turn(out).run(lambda: FakeExchange([TOKEN % b"Hi" + b'data: {"error": {"message": "boom", "code": "x"}}\n\n']))
    assert failed.value.exit_code == 1
    assert [line["type"] for line in lines(env)] == ["content", "error"]


def test_another_try_only_while_nothing_was_shown():
    env, out = renderer()
    tries = []

    def again(exc):
        tries.append(exc)
        return lambda: FakeExchange([TOKEN % b"ok" + b"data: [DONE]\n\n"])

    def refused():
        raise ConnectFailedError("refused")

    reply = Turn(out, again=again).run(refused)
    assert reply.content == "ok" and len(tries) == 1
    env, out = renderer()
    with pytest.raises(ConnectionLostError):  # output had been shown: never a second answer
        Turn(out, again=again).run(lambda: FakeExchange([TOKEN % b"Hel", ConnectionLostError("reset")]))
    assert len(tries) == 1


def test_keep_runs_before_the_end_and_its_failure_is_data_too():
    env, out = renderer("json")
    kept = []
    reply = Turn(out, keep=kept.append).run(lambda: FakeExchange([TOKEN % b"Hi" + b"data: [DONE]\n\n"]))
    assert kept == [reply]

    def full_disk(reply):
        raise WriteFailedError("could not save the conversation: No space left on device; the file is unchanged")

    env, out = renderer("json")
    with pytest.raises(WriteFailedError):
        Turn(out, keep=full_disk).run(lambda: FakeExchange([TOKEN % b"Hi" + b"data: [DONE]\n\n"]))
    summary = json.loads(env.stdout.getvalue())
    assert summary["content"] == "Hi" and summary["done"] is False and summary["error"]["code"] == "write_failed"


def test_ctrl_c_cancels_the_exchange_and_ends_the_output():
    env, out = renderer()
    exchange = FakeExchange([TOKEN % b"Hel", KeyboardInterrupt()])
    with pytest.raises(Exception) as failed:
        Turn(out).run(lambda: exchange)
    assert failed.value.exit_code == 130 and exchange.cancelled and exchange.closed
    assert lines(env)[-1] == {"type": "error", "message": "interrupted", "code": "interrupted"}


def test_a_turn_number_marks_every_line_and_the_json_object():
    env, out = renderer()
    Turn(out, number=2).run(lambda: FakeExchange([TOKEN % b"Hi" + b"data: [DONE]\n\n"]))
    assert {line["turn"] for line in lines(env)} == {2}
    env, out = renderer("json")
    Turn(out, number=3).run(lambda: FakeExchange([TOKEN % b"Hi" + b"data: [DONE]\n\n"]))
    assert json.loads(env.stdout.getvalue())["turn"] == 3
