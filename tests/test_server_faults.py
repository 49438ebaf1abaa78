"""The reference server's shared pieces as units: the fault table, the fault points of a stream, and
the paced steps every transport writes (SSE, NDJSON, WebSocket, the Open WebUI socket)."""

from __future__ import annotations

import asyncio

import pytest

from streamchat.errors import UsageError
from streamchat.server.faults import KNOBS, OVERSIZE_DEFAULT, Fault, FaultCounter, parse_fault
from streamchat.server.openwebui import SocketReply
from streamchat.server.pacing import Pacer
from streamchat.server.replies import plan_reply
from streamchat.server.steps import reply_steps


def test_every_knob_in_the_table_parses():
    fault = parse_fault(
        "drop-after=1; stall-after=2; error-after=3, close-after=4; code=4001; status=503; retry-after=7; count=2; on-turn=3; "
        "id=x; garbage; oversize; content-type=text/html; empty; escape; json; backend-error; foreign; call; "
        "bad-base64=5; not-jpeg=6; missing=7"
    )
    assert (fault.drop_after, fault.stall_after, fault.error_after, fault.close_after, fault.close_code) == (1, 2, 3, 4, 4001)
    assert (fault.status, fault.retry_after, fault.count, fault.on_turn) == (503, "7", 2, 3)
    assert fault.garbage and fault.empty and fault.escape and fault.json and fault.backend_error and fault.foreign
    assert (fault.oversize, fault.content_type, fault.call) == (OVERSIZE_DEFAULT, "text/html", "confirmation")
    assert (fault.bad_base64, fault.not_jpeg, fault.missing) == (5, 6, 7)
    assert parse_fault("oversize=5000; call=input").oversize == 5000
    assert parse_fault("").spec == "" and parse_fault(None) == Fault()
    assert len(KNOBS) == 22


@pytest.mark.parametrize(
    "spec, message",
    [
        ("nope", "unknown fault 'nope'"),
        ("drop-after=x", "'x' is not a number"),
        ("status", "'' is not a number"),
        ("status=abc", "'abc' is not a number"),
        # before: the server could send no response for these and dropped the connection (or sent a 1xx as the answer)
        ("status=99", "99 is not an HTTP status from 200 to 599"),
        ("status=101", "101 is not an HTTP status from 200 to 599"),
        ("status=1000", "1000 is not an HTTP status from 200 to 599"),
        ("garbage=maybe", "'maybe' is not true or false"),
    ],
)
def test_bad_knobs_are_usage_errors(spec, message):
    with pytest.raises(UsageError, match=message):
        parse_fault(spec)


def test_a_switch_set_to_false_is_off():
    # before: bool("false") turned garbage=false on
    assert parse_fault("garbage=false;escape=0;json=no;empty=off").garbage is False
    fault = parse_fault("garbage=false;escape=0;json=no;empty=off")
    assert not (fault.escape or fault.json or fault.empty)
    assert parse_fault("garbage").garbage is True and parse_fault("garbage=true").garbage is True


def test_count_applies_to_the_first_k_requests_of_each_spec():
    counter = FaultCounter()
    first, other = parse_fault("status=500;count=2;id=a"), parse_fault("status=500;count=2;id=b")
    assert [counter.take(first) for _ in range(3)] == [True, True, False]
    assert counter.take(other) and counter.take(parse_fault("status=500"))


def test_fault_points():
    fault = parse_fault("stall-after=3;error-after=2")
    assert [fault.stop_at(n, False) for n in range(4)] == [None, None, "error", "stall"]  # earlier knobs of STOPS first
    assert parse_fault("error-after=50").stop_at(5, True) == "error"  # the clean end never comes
    assert parse_fault("close-after=1").stop_at(1, False, ("drop", "stall", "error")) is None


class RecordingPacer(Pacer):
    """A pacer that lets everything through at once and says which item it was asked about."""

    def __init__(self) -> None:
        super().__init__(0, 0)
        self.asked: list[int] = []

    async def before(self, index: int) -> None:
        self.asked.append(index)


def steps_of(plan, spec: str, **kwargs) -> tuple[list, list[int]]:
    pacer = RecordingPacer()

    async def collect():
        return [step async for step in reply_steps(plan, parse_fault(spec), pacer, **kwargs)]

    return asyncio.run(collect()), pacer.asked


def test_steps_are_paced_by_index_and_faults_end_them():
    plan = plan_reply("Hi", "demo-reasoner", reply_tokens=3)
    steps, asked = steps_of(plan, "")
    kinds = [kind for kind, _ in steps]
    assert kinds == ["start"] + ["reasoning"] * len(plan.reasoning) + ["content"] * 3 + ["end"]
    assert asked == [0] + list(range(1, len(plan.reasoning) + 3))  # every item on its own deadline, none twice
    steps, _ = steps_of(plan, "error-after=2")
    assert steps[-1] == ("error", "injected error after 2 tokens") and len(steps) == 4
    steps, _ = steps_of(plan, "close-after=1;code=4000", can_close=True)
    assert steps[-1] == ("close", "4000")
    steps, _ = steps_of(plan, "close-after=1")  # a transport that cannot close ignores the knob
    assert steps[-1] == ("end", "")


class FakeSocketIO:
    def __init__(self, pacer: RecordingPacer) -> None:
        self.pacer = pacer
        self.emitted: list[tuple[int, dict]] = []  # (deadlines asked for so far, event)

    async def emit(self, name, payload, room=None):
        self.emitted.append((len(self.pacer.asked), payload["data"]))


def test_open_webui_socket_reply_is_paced_on_deadlines_like_every_transport():
    plan = plan_reply("Hi", "deepseek/deepseek-chat", reply_tokens=4)
    pacer = RecordingPacer()
    sio = FakeSocketIO(pacer)
    reply = SocketReply(sio, "chat-1", "message-1", "sid", "deepseek/deepseek-chat")
    asyncio.run(reply.run(plan, Fault(), pacer, []))
    deltas = [
        (asked, data["data"]["delta"]) for asked, data in sio.emitted if data["type"] == "response:completion" and "delta" in data["data"]
    ]
    assert [text for _, text in deltas] == plan.content
    assert [asked for asked, _ in deltas] == [1, 2, 3, 4]  # each delta sent once its own deadline (index 0, 1, ...) was reached
    assert pacer.asked == [0, 1, 2, 3]
    assert [data["type"] for _, data in sio.emitted][-2:] == ["chat:completion", "chat:active"]
