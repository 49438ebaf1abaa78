"""The Open WebUI event mapping, fed the frames a live Open WebUI 0.12.4 sent (the captures)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streamchat.events import Content, Done, Error, Reasoning, Usage
from streamchat.protocol.openwebui import OpenWebUIMapper

CAPTURES = Path(__file__).resolve().parent / "data"


def replay(name: str) -> list:
    capture = json.loads((CAPTURES / name).read_text())
    mapper = OpenWebUIMapper(capture["request"]["id"])
    out = []
    for frame in capture["socket_events"]:
        out.extend(mapper.map(frame["data"]))
    return out


def text(events) -> str:
    return "".join(e.text for e in events if type(e) is Content)


def test_temporary_chat():
    events = replay("20_socket_temporary_chat.json")
    assert text(events) == "Hello from the stub backend."
    assert events[-2:] == [Usage(7, 6, 13), Done("stop")]


def test_reasoning_first():
    events = replay("21_socket_temporary_think.json")
    assert "".join(e.text for e in events if type(e) is Reasoning) == "Let me think briefly."
    assert text(events) == "Hello from the stub backend."
    assert isinstance(events[-1], Done)


def test_backend_error_500():
    assert replay("22_socket_temporary_error500.json") == [Error("stub: simulated upstream failure")]


def test_mid_stream_error_ends_the_reply():
    events = replay("23_socket_temporary_miderror.json")
    assert text(events) == "Hello from"
    assert events[-1] == Error("stub: simulated mid-stream failure")


def test_stop_is_cancelled():
    events = replay("40_socket_stop_task.json")
    assert text(events) == "Hello from" and events[-1] == Error("cancelled", "cancelled")


def test_other_message_ids_are_ignored():
    capture = json.loads((CAPTURES / "20_socket_temporary_chat.json").read_text())
    mapper = OpenWebUIMapper("someone-else")
    assert [e for f in capture["socket_events"] for e in mapper.map(f["data"])] == []


@pytest.mark.parametrize("payload", [None, 5, "x", {"message_id": "m"}, {"message_id": "m", "data": {"type": "chat:title", "data": "T"}}])
def test_odd_payloads_give_nothing(payload):
    assert OpenWebUIMapper("m").map(payload) == []


def test_inactive_without_done_is_done():
    mapper = OpenWebUIMapper("m")
    assert mapper.map({"message_id": "m", "data": {"type": "chat:active", "data": {"active": False}}}) == [Done()]
