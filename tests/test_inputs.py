"""Inputs and small pure pieces: sizes, MIME sniffing, the message rule, history, retry waits."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from email.utils import formatdate

import pytest
from conftest import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamchat.client.retry import backoff_delay, parse_retry_after
from streamchat.errors import UsageError
from streamchat.session.inputs import append_conversation, build_message, load_conversation, parse_history, parse_size, sniff_image_mime


@pytest.mark.parametrize("text, value", [("1", 1), ("10MB", 10 * 1024**2), ("512kb", 512 * 1024), ("2 GB", 2 * 1024**3), ("1.5KB", 1536)])
def test_parse_size(text, value):
    assert parse_size(text, "--x") == value


@pytest.mark.parametrize("text", ["0", "", "ten", "10TB", "-5MB"])
def test_parse_size_rejects(text):
    with pytest.raises(UsageError):
        parse_size(text, "--x")


def test_sniff_image_mime():
    assert sniff_image_mime(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff_image_mime(b"\xff\xd8\xff\xe0....") == "image/jpeg"
    assert sniff_image_mime(b"GIF89a....") == "image/gif"
    assert sniff_image_mime(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_image_mime(b"%PDF-1.7") is None


def test_message_rule():
    assert build_message("hi", None) == "hi"
    assert build_message(None, "from stdin\n\n") == "from stdin"
    assert build_message("-", "from stdin\n") == "from stdin"
    assert build_message("explain", "code\n") == "code\n\nexplain"
    assert build_message(None, None) is None


def test_history_json_and_ndjson_round_trip(tmp_path):
    turns = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u", "images": ["data:image/png;base64,AA=="]},
        {"role": "assistant", "content": "a"},
    ]
    as_array = parse_history(json.dumps(turns), "h.json")
    as_lines = parse_history("\n".join(json.dumps(t) for t in turns) + "\n", "h.ndjson")
    assert [m.wire() for m in as_array] == [m.wire() for m in as_lines] == turns
    path = tmp_path / "c.ndjson"
    append_conversation(str(path), turns[1:])
    append_conversation(str(path), turns[:1])
    assert [m.wire() for m in load_conversation(str(path))] == turns[1:] + turns[:1]


def test_conversation_append_after_a_hand_edit_without_newline(tmp_path):
    path = tmp_path / "c.ndjson"
    path.write_text('{"role": "user", "content": "x"}')
    append_conversation(str(path), [{"role": "assistant", "content": "y"}])
    assert [m.content for m in load_conversation(str(path))] == ["x", "y"]


@pytest.mark.parametrize(
    "text, where",
    [
        ('[{"role": "user"}]', "h: item 1: content: Field required"),
        ('{"role": "user", "content": "a"}\n\n{"role": 5, "content": "b"}', "h:3: role: Input should be"),
        ('{"role": "user", "content": "a", "name": "x"}', "h:1: name: unknown field"),
        ('[{"role": "user", "content": "a", "images": "x.png"}]', "h: item 1: images: Input should be a valid list"),
        ("[1, 2", "h:1"),
    ],
)
def test_history_errors_say_where_and_what(text, where):
    with pytest.raises(UsageError) as info:
        parse_history(text, "h")
    assert str(info.value).startswith(where)


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("junk") is None
    assert parse_retry_after(None) is None
    now = time.time()
    assert 9 <= parse_retry_after(formatdate(now + 10, usegmt=True), now=now) <= 10
    assert parse_retry_after(formatdate(now - 100, usegmt=True), now=now) == 0.0


def test_backoff_is_exponential_capped_and_honours_retry_after():
    import random

    rng = random.Random(1)
    waits = [backoff_delay(n, rng=rng) for n in range(8)]
    assert 1.0 <= waits[0] <= 1.25 and 2.0 <= waits[1] <= 2.5 and 4.0 <= waits[2] <= 5.0
    assert max(waits) <= 30.0
    assert backoff_delay(0, retry_after=7) == 7 and backoff_delay(0, retry_after=500) == 30.0


def test_connect_timeout_exits_4():
    # A listening socket whose backlog is full drops new SYNs: the connect hangs on loopback.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    held = []
    try:
        for _ in range(3):
            c = socket.socket()
            c.settimeout(0.2)
            try:
                c.connect(("127.0.0.1", port))
            except OSError:
                pass
            held.append(c)
        start = time.monotonic()
        r = run_cli("chat", "--url", f"http://127.0.0.1:{port}/x", "--connect-timeout", "0.5", "Hi")
        assert r.code == 4, r.stderr
        assert "connect-timeout" in r.stderr and time.monotonic() - start < 20
    finally:
        for c in held:
            c.close()
        listener.close()


def test_json_output_is_written_on_failure_too(server):
    r = run_cli("chat", "--url", server.url + "/api/chat/stream", "-o", "json", "-H", "X-Streamchat-Fault: error-after=2", "Hi")
    assert r.code == 1
    obj = json.loads(r.out)
    assert obj["done"] is False and obj["error"] == {"message": "injected error after 2 tokens", "code": "injected"}
    assert obj["content"] and obj["timing"]["events"] == 3


def test_force_color_dims_reasoning_and_no_color_wins(server):
    from conftest import clean_env

    url = server.url + "/api/chat/stream"
    r = run_cli("chat", "--url", url, "-m", "demo-reasoner", "Hi", env=clean_env(FORCE_COLOR="1"))
    assert "\x1b[2m" in r.stderr
    r = run_cli("chat", "--url", url, "-m", "demo-reasoner", "Hi", env=clean_env(FORCE_COLOR="1", NO_COLOR="1"))
    assert "\x1b[" not in r.stderr
    r = run_cli("chat", "--url", url, "-m", "demo-reasoner", "--color", "always", "Hi")
    assert "\x1b[2m" in r.stderr
    assert "\x1b" not in r.out  # stdout is data: never coloured


def test_stdin_devnull_is_not_a_message():
    r = run_cli("chat", stdin=subprocess.DEVNULL)
    assert r.code == 2 and "no message" in r.stderr


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)  # any text a JSON string can hold
_turn = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "user", "assistant"]), "content": _text},
    optional={"images": st.lists(st.just("data:image/png;base64,iVBORw0KGgo="), min_size=1, max_size=2)},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_turn, max_size=4), max_size=4))
def test_any_turns_round_trip_through_conversation_and_history_files(tmp_path, appends):
    """Newlines, quotes, U+2028, emoji...: what is appended is what is read back, in order."""
    path = tmp_path / f"c-{abs(hash(json.dumps(appends)))}.ndjson"
    for turns in appends:
        append_conversation(str(path), turns)
    expected = [t for turns in appends for t in turns]
    assert [m.wire() for m in load_conversation(str(path))] == expected
    assert [m.wire() for m in parse_history(json.dumps(expected), "h.json")] == expected
