"""Smoke-test checks: a failed check exits 8 and says what was measured."""

from __future__ import annotations

from conftest import expected_reply, run_cli


def test_checks_pass(server):
    r = run_cli(
        "chat",
        "--url",
        server.url + "/api/chat/stream",
        "--expect",
        expected_reply("Hi")[:10],
        "--max-ttft",
        "10000",
        "--min-tps",
        "1",
        "--fail-on-empty",
        "Hi",
    )
    assert r.code == 0, r.stderr


def test_expect_fails_with_8(server):
    r = run_cli("chat", "--url", server.url + "/api/chat/stream", "--expect", "^zebra$", "Hi")
    assert r.code == 8 and "does not match --expect" in r.stderr
    assert r.out == expected_reply("Hi") + "\n"  # the reply is still shown


def test_max_ttft_and_min_tps_say_what_was_measured(slow_server):
    r = run_cli("chat", "--url", slow_server.url + "/api/chat/stream", "--max-ttft", "1", "--min-tps", "100000", "Hi")
    assert r.code == 8
    assert "first token after" in r.stderr and "> --max-ttft 1 ms" in r.stderr and "< --min-tps 100000" in r.stderr


def test_ws_chat_checks_every_turn(server):
    r = run_cli("ws-chat", "--url", server.url + "/api/chat/ws", "--expect", "nope", "Hi")
    assert r.code == 8


def test_fail_on_empty():
    import pytest

    from streamchat.errors import CheckFailedError
    from streamchat.events import Content, Done
    from streamchat.session.checks import Checks
    from streamchat.session.reply import Reply

    empty = Reply(0.0)
    empty.add([Done("stop")], 0.1)
    with pytest.raises(CheckFailedError, match="empty"):
        Checks(fail_on_empty=True).verify(empty)
    full = Reply(0.0)
    full.add([Content("x"), Done("stop")], 0.1)
    Checks(fail_on_empty=True).verify(full)


def test_bad_regex_is_2(cli):
    r = cli("chat", "--expect", "(", "Hi")
    assert r.code == 2 and "--expect" in r.stderr
