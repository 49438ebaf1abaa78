"""The reference server's WebSocket endpoints: chat (any number of turns on one connection) and the
hybrid control channel (typing, messages, history sync).

WebSocket faults are asked at the handshake (``X-Streamchat-Fault`` header or ``?fault=``) and apply
to every turn of the connection, or only to turn K with ``on-turn=K``: ``drop-after=N`` (the
connection is cut without a close frame: the client sees 1006), ``close-after=N;code=C``,
``error-after=N``, ``stall-after=N``, ``oversize[=BYTES]`` (one message that large), ``garbage`` (a
message that is not JSON first), ``escape`` (terminal escape sequences in the content), ``status=C``
(refuse the handshake with HTTP C).
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.websockets import WebSocket

from .admission import Admission
from .config import ServerConfig
from .faults import Fault
from .pacing import Pacer
from .replies import Ask, count_tokens, plan_for
from .steps import reply_steps
from .streaming import ESCAPES
from .wspeer import Peer, serve_peer

DEFAULT_MODEL = "deepseek/deepseek-chat"


def _frame(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _bad(message: str) -> str:
    return _frame({"type": "error", "message": message, "code": "bad_request"})


class WebSocketEndpoints:
    def __init__(self, config: ServerConfig, admission: Admission) -> None:
        self.config = config
        self.admission = admission
        self.accepted = 0  # connections accepted by the chat endpoint (tests count them)
        self.requests: list[tuple[int, dict[str, Any]]] = []  # (connection number, chat request)
        self.close_codes: list[int] = []  # close codes the clients sent
        self.users: dict[str, dict[str, list[Any]]] = {}

    async def chat(self, websocket: WebSocket) -> None:
        fault = await self.admission.websocket(websocket)
        if fault is None:
            return
        self.accepted += 1
        connection = self.accepted
        await serve_peer(websocket, lambda peer: self._turns(peer, fault, connection), self.close_codes.append)

    async def _turns(self, peer: Peer, fault: Fault, connection: int) -> None:
        turn = 0
        while (text := await peer.receive_text()) is not None:
            try:
                request = json.loads(text)
            except ValueError:
                await peer.send_text(_bad("request is not JSON"))
                continue
            if not isinstance(request, dict) or request.get("type") != "chat" or not isinstance(request.get("message"), str):
                await peer.send_text(_bad('expected {"type": "chat", "message": ...}'))
                continue
            turn += 1
            self.requests.append((connection, request))
            active = fault if fault.on_turn in (None, turn) else Fault()
            if not await peer.until_gone(self._reply(peer, request, active)):
                return

    async def _reply(self, peer: Peer, request: dict[str, Any], fault: Fault) -> bool:
        """Stream one turn; False when a fault ended the connection."""
        history = request.get("history") if isinstance(request.get("history"), list) else []
        prompt = count_tokens(request["message"]) + sum(count_tokens(str(m.get("content", ""))) for m in history if isinstance(m, dict))
        ask = Ask(request["message"], str(request.get("model_id") or DEFAULT_MODEL), request.get("max_tokens"), prompt)
        plan = plan_for(self.config, ask)
        pacer = Pacer(self.config.ttft_ms, self.config.itl_ms)  # the turn's clock starts when its request arrived
        began = time.perf_counter()
        async for kind, text in reply_steps(plan, fault, pacer, can_close=True):
            if kind in ("content", "reasoning"):
                await peer.send_text(_frame({"type": kind, "text": text}))
            elif kind == "start":
                if fault.garbage:
                    await peer.send_text("\x00 not json {{{")
                if fault.escape:
                    await peer.send_text(_frame({"type": "content", "text": ESCAPES}))
                if fault.oversize:
                    await peer.send_text(_frame({"type": "content", "text": "x" * fault.oversize}))
                began = time.perf_counter()
            elif kind == "error":
                await peer.send_text(_frame({"type": "error", "message": text, "code": "injected"}))
                return True  # an error ends the turn, not the connection
            elif kind == "close":
                await peer.close(int(text))
                return False
            elif kind == "end":
                elapsed = time.perf_counter() - began
                if elapsed > 0 and plan.output_tokens:
                    await peer.send_text(_frame({"type": "tps", "tps": round(plan.output_tokens / elapsed, 1)}))
                inp, out = plan.input_tokens, plan.output_tokens
                await peer.send_text(_frame({"type": "usage", "input_tokens": inp, "output_tokens": out, "total_tokens": inp + out}))
                await peer.send_text(_frame({"type": "done", "finish_reason": plan.finish_reason}))
        return True

    # -- the hybrid control channel -------------------------------------------------------------

    async def control(self, websocket: WebSocket) -> None:
        if await self.admission.websocket(websocket) is None:
            return
        record = self.users.setdefault(websocket.path_params["user_id"], {"typing": [], "messages": []})
        await serve_peer(websocket, lambda peer: self._control(peer, record))

    @staticmethod
    async def _control(peer: Peer, record: dict[str, list[Any]]) -> None:
        while (text := await peer.receive_text()) is not None:
            try:
                event = json.loads(text)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            kind = event.get("type")
            if kind == "typing":
                record["typing"].append(bool(event.get("typing")))
            elif kind == "message" and event.get("role") in ("user", "assistant") and isinstance(event.get("content"), str):
                record["messages"].append({"role": event["role"], "content": event["content"]})
                await peer.send_text(_frame({"type": "ack", "count": len(record["messages"])}))
            elif kind in ("sync", "history"):
                await peer.send_text(_frame({"type": "history", "messages": record["messages"]}))
